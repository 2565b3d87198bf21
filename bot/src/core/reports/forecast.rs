//! When will demand outrun the fleet? A forecast of the weekly peak of concurrent GPU demand
//! (booked GPUs plus GPUs waited for), with a prediction interval, and the week it is expected
//! to pass the fleet's capacity.
//!
//! Model: a robust straight line (Theil–Sen: the median of the slopes between every pair of
//! weeks) through the most recent [`WINDOW`] weeks. Capacity planning asks about the trend of
//! the last months, not last week's wiggle, and a median shrugs off a holiday week or a
//! one-off deadline crunch that would tilt a least-squares line or steer exponential
//! smoothing (Holt's model, tried first, missed a weak trend's crossing by up to 6 weeks
//! where this line missed by 3; on a clear trend this line stays within 2, see the tests).
//! The 80 % interval is the classic
//! prediction interval of a fitted line — wider the further ahead and the fewer the weeks —
//! with the spread measured robustly (1.4826 × the median absolute residual). Weekday
//! seasonality is left out on purpose: the series is one peak a week, which already takes the
//! busiest day.
//!
//! Pure: weeks are numbers here; the caller dates them.

use chrono::Datelike;
use maison_command::Lang;

use crate::tr;

/// Fewer weeks than this and the report says so instead of guessing.
pub const MIN_WEEKS: usize = 8;

/// The 80 % interval: ±1.2816 standard deviations of a normal error.
const Z_80: f64 = 1.281_551_6;

/// The weeks the line is fitted to: half a year follows a lab's growth without the year before.
pub const WINDOW: usize = 26;

/// One week ahead of the last observed one (`week` 1 is next week).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Predicted {
    pub week: usize,
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

/// What the forecast says about capacity.
#[derive(Debug, Clone, PartialEq)]
pub enum Outlook {
    /// Too little history to fit a trend.
    NotEnoughHistory { weeks: usize, needed: usize },
    /// The expected peak stays below capacity over the horizon.
    NotExpected { horizon: usize, weeks: usize },
    /// Expected to pass capacity in `week` weeks; the 80 % interval of that week is
    /// `[earliest, latest]` (`latest` is `None` when even the low end stays below capacity
    /// within the horizon).
    Crosses {
        week: usize,
        earliest: usize,
        latest: Option<usize>,
        weeks: usize,
    },
    /// Already at or above capacity at the last observed week.
    AlreadyOver { weeks: usize },
}

/// A fitted line and its forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// GPUs a week.
    pub slope: f64,
    /// The fitted value at the last observed week.
    pub last_fit: f64,
    /// Robust standard deviation of the residuals.
    pub sigma: f64,
    /// Weeks the line was fitted to.
    pub weeks: usize,
    pub ahead: Vec<Predicted>,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Fits the line to the last [`WINDOW`] weeks of `series` (oldest first) and forecasts
/// `horizon` weeks. `None` below [`MIN_WEEKS`].
pub fn fit(series: &[f64], horizon: usize) -> Option<Forecast> {
    if series.len() < MIN_WEEKS {
        return None;
    }
    let recent = &series[series.len().saturating_sub(WINDOW)..];
    let n = recent.len();
    let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            slopes.push((recent[j] - recent[i]) / (j - i) as f64);
        }
    }
    let slope = median(&mut slopes);
    let mut intercepts: Vec<f64> = recent
        .iter()
        .enumerate()
        .map(|(t, y)| y - slope * t as f64)
        .collect();
    let intercept = median(&mut intercepts);
    let mut deviations: Vec<f64> = recent
        .iter()
        .enumerate()
        .map(|(t, y)| (y - intercept - slope * t as f64).abs())
        .collect();
    let sigma = 1.4826 * median(&mut deviations);
    let mean_t = (n as f64 - 1.0) / 2.0;
    let spread_t: f64 = (0..n).map(|t| (t as f64 - mean_t).powi(2)).sum();
    let last = (n - 1) as f64;
    let ahead = (1..=horizon)
        .map(|h| {
            let t = last + h as f64;
            let mean = intercept + slope * t;
            let sd = sigma * (1.0 + 1.0 / n as f64 + (t - mean_t).powi(2) / spread_t).sqrt();
            Predicted {
                week: h,
                mean,
                low: mean - Z_80 * sd,
                high: mean + Z_80 * sd,
            }
        })
        .collect();
    Some(Forecast {
        slope,
        last_fit: intercept + slope * last,
        sigma,
        weeks: n,
        ahead,
    })
}

