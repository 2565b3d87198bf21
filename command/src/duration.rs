//! Durations as users type them (`30m`, `2h`, `1h30m`, `1.5h`, `1d`, and the Japanese `2時間30分`)
//! and as replies show them.
//!
//! Hand-written rather than humantime: we want decimals (`1.5h`), whole minutes only, and a cap
//! that keeps `start + duration` far from chrono's overflow panics.

use chrono::Duration;

use crate::Lang;

/// The longest duration accepted, in minutes (365 days).
pub(crate) const MAX_MINUTES: i64 = 365 * 24 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DurationProblem {
    Malformed,
    /// Well formed, but no time at all (`0m`, `0h0m`).
    Zero,
    TooLong,
}

/// Parses `2h`, `1h30m`, `1h 30m`, `1.5h`, `90m`, `1d`, `2 days`, and the same in Japanese units
/// (`2時間`, `30分`, `2時間30分`, `1日`). Units may be spelled out, must run from days down to
/// minutes, and the total must be a positive whole number of minutes.
pub(crate) fn parse_duration(input: &str) -> Result<Duration, DurationProblem> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let mut rest = compact.as_str();
    if rest.is_empty() {
        return Err(DurationProblem::Malformed);
    }
    // Scaled by 10^6 so that decimals like `1.5h` or `0.25d` add up exactly.
    const SCALE: u128 = 1_000_000;
    let mut total: u128 = 0;
    let mut previous_unit = u128::MAX;
    while !rest.is_empty() {
        let (amount, after_number) = take_number(rest, SCALE).ok_or(DurationProblem::Malformed)?;
        // A unit is everything up to the next number: letters, or Japanese characters.
        let unit_len = after_number
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after_number.len());
        let unit = unit_minutes(&after_number[..unit_len]).ok_or(DurationProblem::Malformed)?;
        if unit >= previous_unit {
            return Err(DurationProblem::Malformed);
        }
        previous_unit = unit;
        total = amount
            .checked_mul(unit)
            .and_then(|minutes| total.checked_add(minutes))
            .ok_or(DurationProblem::TooLong)?;
        rest = &after_number[unit_len..];
    }
    if total == 0 {
        return Err(DurationProblem::Zero);
    }
    if !total.is_multiple_of(SCALE) {
        return Err(DurationProblem::Malformed);
    }
    let minutes = total / SCALE;
    if minutes > MAX_MINUTES as u128 {
        return Err(DurationProblem::TooLong);
    }
    Ok(Duration::minutes(minutes as i64))
}

/// A decimal number at the start of `text`, times `scale`, and what follows it.
fn take_number(text: &str, scale: u128) -> Option<(u128, &str)> {
    let int_len = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    // More digits than this cannot be a sensible duration and would overflow the arithmetic.
    if int_len == 0 || int_len > 12 {
        return None;
    }
    let mut value: u128 = text[..int_len].parse::<u128>().ok()? * scale;
    let mut rest = &text[int_len..];
    if let Some(after_point) = rest.strip_prefix('.') {
        let frac_len = after_point
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after_point.len());
        if frac_len == 0 || frac_len > 6 {
            return None;
        }
        let digits: u128 = after_point[..frac_len].parse().ok()?;
        value += digits * scale / 10u128.pow(frac_len as u32);
        rest = &after_point[frac_len..];
    }
    Some((value, rest))
}

fn unit_minutes(unit: &str) -> Option<u128> {
    match unit {
        "d" | "day" | "days" | "日" => Some(24 * 60),
        "h" | "hr" | "hrs" | "hour" | "hours" | "時間" => Some(60),
        "m" | "min" | "mins" | "minute" | "minutes" | "分" => Some(1),
        _ => None,
    }
}

/// Whether a word could be one part of a duration written with spaces (`1h 30m`, `2 hours`).
pub(crate) fn is_duration_part(word: &str) -> bool {
    let word = word.to_lowercase();
    (word.starts_with(|c: char| c.is_ascii_digit()) && parse_duration(&word).is_ok())
        || unit_minutes(&word).is_some()
}

/// Formats a duration for replies: `45m`, `1h 30m`, `2d 3h`. Seconds are dropped; the result
/// parses back to the same duration when it is a positive whole number of minutes.
pub fn format_duration(d: Duration) -> String {
    let minutes = d.num_minutes();
    let sign = if minutes < 0 { "-" } else { "" };
    let minutes = minutes.unsigned_abs();
    let parts: Vec<String> = [
        (minutes / 1440, "d"),
        (minutes / 60 % 24, "h"),
        (minutes % 60, "m"),
    ]
    .into_iter()
    .filter(|(amount, _)| *amount > 0)
    .map(|(amount, unit)| format!("{amount}{unit}"))
    .collect();
    if parts.is_empty() {
        return "0m".to_owned();
    }
    format!("{sign}{}", parts.join(" "))
}

