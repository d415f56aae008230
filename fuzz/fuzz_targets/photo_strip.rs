//! Fuzzes `strip_metadata`, which takes photos straight from phones: it must never panic
//! or read past its input; what it keeps is never longer than what it was given, is of
//! the kind it says, and strips to itself again (stripping is idempotent).
#![no_main]

use huimin_domain::case::photo::{ImageKind, strip_metadata};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((kind, kept)) = strip_metadata(data) {
        assert!(kept.len() <= data.len());
        assert_eq!(ImageKind::sniff(&kept), Some(kind));
        let (again_kind, again) = strip_metadata(&kept).expect("a stripped photo strips again");
        assert_eq!((again_kind, again), (kind, kept));
    }
});