/// When the weekly peak (`series`, oldest first) is expected to pass `capacity`, looking
/// `horizon` weeks ahead.
pub fn outlook(series: &[f64], capacity: f64, horizon: usize) -> Outlook {
    let weeks = series.len();
    let Some(forecast) = fit(series, horizon) else {
        return Outlook::NotEnoughHistory {
            weeks,
            needed: MIN_WEEKS,
        };
    };
    if series.last().is_some_and(|last| *last >= capacity) {
        return Outlook::AlreadyOver { weeks };
    }
    let first =
        |over: &dyn Fn(&Predicted) -> bool| forecast.ahead.iter().find(|p| over(p)).map(|p| p.week);
    match first(&|p| p.mean >= capacity) {
        Some(week) => Outlook::Crosses {
            week,
            earliest: first(&|p| p.high >= capacity).unwrap_or(week),
            latest: first(&|p| p.low >= capacity),
            weeks,
        },
        None => Outlook::NotExpected { horizon, weeks },
    }
}

/// The report's one sentence. `last_week` is the first day of the last observed week.
pub fn sentence(outlook: &Outlook, capacity: u32, last_week: chrono::NaiveDate) -> String {
    sentence_in(outlook, capacity, last_week, Lang::En)
}

/// [`sentence`] in `lang`: months read `Mar 2027` or `2027年3月`, the week `2027-03-01` or
/// `2027年3月1日`.
pub fn sentence_in(
    outlook: &Outlook,
    capacity: u32,
    last_week: chrono::NaiveDate,
    lang: Lang,
) -> String {
    let week_of = |weeks: usize| last_week + chrono::Duration::weeks(weeks as i64);
    let month = |weeks: usize| {
        let date = week_of(weeks);
        match lang {
            Lang::En => date.format("%b %Y").to_string(),
            Lang::Ja => format!("{}年{}月", date.year(), date.month()),
        }
    };
    match *outlook {
        Outlook::NotEnoughHistory { weeks, needed } => {
            tr!(lang, "forecast-not-enough", weeks = weeks, needed = needed)
        }
        Outlook::AlreadyOver { weeks } => tr!(
            lang,
            "forecast-already-over",
            capacity = capacity,
            weeks = weeks
        ),
        Outlook::NotExpected { horizon, weeks } => tr!(
            lang,
            "forecast-not-expected",
            capacity = capacity,
            horizon = horizon,
            weeks = weeks
        ),
        Outlook::Crosses {
            week,
            earliest,
            latest,
            weeks,
        } => {
            let from = month(earliest);
            let until = latest.map_or_else(|| tr!(lang, "forecast-later"), month);
            let interval = if from == until {
                from
            } else {
                format!("{from} – {until}")
            };
            let date = week_of(week);
            let week = match lang {
                Lang::En => date.format("%Y-%m-%d").to_string(),
                Lang::Ja => format!("{}年{}月{}日", date.year(), date.month(), date.day()),
            };
            tr!(
                lang,
                "forecast-crosses",
                capacity = capacity,
                week = week,
                interval = interval,
                weeks = weeks
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A weekly series: `start + slope·t` plus noise of standard deviation `noise`, seeded.
    fn series(weeks: usize, start: f64, slope: f64, noise: f64, seed: u64) -> Vec<f64> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..weeks)
            .map(|t| start + slope * t as f64 + noise * gaussian(&mut rng))
            .collect()
    }

    /// A standard normal draw (Box–Muller).
    fn gaussian(rng: &mut fastrand::Rng) -> f64 {
        let (u, v) = (rng.f64().max(1e-12), rng.f64());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// A clear trend (a GPU a week, noise of a GPU): the crossing week is found within two
    /// weeks of the true line's, over many seeds.
    #[test]
    fn a_clear_trend_crosses_within_two_weeks_of_the_truth() {
        // 20 GPUs growing by 1 a week pass 52 at week 32; half a year is observed (0-25).
        let truth = 32 - 25;
        let mut worst = 0;
        for seed in 0..200 {
            let observed = series(26, 20.0, 1.0, 1.0, seed);
            match outlook(&observed, 52.0, 52) {
                Outlook::Crosses {
                    week,
                    earliest,
                    latest,
                    ..
                } => {
                    worst = worst.max(week.abs_diff(truth));
                    assert!(earliest <= week && latest.is_none_or(|l| l >= week));
                }
                other => panic!("seed {seed}: {other:?}"),
            }
        }
        println!("crossing week off by at most {worst} week(s) over 200 series");
        assert!(worst <= 2, "off by {worst} weeks");
    }

    /// The same clear trend with a season: every fourth week is a deadline crunch (3 GPUs
    /// more), the week after it a lull (2 fewer). The season costs the robust line a little:
    /// measured, most crossings stay within two weeks of the trend's own, none beyond three.
    #[test]
    fn a_trend_with_a_monthly_season_crosses_near_the_truth() {
        let truth = 32 - 25;
        let mut worst = 0;
        let mut within_two = 0;
        for seed in 0..200 {
            let season = |t: usize| match t % 4 {
                3 => 3.0,
                0 if t > 0 => -2.0,
                _ => 0.0,
            };
            let observed: Vec<f64> = series(26, 20.0, 1.0, 1.0, 500 + seed)
                .into_iter()
                .enumerate()
                .map(|(t, y)| y + season(t))
                .collect();
            match outlook(&observed, 52.0, 52) {
                Outlook::Crosses { week, .. } => {
                    worst = worst.max(week.abs_diff(truth));
                    within_two += usize::from(week.abs_diff(truth) <= 2);
                }
                other => panic!("seed {seed}: {other:?}"),
            }
        }
        println!("seasonal: {within_two} of 200 crossings within two weeks, at most {worst} off");
        assert!(worst <= 3, "off by {worst} weeks");
        assert!(
            within_two >= 180,
            "only {within_two} of 200 within two weeks"
        );
    }

    #[test]
    fn the_report_says_it_in_one_sentence() {
        let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let crosses = Outlook::Crosses {
            week: 14,
            earliest: 10,
            latest: Some(20),
            weeks: 26,
        };
        assert_eq!(
            sentence(&crosses, 36, monday),
            "At the current trend, peak demand passes the fleet's 36 GPUs in the week of 2027-03-08 (80 % interval: Feb 2027 – Apr 2027; based on 26 weeks)."
        );
        let short = Outlook::NotEnoughHistory {
            weeks: 3,
            needed: MIN_WEEKS,
        };
        assert_eq!(
            sentence(&short, 36, monday),
            "Not enough history for a forecast yet: 3 week(s) of data, 8 needed."
        );
    }

    #[test]
    fn a_flat_series_is_not_expected_to_cross() {
        for seed in 0..20 {
            let observed = series(30, 20.0, 0.0, 1.0, seed);
            assert!(
                matches!(outlook(&observed, 36.0, 26), Outlook::NotExpected { .. }),
                "seed {seed}: {:?}",
                outlook(&observed, 36.0, 26)
            );
        }
    }

    #[test]
    fn too_little_history_is_said_not_guessed() {
        assert_eq!(
            outlook(&[10.0, 12.0, 14.0], 36.0, 26),
            Outlook::NotEnoughHistory {
                weeks: 3,
                needed: MIN_WEEKS
            }
        );
        assert_eq!(
            outlook(&series(10, 40.0, 0.0, 0.0, 1), 36.0, 26),
            Outlook::AlreadyOver { weeks: 10 }
        );
    }

    /// How often the 80 % interval four weeks ahead holds the truth, over many seeds: about its
    /// nominal rate (printed with `--nocapture`).
    #[test]
    fn the_interval_covers_the_truth_at_about_its_nominal_rate() {
        let runs = 400;
        let mut covered = 0;
        for seed in 0..runs {
            let full = series(34, 20.0, 0.3, 1.5, 1000 + seed);
            let forecast = fit(&full[..30], 4).unwrap();
            let p = forecast.ahead[3];
            if (p.low..=p.high).contains(&full[33]) {
                covered += 1;
            }
        }
        let coverage = f64::from(covered) / runs as f64;
        println!(
            "80 % interval, 4 weeks ahead: coverage {:.1} % over {runs} series",
            coverage * 100.0
        );
        assert!((0.7..=0.92).contains(&coverage), "coverage {coverage}");
    }
}
