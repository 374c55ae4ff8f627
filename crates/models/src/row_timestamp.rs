//! How a model's `NaiveDateTime` fields are decoded from a row.
//!
//! diesel decodes a SQLite timestamp (stored as text) by trying chrono's `parse_from_str`
//! with each of its formats in turn; each try interprets the format string anew. On
//! `GET /api/orders/` (50 rows, one timestamp each) that was a quarter of the request's
//! instructions. [`RowTimestamp`] reads the form diesel writes (`YYYY-MM-DD HH:MM:SS` with
//! an optional fraction) directly, and leaves anything else to diesel. PostgreSQL's binary
//! timestamps are diesel's as they are.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

/// A timestamp as a model's row holds it, before it becomes the field's `NaiveDateTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::deserialize::FromSqlRow)]
pub struct RowTimestamp(pub NaiveDateTime);

impl FromSql<Timestamp, Sqlite> for RowTimestamp {
    fn from_sql(mut value: <Sqlite as diesel::backend::Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if let Some(parsed) = parse_written(value.read_text()) {
            return Ok(RowTimestamp(parsed));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(RowTimestamp)
    }
}

impl FromSql<Timestamp, Pg> for RowTimestamp {
    fn from_sql(value: <Pg as diesel::backend::Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(RowTimestamp)
    }
}

/// `YYYY-MM-DD HH:MM:SS` and an optional `.` with 1 to 9 digits (chrono's `%F %T%.f`, the
/// form diesel writes), or `None` for any other text (diesel's own parse takes it).
fn parse_written(text: &str) -> Option<NaiveDateTime> {
    let bytes = text.as_bytes();
    let (head, fraction) = bytes.split_at_checked(19)?;
    let number = |at: usize, len: usize| digits(&head[at..at + len]);
    let separators = [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, sep)| head[at] != sep) {
        return None;
    }
    let nanos = match fraction {
        [] => 0,
        [b'.', fraction_digits @ ..] if (1..=9).contains(&fraction_digits.len()) => {
            digits(fraction_digits)? * 10u32.pow(9 - fraction_digits.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(number(0, 4)? as i32, number(5, 2)?, number(8, 2)?)?;
    // At most 999,999,999 ns: never a leap second, which diesel's parse is left to read.
    let time = NaiveTime::from_hms_nano_opt(number(11, 2)?, number(14, 2)?, number(17, 2)?, nanos)?;
    Some(date.and_time(time))
}

/// The number ASCII digits spell (at most 9 of them), or `None` if one is not a digit.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes
        .iter()
        .try_fold(0u32, |n, &b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;

    use super::parse_written;

    #[test]
    fn what_diesel_writes_is_read_as_chrono_reads_it() {
        for text in [
            "2026-11-30 18:55:43.563349",
            "2026-11-30 18:55:43",
            "2026-11-30 18:55:43.5",
            "2026-11-30 18:55:43.123456789",
            "0001-01-01 00:00:00",
            "2024-02-29 23:59:59.999999",
        ] {
            let chrono = NaiveDateTime::parse_from_str(text, "%F %T%.f").unwrap();
            assert_eq!(parse_written(text), Some(chrono), "{text}");
        }
    }

    #[test]
    fn sqlite_values_are_read_through_the_fast_path_or_diesel() {
        use diesel::dsl::sql;
        use diesel::sql_types::{Nullable, Timestamp};
        use diesel::{Connection, RunQueryDsl, SqliteConnection};

        use super::RowTimestamp;

        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let mut read = |expression: &str| -> Option<NaiveDateTime> {
            diesel::select(sql::<Nullable<Timestamp>>(expression))
                .get_result::<Option<RowTimestamp>>(&mut conn)
                .unwrap()
                .map(|t| t.0)
        };
        let at = |text: &str| NaiveDateTime::parse_from_str(text, "%F %T%.f").unwrap();
        // The form diesel writes, then others only diesel reads: ISO 8601 with a `T`, and
        // a Julian day number stored as REAL.
        assert_eq!(
            read("'2026-11-30 18:55:43.563349'"),
            Some(at("2026-11-30 18:55:43.563349"))
        );
        assert_eq!(read("'2026-11-30T18:55:43'"), Some(at("2026-11-30 18:55:43")));
        assert_eq!(read("2440587.5"), Some(at("1970-01-01 00:00:00")));
        assert_eq!(read("NULL"), None);
        // Neither: an error for the query, not a panic.
        let garbage =
            diesel::select(sql::<Nullable<Timestamp>>("'not a time'")).get_result::<Option<RowTimestamp>>(&mut conn);
        assert!(garbage.is_err(), "{garbage:?}");
    }

    #[test]
    fn other_text_is_left_to_diesel() {
        for text in [
            "2026-11-30T18:55:43",
            "2026-11-30 18:55",
            "2026-11-30 18:55:43Z",
            "2026-11-30 18:55:43.",
            "2026-11-30 18:55:43.1234567890",
            "2026-11-30 18:55:43+01:00",
            "2026-02-30 18:55:43",
            "2026-11-30 24:00:00",
            "2026-11-30 23:59:60",
            "2460000.5",
            "",
            "２026-11-30 18:55:43",
        ] {
            assert_eq!(parse_written(text), None, "{text}");
        }
    }
}
