//! Timestamps as the Hub API writes them: RFC 3339, UTC, microseconds
//! (`2021-07-20T12:00:00.000000Z`).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// Formats store microseconds.
pub fn format_micros(micros: i64) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Parses an RFC 3339 timestamp into store microseconds.
pub fn parse_rfc3339_micros(text: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let micros = parse_rfc3339_micros("2021-10-28T18:30:19.520861Z").unwrap();
        assert_eq!(format_micros(micros), "2021-10-28T18:30:19.520861Z");
        assert_eq!(format_micros(0), "1970-01-01T00:00:00.000000Z");
        assert!(parse_rfc3339_micros("2021-10-28").is_none());
        assert!(parse_rfc3339_micros("yesterday").is_none());
    }
}
