//! GPU memory sizes as users type them (`40G`, `80GB`, `24GiB`, `40.5G`, `24000M`), in bytes.
//!
//! `G`, `GB` (and `M`, `T`) are decimal, powers of 1000, on purpose: cards are sold by their
//! decimal size and report a little less than a binary reading of it. `--min-mem 80G` must
//! accept an "80 GB" card whose NVML total is 79.6 GiB: 80 × 10^9 bytes is 74.5 GiB, so it does,
//! where `80GiB` (85.9 × 10^9 bytes) would turn it away. `GiB` and friends are there for whoever
//! means the binary amount.

/// Why a size was refused, phrased by [`SizeProblem::reason`] to follow "it …".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SizeProblem {
    /// Empty, or no digit before the unit.
    NoNumber,
    /// A number alone: `40` could be 40 GB or 40 MB, so it is not guessed.
    NoUnit,
    /// The unit, as typed.
    UnknownUnit(String),
    Zero,
    Negative,
    /// Over `u64::MAX` bytes, or more digits than any real size.
    TooLarge,
    /// More than [`MAX_FRACTION_DIGITS`] digits after the point.
    TooManyDecimals,
}

/// Digits before the point: 10^13 MB is already 10 EB.
const MAX_INT_DIGITS: usize = 13;

/// Digits after the point: a picobyte of a TiB is about a byte.
const MAX_FRACTION_DIGITS: usize = 12;

impl SizeProblem {
    pub(crate) fn reason(&self) -> String {
        match self {
            SizeProblem::NoNumber => "does not start with a number".to_owned(),
            SizeProblem::NoUnit => "has no unit".to_owned(),
            SizeProblem::UnknownUnit(unit) => format!("has an unknown unit `{unit}`"),
            SizeProblem::Zero => "is zero".to_owned(),
            SizeProblem::Negative => "is negative".to_owned(),
            SizeProblem::TooLarge => "is too large".to_owned(),
            SizeProblem::TooManyDecimals => {
                format!("has more than {MAX_FRACTION_DIGITS} decimals")
            }
        }
    }
}

/// Whether `word` is a unit on its own, as in `40 GB`.
pub(crate) fn is_size_unit(word: &str) -> bool {
    unit_bytes(&word.to_lowercase()).is_some()
}

/// Parses a positive decimal number followed by a unit (spaces between them allowed); the unit
/// is case-insensitive. A fraction of a byte rounds up: this is a minimum.
pub(crate) fn parse_size(input: &str) -> Result<u64, SizeProblem> {
    let text: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if text
        .strip_prefix('-')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
    {
        return Err(SizeProblem::Negative);
    }
    let digits_end = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (int, rest) = text.split_at(digits_end(&text));
    let (frac, unit) = match rest.strip_prefix('.') {
        Some(after_point) => after_point.split_at(digits_end(after_point)),
        None => ("", rest),
    };
    if int.is_empty() && frac.is_empty() {
        return Err(SizeProblem::NoNumber);
    }
    // Far more digits than any real size; the limits keep the arithmetic below in `u128`.
    if int.len() > MAX_INT_DIGITS {
        return Err(SizeProblem::TooLarge);
    }
    if frac.len() > MAX_FRACTION_DIGITS {
        return Err(SizeProblem::TooManyDecimals);
    }
    if unit.is_empty() {
        return Err(SizeProblem::NoUnit);
    }
    let unit_bytes = unit_bytes(&unit.to_lowercase())
        .ok_or_else(|| SizeProblem::UnknownUnit(unit.to_owned()))?;
    // Exact: the number times 10^decimals, times the unit, divided back and rounded up.
    let number = |digits: &str| digits.parse::<u128>().unwrap_or(0);
    let scale = 10u128.pow(frac.len() as u32);
    let scaled = number(int)
        .checked_mul(scale)
        .and_then(|n| n.checked_add(number(frac)))
        .and_then(|n| n.checked_mul(unit_bytes))
        .ok_or(SizeProblem::TooLarge)?;
    if scaled == 0 {
        return Err(SizeProblem::Zero);
    }
    u64::try_from(scaled.div_ceil(scale)).map_err(|_| SizeProblem::TooLarge)
}

