//! Fuzzes `CitizenId::parse` and `CitizenId::upgrade_legacy`: they must never
//! panic, and whatever they accept must re-parse from its Display form to an
//! equal value.
#![no_main]

use huimin_domain::identifiers::CitizenId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(value) = CitizenId::parse(text) {
        let reparsed = CitizenId::parse(&value.to_string())
            .expect("the Display form of a parsed value parses again");
        assert_eq!(reparsed, value);
    }
    if let Ok(upgraded) = CitizenId::upgrade_legacy(text) {
        let reparsed = CitizenId::parse(upgraded.as_str())
            .expect("an upgraded 15-digit number is a valid 18-character number");
        assert_eq!(reparsed, upgraded);
    }
});
