//! Days and times of day as users type them, and their resolution to UTC in the user's zone.
//!
//! Only the word-level pieces live here; which words make a time is the parser's business.

use chrono::{DateTime, Datelike, Days, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono::{TimeZone, Weekday};
use chrono_tz::Tz;

/// A day named relative to the user's today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Day {
    Today,
    Tomorrow,
    /// The next such weekday after today (1 to 7 days ahead): `today` already names today.
    Next(Weekday),
    Date(NaiveDate),
}

impl Day {
    pub fn resolve(self, today: NaiveDate) -> NaiveDate {
        match self {
            Day::Today => today,
            Day::Tomorrow => today + Days::new(1),
            Day::Next(weekday) => {
                let ahead = (7 + weekday.num_days_from_monday()
                    - today.weekday().num_days_from_monday())
                    % 7;
                today + Days::new(if ahead == 0 { 7 } else { u64::from(ahead) })
            }
            Day::Date(date) => date,
        }
    }
}

/// `Ok(None)` when the word is not a day at all; `Err(reason)` when it looks like a date but is
/// not one (`2026-02-30`).
pub(crate) fn parse_day(word: &str) -> Result<Option<Day>, String> {
    let word = word.to_lowercase();
    let day = match word.as_str() {
        "today" | "今日" | "本日" => Day::Today,
        "tomorrow" | "tmrw" | "明日" => Day::Tomorrow,
        "mon" | "monday" => Day::Next(Weekday::Mon),
        "tue" | "tues" | "tuesday" => Day::Next(Weekday::Tue),
        "wed" | "weds" | "wednesday" => Day::Next(Weekday::Wed),
        "thu" | "thur" | "thurs" | "thursday" => Day::Next(Weekday::Thu),
        "fri" | "friday" => Day::Next(Weekday::Fri),
        "sat" | "saturday" => Day::Next(Weekday::Sat),
        "sun" | "sunday" => Day::Next(Weekday::Sun),
        _ => match japanese_weekday(&word) {
            Some(weekday) => Day::Next(weekday),
            None => return parse_date(&word).map(|date| date.map(Day::Date)),
        },
    };
    Ok(Some(day))
}

/// `月曜`/`月曜日` … `日曜`/`日曜日`, as written in a sentence; a lone `金` is too short to be
/// sure of.
fn japanese_weekday(word: &str) -> Option<Weekday> {
    let kanji = word
        .strip_suffix("曜日")
        .or_else(|| word.strip_suffix("曜"))?;
    let weekday = match kanji {
        "月" => Weekday::Mon,
        "火" => Weekday::Tue,
        "水" => Weekday::Wed,
        "木" => Weekday::Thu,
        "金" => Weekday::Fri,
        "土" => Weekday::Sat,
        "日" => Weekday::Sun,
        _ => return None,
    };
    Some(weekday)
}

/// `YYYY-MM-DD`; `Ok(None)` when the word does not have that shape.
fn parse_date(word: &str) -> Result<Option<NaiveDate>, String> {
    let parts: Vec<&str> = word.split('-').collect();
    let shaped = parts.len() == 3
        && parts[0].len() == 4
        && (1..=2).contains(&parts[1].len())
        && (1..=2).contains(&parts[2].len())
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if !shaped {
        return Ok(None);
    }
    let number = |p: &str| p.parse::<u32>().unwrap_or(0);
    let year = number(parts[0]) as i32;
    NaiveDate::from_ymd_opt(year, number(parts[1]), number(parts[2]))
        .map(Some)
        .ok_or_else(|| "there is no such date".to_owned())
}

/// `2026-12-01T09:00` as one word; `None` when the word does not have that shape.
pub(crate) fn parse_date_time(word: &str) -> Option<Result<NaiveDateTime, String>> {
    let word = word.to_lowercase();
    let (date, time) = word.split_once('t')?;
    let date = match parse_date(date) {
        Ok(Some(date)) => date,
        Ok(None) => return None,
        Err(reason) => return Some(Err(reason)),
    };
    Some(parse_clock(time).map(|time| date.and_time(time)))
}

/// Whether a word is meant as a time of day or a range rather than a duration.
pub(crate) fn looks_like_time(word: &str) -> bool {
    let word = word.to_lowercase();
    word.starts_with(|c: char| c.is_ascii_digit())
        && (word.contains([':', '-']) || word.ends_with("am") || word.ends_with("pm"))
}

