//! Validation of the `Date` header.
//!
//! `mail-parser` accepts out-of-range fields such as hour 27, so every field
//! is checked again here. A date that does not name a real instant is treated
//! as missing, and callers fall back to the arrival time.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use mail_parser::HeaderValue;

/// Returns the first `Date` header as a UTC instant, or `None` when it is missing or
/// names no valid date and time.
pub(crate) fn header_date(message: &mail_parser::Message<'_>) -> Option<DateTime<Utc>> {
    let header = message
        .root_part()
        .headers
        .iter()
        .find(|header| header.name().eq_ignore_ascii_case("Date"))?;
    let HeaderValue::DateTime(date) = header.value() else {
        return None;
    };

    let naive = NaiveDate::from_ymd_opt(i32::from(date.year), u32::from(date.month), u32::from(date.day))?
        .and_hms_opt(u32::from(date.hour), u32::from(date.minute), u32::from(date.second))?;

    let offset_seconds = (i32::from(date.tz_hour) * 60 + i32::from(date.tz_minute)) * 60;
    let offset = if date.tz_before_gmt {
        FixedOffset::west_opt(offset_seconds)?
    } else {
        FixedOffset::east_opt(offset_seconds)?
    };

    let local = offset.from_local_datetime(&naive).single()?;
    Some(local.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date_of(header: &str) -> Option<DateTime<Utc>> {
        let raw = format!("Date: {header}\r\nSubject: x\r\n\r\nbody\r\n");
        let message = mail_parser::MessageParser::default().parse(raw.as_bytes()).unwrap();
        header_date(&message)
    }

    #[test]
    fn date_valid_converted_to_utc() {
        let date = date_of("Tue, 29 Sep 2026 01:30:00 +0200").unwrap();
        assert_eq!(date.to_rfc3339(), "2026-09-28T23:30:00+00:00");
    }

    #[test]
    fn date_west_of_utc_crosses_day() {
        let date = date_of("Mon, 28 Sep 2026 22:00:00 -0500").unwrap();
        assert_eq!(date.format("%Y-%m-%d").to_string(), "2026-09-29");
    }

    #[test]
    fn date_hour_27_is_invalid() {
        assert_eq!(date_of("Mon, 28 Sep 2026 27:00:00 +0000"), None);
    }

    #[test]
    fn date_february_30_is_invalid() {
        assert_eq!(date_of("Mon, 30 Feb 2026 10:00:00 +0000"), None);
    }

    #[test]
    fn date_garbage_is_missing() {
        assert_eq!(date_of("yesterday after lunch"), None);
    }
}
