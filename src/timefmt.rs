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

/// Formats store microseconds the way Go's `time.Time.String()` does, as Docker Hub's CSV
/// exports show dates: `2021-01-05 21:06:53.5064 +0000 UTC` (fraction without trailing
/// zeros, none at all on a whole second).
pub fn format_micros_go(micros: i64) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let Some(text) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
    else {
        return String::new();
    };
    let fraction = format!("{:06}", micros.rem_euclid(1_000_000));
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{text} +0000 UTC")
    } else {
        format!("{text}.{fraction} +0000 UTC")
    }
}

/// A compact UTC timestamp for file names: `20210105T210653Z`.
pub fn format_micros_compact(micros: i64) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
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

    #[test]
    fn go_and_compact_forms() {
        let micros = parse_rfc3339_micros("2021-01-05T21:06:53.506400Z").unwrap();
        assert_eq!(format_micros_go(micros), "2021-01-05 21:06:53.5064 +0000 UTC");
        let whole = parse_rfc3339_micros("2021-01-05T21:06:53Z").unwrap();
        assert_eq!(format_micros_go(whole), "2021-01-05 21:06:53 +0000 UTC");
        assert_eq!(format_micros_compact(whole), "20210105T210653Z");
    }
}
