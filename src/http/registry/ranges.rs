//! The two byte-range headers of the registry, parsed without any I/O (and fuzzed:
//! `fuzz/fuzz_targets/ranges.rs`).

use std::ops::Range;

/// The start offset of a chunk's `Content-Range: START-END` (`bytes ` or `bytes=` may come
/// first, as clients send both); `None` when it is malformed or ends before it starts.
pub fn chunk_start(text: &str) -> Option<u64> {
    let text = text
        .trim()
        .trim_start_matches("bytes ")
        .trim_start_matches("bytes=");
    let (start, end) = text.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    (end >= start).then_some(start)
}

/// A `Range` request cannot be satisfied (416).
#[derive(Debug, PartialEq, Eq)]
pub struct Unsatisfiable;

/// A `Range: bytes=START-END` request header (END optional; or `bytes=-N`, the last N
/// bytes, as RFC 9110 allows) against a blob of `size` bytes: the bytes to send, or `None`
/// for the whole blob (a unit other than bytes, or several ranges, which RFC 9110 lets a
/// server answer with everything). A returned range is never empty and never past `size`.
pub fn byte_range(text: &str, size: u64) -> Result<Option<Range<u64>>, Unsatisfiable> {
    // A range in a unit other than bytes is ignored, as RFC 9110 §14.2 says: the whole blob.
    let Some(spec) = text.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    // Several ranges would need a multipart answer; serving the whole blob is allowed.
    if spec.contains(',') {
        return Ok(None);
    }
    let (start, end) = spec.split_once('-').ok_or(Unsatisfiable)?;
    let last = size.saturating_sub(1);
    let number = |text: &str| text.parse::<u64>().map_err(|_| Unsatisfiable);
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let suffix = number(suffix)?;
            if suffix == 0 {
                return Err(Unsatisfiable);
            }
            (size.saturating_sub(suffix), last)
        }
        (start, "") => (number(start)?, last),
        (start, end) => (number(start)?, number(end)?.min(last)),
    };
    if start > end || start >= size {
        return Err(Unsatisfiable);
    }
    Ok(Some(start..end + 1))
}
