//! Arbitrary text into the SCIM filter and PATCH path parsers: they must never panic (nor
//! overflow the stack), and whatever parses must print (`Display`) as text that parses back to
//! the same tree. A crash found here becomes a unit test in `src/domain/scim/filter_tests.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf::domain::scim::filter::{parse_filter, parse_path, MAX_FILTER_LEN};

fuzz_target!(|data: &[u8]| {
    // The longest valid UTF-8 prefix, so that no input is wasted.
    let text = match std::str::from_utf8(data) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&data[..e.valid_up_to()]).unwrap_or_default(),
    };

    if let Ok(filter) = parse_filter(text) {
        let printed = filter.to_string();
        // Printed numbers can be longer than written ones (`1e15`); past the limit the
        // reparse is refused for length, which is not a round-trip failure.
        if printed.len() <= MAX_FILTER_LEN {
            assert_eq!(parse_filter(&printed), Ok(filter), "filter {text:?} printed as {printed:?}");
        }
    }

    if let Ok(path) = parse_path(text) {
        let printed = path.to_string();
        if printed.len() <= MAX_FILTER_LEN {
            assert_eq!(parse_path(&printed), Ok(path), "path {text:?} printed as {printed:?}");
        }
    }
});