/// Formats a duration for a reply in `lang`: English as [`format_duration`]; Japanese with no
/// spaces, as written in a sentence (`45分`, `2時間30分`, `1日3時間`). Both parse back.
pub fn format_duration_in(d: Duration, lang: Lang) -> String {
    match lang {
        Lang::En => format_duration(d),
        Lang::Ja => format_duration_ja(d),
    }
}

fn format_duration_ja(d: Duration) -> String {
    let minutes = d.num_minutes();
    let sign = if minutes < 0 { "-" } else { "" };
    let minutes = minutes.unsigned_abs();
    let parts: String = [
        (minutes / 1440, "日"),
        (minutes / 60 % 24, "時間"),
        (minutes % 60, "分"),
    ]
    .into_iter()
    .filter(|(amount, _)| *amount > 0)
    .map(|(amount, unit)| format!("{amount}{unit}"))
    .collect();
    if parts.is_empty() {
        return "0分".to_owned();
    }
    format!("{sign}{parts}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(input: &str) -> Result<i64, DurationProblem> {
        parse_duration(input).map(|d| d.num_minutes())
    }

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(minutes("30m"), Ok(30));
        assert_eq!(minutes("2h"), Ok(120));
        assert_eq!(minutes("1h30m"), Ok(90));
        assert_eq!(minutes("1h 30m"), Ok(90));
        assert_eq!(minutes("90m"), Ok(90));
        assert_eq!(minutes("1.5h"), Ok(90));
        assert_eq!(minutes("1d"), Ok(1440));
        assert_eq!(minutes("2 days 3 hours"), Ok(3060));
        assert_eq!(minutes("1H30M"), Ok(90));
        assert_eq!(minutes("0.25d"), Ok(360));
    }

    #[test]
    fn accepts_japanese_units() {
        assert_eq!(minutes("2時間"), Ok(120));
        assert_eq!(minutes("30分"), Ok(30));
        assert_eq!(minutes("2時間30分"), Ok(150));
        assert_eq!(minutes("2時間 30分"), Ok(150));
        assert_eq!(minutes("1.5時間"), Ok(90));
        assert_eq!(minutes("1日"), Ok(1440));
        assert_eq!(minutes("1日2時間"), Ok(1560));
        assert!(is_duration_part("30分"));
        assert!(is_duration_part("時間"));
    }

    #[test]
    fn rejects_japanese_garbage() {
        // `時` alone is an hour of the clock (`9時`), not a duration; units still run downwards.
        for input in ["2時", "時間", "30分2時間", "2時間時間", "2じかん", "2時間x"] {
            assert_eq!(minutes(input), Err(DurationProblem::Malformed), "{input:?}");
        }
    }

    #[test]
    fn rejects_zero_negative_and_garbage() {
        for input in [
            "", "-2h", "2", "h", "2x", "1.h", "1..5h", "30m1h", "1h1h", "1.01h", "2h-", "½h",
        ] {
            assert_eq!(minutes(input), Err(DurationProblem::Malformed), "{input:?}");
        }
        for input in ["0m", "0h0m", "0d", "0時間"] {
            assert_eq!(minutes(input), Err(DurationProblem::Zero), "{input:?}");
        }
    }

    #[test]
    fn caps_at_a_year() {
        assert_eq!(minutes("365d"), Ok(MAX_MINUTES));
        assert_eq!(minutes("365d1m"), Err(DurationProblem::TooLong));
        assert_eq!(
            minutes("999999999999d"),
            Err(DurationProblem::TooLong),
            "no overflow panic"
        );
        assert_eq!(minutes("9999999999999d"), Err(DurationProblem::Malformed));
    }

    #[test]
    fn formats_largest_units_first() {
        assert_eq!(format_duration(Duration::minutes(45)), "45m");
        assert_eq!(format_duration(Duration::minutes(90)), "1h 30m");
        assert_eq!(format_duration(Duration::hours(51)), "2d 3h");
        assert_eq!(format_duration(Duration::minutes(1441)), "1d 1m");
        assert_eq!(format_duration(Duration::seconds(59)), "0m");
        assert_eq!(format_duration(Duration::minutes(-90)), "-1h 30m");
    }

    #[test]
    fn formats_japanese_without_spaces() {
        let ja = |minutes| format_duration_in(Duration::minutes(minutes), Lang::Ja);
        assert_eq!(ja(45), "45分");
        assert_eq!(ja(150), "2時間30分");
        assert_eq!(ja(120), "2時間");
        assert_eq!(ja(51 * 60), "2日3時間");
        assert_eq!(ja(1441), "1日1分");
        assert_eq!(ja(0), "0分");
        assert_eq!(ja(-90), "-1時間30分");
        assert_eq!(
            format_duration_in(Duration::minutes(90), Lang::En),
            "1h 30m"
        );
    }
}
