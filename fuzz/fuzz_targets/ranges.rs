//! `wharf::fuzzing::ranges`: see its documentation for the properties checked. A crash found
//! here becomes a test in `src/fuzzing/mod.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wharf::fuzzing::ranges(data));
