//! Fuzzes `CreditCode::parse`: it must never panic, and whatever it accepts must
//! re-parse from its Display form to an equal value.
#![no_main]

use huimin_domain::identifiers::CreditCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(value) = CreditCode::parse(text) {
        let reparsed = CreditCode::parse(&value.to_string())
            .expect("the Display form of a parsed value parses again");
        assert_eq!(reparsed, value);
    }
});
