//! The fixed clock and zone every test parses against.

use chrono::{DateTime, TimeZone, Utc};
use maison_command::{Command, ParseContext, ParseError};

/// Monday 2026-11-30 10:00 UTC, 11:00 in Paris (CET, UTC+1).
pub fn ctx() -> ParseContext {
    ParseContext {
        now: utc("2026-11-30 10:00"),
        tz: chrono_tz::Europe::Paris,
    }
}

pub fn utc(text: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    Utc.from_utc_datetime(&naive)
}

pub fn parse(text: &str) -> Result<Command, ParseError> {
    maison_command::parse(text, &ctx())
}