fn unit_bytes(unit: &str) -> Option<u128> {
    match unit {
        "m" | "mb" => Some(1_000_000),
        "g" | "gb" => Some(1_000_000_000),
        "t" | "tb" => Some(1_000_000_000_000),
        "mib" => Some(1 << 20),
        "gib" => Some(1 << 30),
        "tib" => Some(1 << 40),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_units_are_powers_of_1000() {
        assert_eq!(parse_size("40G"), Ok(40_000_000_000));
        assert_eq!(parse_size("40gb"), Ok(40_000_000_000));
        assert_eq!(parse_size("24000M"), Ok(24_000_000_000));
        assert_eq!(parse_size("24000MB"), Ok(24_000_000_000));
        assert_eq!(parse_size("1T"), Ok(1_000_000_000_000));
        assert_eq!(parse_size("1.5tB"), Ok(1_500_000_000_000));
        assert_eq!(parse_size("40.5G"), Ok(40_500_000_000));
    }

    #[test]
    fn binary_units_are_powers_of_1024() {
        assert_eq!(parse_size("80GiB"), Ok(80 << 30));
        assert_eq!(parse_size("80gib"), Ok(80 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2TiB"), Ok(2 << 40));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
    }

    #[test]
    fn eighty_gigabytes_fits_a_card_that_reports_79_6_gib() {
        let reported = (79.6 * (1u64 << 30) as f64) as u64;
        assert!(parse_size("80G").unwrap() <= reported);
        assert!(parse_size("80GiB").unwrap() > reported);
    }

    #[test]
    fn spaces_and_case_do_not_matter() {
        assert_eq!(parse_size("40 GB"), Ok(40_000_000_000));
        assert_eq!(parse_size(" 40 g "), Ok(40_000_000_000));
        assert_eq!(parse_size(".5G"), Ok(500_000_000));
    }

    #[test]
    fn a_fraction_of_a_byte_rounds_up() {
        assert_eq!(parse_size("0.0000001M"), Ok(1));
        assert_eq!(parse_size("1.000000001G"), Ok(1_000_000_001));
        assert_eq!(parse_size("0.000000000001M"), Ok(1));
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(parse_size("40"), Err(SizeProblem::NoUnit));
        assert_eq!(parse_size("40.5"), Err(SizeProblem::NoUnit));
        assert_eq!(parse_size(""), Err(SizeProblem::NoNumber));
        assert_eq!(parse_size("G"), Err(SizeProblem::NoNumber));
        assert_eq!(parse_size(".G"), Err(SizeProblem::NoNumber));
        assert_eq!(parse_size("0G"), Err(SizeProblem::Zero));
        assert_eq!(parse_size("0.0GiB"), Err(SizeProblem::Zero));
        assert_eq!(parse_size("-5G"), Err(SizeProblem::Negative));
        assert_eq!(parse_size("40X"), Err(SizeProblem::UnknownUnit("X".into())));
        assert_eq!(
            parse_size("40 KB"),
            Err(SizeProblem::UnknownUnit("KB".into()))
        );
        assert_eq!(
            parse_size("4.0.0G"),
            Err(SizeProblem::UnknownUnit(".0G".into()))
        );
        assert_eq!(
            parse_size("1e9B"),
            Err(SizeProblem::UnknownUnit("e9B".into()))
        );
        assert_eq!(parse_size("99999999999TiB"), Err(SizeProblem::TooLarge));
        assert_eq!(
            parse_size("9999999999999.999999999999TiB"),
            Err(SizeProblem::TooLarge)
        );
        assert_eq!(
            parse_size("99999999999999999999999G"),
            Err(SizeProblem::TooLarge),
            "no overflow panic"
        );
        assert_eq!(
            parse_size("1.0000000000001G"),
            Err(SizeProblem::TooManyDecimals)
        );
        assert_eq!(parse_size("-.5G"), Err(SizeProblem::Negative));
        assert_eq!(parse_size("-"), Err(SizeProblem::NoNumber));
        assert_eq!(parse_size("+5G"), Err(SizeProblem::NoNumber));
        assert_eq!(
            parse_size("40İB"),
            Err(SizeProblem::UnknownUnit("İB".into())),
            "no panic on letters whose lower case is longer"
        );
    }

    #[test]
    fn units_alone() {
        assert!(is_size_unit("GB"));
        assert!(is_size_unit("gib"));
        assert!(!is_size_unit("40G"));
        assert!(!is_size_unit("KB"));
    }
}