/// `14:00`, `9:05`, `9am`, `2:30pm`. The reason on error completes "… is not a time I
/// understand: <reason>".
pub(crate) fn parse_clock(word: &str) -> Result<NaiveTime, String> {
    let word = word.to_lowercase();
    let (body, pm) = if let Some(body) = word.strip_suffix("am") {
        (body, Some(false))
    } else if let Some(body) = word.strip_suffix("pm") {
        (body, Some(true))
    } else {
        (word.as_str(), None)
    };
    let not_a_time = || "write a time of day like 14:00 or 2pm".to_owned();
    let (hour, minute) = match body.split_once(':') {
        Some((hour, minute)) => (hour, Some(minute)),
        None if pm.is_some() => (body, None),
        None => return Err(not_a_time()),
    };
    let digits = |s: &str, max_len: usize| {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let hour = digits(hour, 2).ok_or_else(not_a_time)?;
    let minute = match minute {
        Some(minute) if minute.len() != 2 => return Err(not_a_time()),
        Some(minute) => digits(minute, 2).ok_or_else(not_a_time)?,
        None => 0,
    };
    if minute > 59 {
        return Err("minutes go from 00 to 59".to_owned());
    }
    let hour = match pm {
        Some(_) if !(1..=12).contains(&hour) => {
            return Err("with am or pm, hours go from 1 to 12".to_owned());
        }
        Some(pm) => hour % 12 + if pm { 12 } else { 0 },
        None if hour > 23 => return Err("hours go from 0 to 23".to_owned()),
        None => hour,
    };
    NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(not_a_time)
}

/// The instant a local wall-clock time names in `tz`. In the autumn fold the earlier of the two
/// instants is taken; a time inside the spring gap does not exist and is returned as the error.
pub(crate) fn local_to_utc(local: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, NaiveDateTime> {
    match tz.from_local_datetime(&local) {
        MappedLocalTime::Single(t) | MappedLocalTime::Ambiguous(t, _) => Ok(t.with_timezone(&Utc)),
        MappedLocalTime::None => Err(local),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn clocks() {
        assert_eq!(parse_clock("14:00"), Ok(hm(14, 0)));
        assert_eq!(parse_clock("9:05"), Ok(hm(9, 5)));
        assert_eq!(parse_clock("09:05"), Ok(hm(9, 5)));
        assert_eq!(parse_clock("0:00"), Ok(hm(0, 0)));
        assert_eq!(parse_clock("9am"), Ok(hm(9, 0)));
        assert_eq!(parse_clock("2:30PM"), Ok(hm(14, 30)));
        assert_eq!(parse_clock("12am"), Ok(hm(0, 0)));
        assert_eq!(parse_clock("12pm"), Ok(hm(12, 0)));
    }

    #[test]
    fn bad_clocks_say_why() {
        assert_eq!(parse_clock("24:00").unwrap_err(), "hours go from 0 to 23");
        assert_eq!(parse_clock("9:60").unwrap_err(), "minutes go from 00 to 59");
        assert_eq!(
            parse_clock("13pm").unwrap_err(),
            "with am or pm, hours go from 1 to 12"
        );
        for word in ["14", "9:5", "9:000", "x:00", ":30", "123:00", "pm", "9:3o"] {
            assert_eq!(
                parse_clock(word).unwrap_err(),
                "write a time of day like 14:00 or 2pm",
                "{word}"
            );
        }
    }

    #[test]
    fn weekdays_are_strictly_ahead() {
        // 2026-11-30 is a Monday.
        let monday = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        assert_eq!(Day::Next(Weekday::Mon).resolve(monday), day(7));
        assert_eq!(Day::Next(Weekday::Tue).resolve(monday), day(1));
        assert_eq!(Day::Next(Weekday::Sun).resolve(monday), day(6));
        assert_eq!(Day::Tomorrow.resolve(monday), day(1));
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_day("2026-12-01"),
            Ok(Some(Day::Date(
                NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
            )))
        );
        assert_eq!(
            parse_day("2026-02-30"),
            Err("there is no such date".to_owned())
        );
        assert_eq!(parse_day("9:00-18:00"), Ok(None));
        assert_eq!(parse_day("Friday"), Ok(Some(Day::Next(Weekday::Fri))));
    }

    #[test]
    fn japanese_days() {
        assert_eq!(parse_day("今日"), Ok(Some(Day::Today)));
        assert_eq!(parse_day("本日"), Ok(Some(Day::Today)));
        assert_eq!(parse_day("明日"), Ok(Some(Day::Tomorrow)));
        assert_eq!(parse_day("金曜"), Ok(Some(Day::Next(Weekday::Fri))));
        assert_eq!(parse_day("日曜日"), Ok(Some(Day::Next(Weekday::Sun))));
        assert_eq!(parse_day("金"), Ok(None));
        assert_eq!(parse_day("曜日"), Ok(None));
    }
}
