//! The monthly capacity report's chart: the weekly peak of concurrent GPU demand over the last
//! months, the fleet's capacity as a red line, and the forecast ([`super::forecast`]) as a
//! dashed line inside its shaded 80 % band, so a reader sees at a glance whether and when the
//! demand is expected to reach the fleet.
//!
//! Drawn on a [`Canvas`] like the daily heat map (no system fonts, ASCII labels only: for a
//! Japanese reader the picture carries numbers alone, and its caption names the lines). Pure:
//! the caller supplies the weeks, the capacity and the forecast. Values that are not finite are
//! left out instead of failing the report, and every position is clamped to the plot, so odd
//! data makes an odd picture, never a panic.

use chrono::{Datelike, Months, NaiveDate};
use maison_command::Lang;

use super::canvas::{Canvas, Dash, GLYPH_H, Rgb, text_width};
use super::chart::ChartError;
use super::forecast::Predicted;

/// Width of the picture in pixels: wide enough for a year of weeks plus half a year of
/// forecast, narrow enough for Slack's preview.
pub const WIDTH: u32 = 900;
/// Height of the picture in pixels.
pub const HEIGHT: u32 = 360;

/// The plot area (axes included); outside it are the tick labels, the month labels and the
/// legend.
const PLOT_LEFT: u32 = 72;
const PLOT_RIGHT: u32 = WIDTH - 24;
const PLOT_TOP: u32 = 40;
const PLOT_BOTTOM: u32 = HEIGHT - 32;
/// Room between the plot's sides and the first and last week, so their dots clear the axis.
const INSET: u32 = 8;
const LEGEND_Y: u32 = 14;
/// The y axis reaches this far above the highest value, so the top line never sits on the
/// plot's edge.
const HEADROOM: f64 = 1.1;
/// About this many labelled ticks on the y axis.
const TARGET_TICKS: f64 = 6.0;
/// A guard on the tick loop; round steps give at most about a dozen ticks.
const MAX_TICKS: u32 = 20;
/// Forecast weeks beyond ten years are not drawn: they would squash the observed months into a
/// sliver, and nobody plans a fleet on them.
const MAX_FORECAST_WEEKS: usize = 520;
/// Average month length, to space the month labels.
const DAYS_PER_MONTH: f64 = 30.44;
/// Month labels are drawn every 1, 2, 3, 4, 6 or 12 months, whichever is the first to leave
/// room between them; beyond that every so many years.
const MONTH_STRIDES: [u32; 6] = [1, 2, 3, 4, 6, 12];
/// A guard on the month loop.
const MAX_MONTH_LABELS: u32 = 60;

const BACKGROUND: Rgb = [255, 255, 255];
const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [232, 232, 232];
/// The observed peaks: dark, the chart's main line.
pub const PEAK: Rgb = [31, 58, 96];
/// The capacity line: red, the limit the demand must not reach.
pub const CAPACITY: Rgb = [214, 39, 40];
/// The forecast's expected peak.
pub const FORECAST: Rgb = [66, 133, 200];
/// The forecast's 80 % band: light, so the lines on it stay readable.
pub const BAND: Rgb = [203, 224, 244];

const PEAK_LINE: u32 = 2;
const DOT_RADIUS: u32 = 3;
const CAPACITY_LINE: u32 = 2;
const FORECAST_DASH: Dash = Dash {
    dash: 7,
    gap: 5,
    thickness: 2,
};

/// What the monthly report's chart shows: the observed weekly peaks, the fleet's capacity and
/// the forecast after the last observed week.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrendChart {
    /// First day (Monday) of each observed week, oldest first.
    pub week_starts: Vec<NaiveDate>,
    /// Peak concurrent GPU demand of each observed week (same length as week_starts).
    pub peaks: Vec<f64>,
    /// GPUs in the fleet now (drawn as a horizontal line).
    pub capacity: f64,
    /// Weeks after the last observed one: 1, 2, …, with mean and 80 % band (forecast::Predicted).
    pub forecast: Vec<Predicted>,
}

/// Where values and days land in the picture. Public so that tests (and a caller placing
/// annotations) compute positions exactly as the renderer does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// Column of the y axis: the plot's left edge.
    pub left: u32,
    /// The plot's right edge.
    pub right: u32,
    /// Row of the plot's top edge, where `top_gpus` would be drawn.
    pub top: u32,
    /// Row of the x axis, where 0 GPUs is drawn.
    pub bottom: u32,
    /// GPUs at the top of the plot: the highest value plus headroom.
    pub top_gpus: f64,
    /// GPUs between two labelled ticks of the y axis: 1, 2 or 5 times a power of ten.
    pub tick_step: f64,
    /// The first observed week, drawn at the left; `None` when there is none.
    first_day: Option<NaiveDate>,
    /// Days from the first observed week to the last forecast week, drawn across the plot.
    span_days: f64,
}

impl Scale {
    /// The row where `gpus` is drawn. Values below 0 or above the top are clamped to the plot,
    /// and a value that is not a number is drawn at 0.
    pub fn row(&self, gpus: f64) -> u32 {
        let share = gpus / self.top_gpus;
        let share = if share.is_nan() {
            0.0
        } else {
            share.clamp(0.0, 1.0)
        };
        let height = f64::from(self.bottom.saturating_sub(self.top));
        let up = (share * height).round() as u32;
        self.bottom.saturating_sub(up).max(self.top)
    }

    /// The column where the week starting on `day` is drawn (clamped to the plot).
    pub fn column(&self, day: NaiveDate) -> u32 {
        match self.first_day {
            Some(first) => self.column_at(day.signed_duration_since(first).num_days() as f64),
            None => self.column_at(0.0),
        }
    }

    /// The column `days` after the first observed week; a lone week sits in the middle.
    fn column_at(&self, days: f64) -> u32 {
        let inner_left = self.left.saturating_add(INSET);
        let inner_width = self
            .right
            .saturating_sub(self.left)
            .saturating_sub(2 * INSET);
        if self.span_days <= 0.0 || !self.span_days.is_finite() {
            return inner_left.saturating_add(inner_width / 2);
        }
        let share = days / self.span_days;
        let share = if share.is_nan() {
            0.0
        } else {
            share.clamp(0.0, 1.0)
        };
        inner_left.saturating_add((share * f64::from(inner_width)).round() as u32)
    }
}

/// The chart's data in drawing order: observed weeks sorted by day, and the forecast weeks
/// placed in days after the first observed week.
struct Prepared {
    /// Observed weeks, oldest first; a peak that is not finite is kept as a gap in the line.
    observed: Vec<(NaiveDate, f64)>,
    /// Forecast weeks, nearest first, as (days after the first observed week, prediction).
    forecast: Vec<(f64, Predicted)>,
}

impl Prepared {
    fn new(chart: &TrendChart) -> Self {
        // Weeks without a peak (or peaks without a week) cannot be placed; `zip` drops them.
        let mut observed: Vec<(NaiveDate, f64)> = chart
            .week_starts
            .iter()
            .copied()
            .zip(chart.peaks.iter().copied())
            .collect();
        // Oldest first is promised, but a line drawn back and forth would be unreadable.
        observed.sort_by_key(|(day, _)| *day);
        let mut forecast = Vec::new();
        if let (Some((first, _)), Some((last, _))) = (observed.first(), observed.last()) {
            let last_offset = last.signed_duration_since(*first).num_days() as f64;
            forecast = chart
                .forecast
                .iter()
                .filter(|p| (1..=MAX_FORECAST_WEEKS).contains(&p.week))
                .map(|p| (last_offset + 7.0 * p.week as f64, *p))
                .collect();
            forecast.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        Self { observed, forecast }
    }

    /// The last observed week with a usable peak: where the forecast line starts.
    fn last_finite(&self) -> Option<(NaiveDate, f64)> {
        self.observed
            .iter()
            .rev()
            .find(|(_, peak)| peak.is_finite())
            .copied()
    }
}

/// The scale `render` draws `chart` with.
pub fn scale(chart: &TrendChart) -> Scale {
    scale_of(&Prepared::new(chart), chart.capacity)
}

fn scale_of(prepared: &Prepared, capacity: f64) -> Scale {
    let forecast_values = prepared.forecast.iter().flat_map(|(_, p)| [p.mean, p.high]);
    let highest = prepared
        .observed
        .iter()
        .map(|(_, peak)| *peak)
        .chain(forecast_values)
        .chain([capacity])
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let top_gpus = (highest * HEADROOM).max(1.0);
    let top_gpus = if top_gpus.is_finite() {
        top_gpus
    } else {
        f64::MAX
    };
    let first_day = prepared.observed.first().map(|(day, _)| *day);
    let last_observed = match (first_day, prepared.observed.last()) {
        (Some(first), Some((last, _))) => last.signed_duration_since(first).num_days() as f64,
        _ => 0.0,
    };
    let span_days = prepared
        .forecast
        .last()
        .map_or(last_observed, |(days, _)| days.max(last_observed));
    Scale {
        left: PLOT_LEFT,
        right: PLOT_RIGHT,
        top: PLOT_TOP,
        bottom: PLOT_BOTTOM,
        top_gpus,
        tick_step: tick_step(top_gpus),
        first_day,
        span_days,
    }
}

/// A round step (1, 2 or 5 times a power of ten, at least one GPU) giving about
/// [`TARGET_TICKS`] ticks from 0 to `top`.
fn tick_step(top: f64) -> f64 {
    let rough = top / TARGET_TICKS;
    if !rough.is_finite() || rough <= 0.0 {
        return 1.0;
    }
    let power = 10_f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * power);
    if step.is_finite() { step.max(1.0) } else { top }
}

/// A tick's label: whole GPUs, or `1.5e9` style once the number is too long for the margin.
fn tick_label(gpus: f64) -> String {
    if gpus < 1e7 {
        format!("{gpus:.0}")
    } else {
        format!("{gpus:e}")
    }
}

/// Renders the chart as an RGB PNG of [`WIDTH`]×[`HEIGHT`] pixels. Without a single usable
/// peak the plot says "no data" (the forecast, which counts from the last observed week, is
/// then left out too).
pub fn render(chart: &TrendChart, lang: Lang) -> Result<Vec<u8>, ChartError> {
    let words = Words::of(lang);
    let prepared = Prepared::new(chart);
    let scale = scale_of(&prepared, chart.capacity);
    let mut canvas = Canvas::new(WIDTH, HEIGHT, BACKGROUND);

    draw_y_axis(&mut canvas, &scale, words.axis);
    draw_months(&mut canvas, &scale);
    draw_band(&mut canvas, &scale, &prepared);
    canvas.vline(scale.left, scale.top, scale.bottom, INK);
    canvas.hline(scale.left, scale.right, scale.bottom, INK);
    if chart.capacity.is_finite() {
        let row = scale.row(chart.capacity);
        // The line is thickened upwards so that `row` itself is always red.
        canvas.fill_rect(
            scale.left.saturating_add(1),
            row.saturating_sub(CAPACITY_LINE - 1),
            scale.right.saturating_sub(scale.left),
            CAPACITY_LINE,
            CAPACITY,
        );
    }
    // The observed weeks last, so the forecast line, which starts on the last one, does not
    // cover its dot.
    draw_forecast_mean(&mut canvas, &scale, &prepared);
    draw_observed(&mut canvas, &scale, &prepared);
    if let Some(legend) = words.legend {
        draw_legend(&mut canvas, legend);
    }
    if prepared.last_finite().is_none() {
        let label = words.no_data;
        let x = (scale.left + scale.right) / 2 - text_width(label) / 2;
        let y = (scale.top + scale.bottom) / 2 - GLYPH_H / 2;
        canvas.text(x, y, label, INK);
    }
    canvas.encode()
}

/// The words the picture carries. Its bitmap font has ASCII only, so for a Japanese reader it
/// carries none: the caption (`monthly-chart-title`) says what each line is, by its colour.
struct Words {
    axis: &'static str,
    /// Peak demand, capacity, forecast.
    legend: Option<[&'static str; 3]>,
    no_data: &'static str,
}

impl Words {
    fn of(lang: Lang) -> Self {
        match lang {
            Lang::En => Words {
                axis: "gpus",
                legend: Some(["peak demand", "capacity", "forecast 80%"]),
                no_data: "no data",
            },
            Lang::Ja => Words {
                axis: "",
                legend: None,
                no_data: "",
            },
        }
    }
}

/// Grid lines, ticks and labels at round numbers of GPUs, and the axis title.
fn draw_y_axis(canvas: &mut Canvas, scale: &Scale, axis: &str) {
    canvas.text(8, LEGEND_Y, axis, INK);
    for k in 0..=MAX_TICKS {
        let gpus = f64::from(k) * scale.tick_step;
        if gpus > scale.top_gpus {
            break;
        }
        let row = scale.row(gpus);
        canvas.hline(scale.left.saturating_add(1), scale.right, row, GRID);
        canvas.hline(scale.left.saturating_sub(4), scale.left, row, INK);
        let label = tick_label(gpus);
        let x = scale
            .left
            .saturating_sub(8)
            .saturating_sub(text_width(&label));
        canvas.text(x, row.saturating_sub(GLYPH_H / 2), &label, INK);
    }
}

/// Month labels (`2026-06`) under the x axis at the first day of every month, or of every
/// second, third… month when they would not fit side by side.
fn draw_months(canvas: &mut Canvas, scale: &Scale) {
    let Some(first) = scale.first_day else {
        return;
    };
    let label_width = text_width("2026-06");
    let inner_width = f64::from(
        scale
            .right
            .saturating_sub(scale.left)
            .saturating_sub(2 * INSET),
    );
    let month_width = if scale.span_days > 0.0 {
        inner_width / scale.span_days * DAYS_PER_MONTH
    } else {
        f64::INFINITY
    };
    let needed = f64::from(label_width + 16);
    let stride = MONTH_STRIDES
        .iter()
        .copied()
        .find(|months| f64::from(*months) * month_width >= needed)
        .unwrap_or_else(|| {
            let years = (needed / (12.0 * month_width)).ceil();
            12 * years.clamp(1.0, 10_000.0) as u32
        });

    // The first labelled month: the first 1st of a month on or after the first week whose
    // month number is a multiple of the stride, so labels fall on January, April, July…
    let Some(month_start) = NaiveDate::from_ymd_opt(first.year(), first.month(), 1) else {
        return;
    };
    let month_number = i64::from(month_start.year()) * 12 + i64::from(month_start.month0());
    let mut skip =
        (i64::from(stride) - month_number.rem_euclid(i64::from(stride))) % i64::from(stride);
    if skip == 0 && month_start < first {
        skip = i64::from(stride);
    }
    let mut next = month_start.checked_add_months(Months::new(skip as u32));
    let mut labelled = 0;
    let mut first_labelled_column = None;
    while let Some(day) = next {
        let days = day.signed_duration_since(first).num_days() as f64;
        if days > scale.span_days || labelled >= MAX_MONTH_LABELS {
            break;
        }
        let column = scale.column_at(days);
        draw_month(canvas, scale, column, day);
        first_labelled_column.get_or_insert(column);
        labelled += 1;
        next = day.checked_add_months(Months::new(stride));
    }
    // A chart of a few weeks crosses one 1st of a month or none: then the first week's month
    // is named too, where it does not run into the next label.
    let start = scale.column_at(0.0);
    let room =
        first_labelled_column.is_none_or(|column| column.saturating_sub(start) >= label_width + 16);
    if labelled < 2 && room {
        draw_month(canvas, scale, start, first);
    }
}

fn draw_month(canvas: &mut Canvas, scale: &Scale, column: u32, day: NaiveDate) {
    let label = day.format("%Y-%m").to_string();
    let width = text_width(&label);
    canvas.vline(
        column,
        scale.bottom.saturating_add(1),
        scale.bottom + 4,
        INK,
    );
    let x = column
        .saturating_sub(width / 2)
        .min(WIDTH.saturating_sub(width + 2));
    canvas.text(x, scale.bottom + 10, &label, INK);
}

/// The 80 % band, from the last observed peak (where it is zero wide) through each forecast
/// week's low and high, filled column by column strictly right of the last observed week.
fn draw_band(canvas: &mut Canvas, scale: &Scale, prepared: &Prepared) {
    let Some((last_week, _)) = prepared.observed.last() else {
        return;
    };
    let last_column = scale.column(*last_week);
    // Each anchor: (column, low, high) in GPUs.
    let mut anchors: Vec<(u32, f64, f64)> = Vec::new();
    if let Some((day, peak)) = prepared.last_finite()
        && day == *last_week
    {
        anchors.push((last_column, peak, peak));
    }
    for (days, p) in &prepared.forecast {
        if p.low.is_finite() && p.high.is_finite() {
            let low = p.low.min(p.high).max(0.0);
            let high = p.low.max(p.high).max(0.0);
            anchors.push((scale.column_at(*days), low, high));
        }
    }
    if let [(column, low, high)] = anchors[..] {
        if column > last_column {
            canvas.vline(column, scale.row(high), scale.row(low), BAND);
        }
        return;
    }
    for pair in anchors.windows(2) {
        let ((from, low_a, high_a), (to, low_b, high_b)) = (pair[0], pair[1]);
        if to <= from {
            continue;
        }
        let width = f64::from(to - from);
        for column in from.max(last_column).saturating_add(1)..=to {
            let t = f64::from(column - from) / width;
            let low = low_a + (low_b - low_a) * t;
            let high = high_a + (high_b - high_a) * t;
            canvas.vline(column, scale.row(high), scale.row(low), BAND);
        }
    }
}

/// The observed weekly peaks: a line between consecutive weeks and a dot on each; a week
/// without a usable peak leaves a gap rather than a made-up value.
fn draw_observed(canvas: &mut Canvas, scale: &Scale, prepared: &Prepared) {
    let point =
        |(day, peak): (NaiveDate, f64)| (i64::from(scale.column(day)), i64::from(scale.row(peak)));
    for pair in prepared.observed.windows(2) {
        if pair[0].1.is_finite() && pair[1].1.is_finite() {
            let ((x0, y0), (x1, y1)) = (point(pair[0]), point(pair[1]));
            // The brush grows right and down; centring it keeps the dots on the line.
            let half = i64::from(PEAK_LINE / 2);
            canvas.line(x0 - half, y0 - half, x1 - half, y1 - half, PEAK_LINE, PEAK);
        }
    }
    for week in &prepared.observed {
        if week.1.is_finite() {
            let (x, y) = point(*week);
            canvas.disc(x, y, DOT_RADIUS, PEAK);
        }
    }
}

/// The forecast's expected peak: a dashed line on from the last observed peak.
fn draw_forecast_mean(canvas: &mut Canvas, scale: &Scale, prepared: &Prepared) {
    let mut points: Vec<(i64, i64)> = Vec::with_capacity(prepared.forecast.len() + 1);
    if let Some((day, peak)) = prepared.last_finite() {
        points.push((i64::from(scale.column(day)), i64::from(scale.row(peak))));
    }
    for (days, p) in &prepared.forecast {
        if p.mean.is_finite() {
            points.push((
                i64::from(scale.column_at(*days)),
                i64::from(scale.row(p.mean)),
            ));
        }
    }
    let half = i64::from(FORECAST_DASH.thickness / 2);
    let centred: Vec<(i64, i64)> = points.iter().map(|(x, y)| (x - half, y - half)).collect();
    canvas.dashed_polyline(&centred, FORECAST_DASH, FORECAST);
}

/// The legend above the plot: a sample of each line and what it means.
fn draw_legend(canvas: &mut Canvas, [peak, capacity, forecast]: [&str; 3]) {
    const SWATCH: u32 = 22;
    let middle = LEGEND_Y + GLYPH_H / 2;
    let mut x = PLOT_LEFT + 24;
    let label = |canvas: &mut Canvas, x: &mut u32, text: &str| {
        canvas.text(*x + SWATCH + 6, LEGEND_Y, text, INK);
        *x += SWATCH + 6 + text_width(text) + 24;
    };

    canvas.fill_rect(x, middle - PEAK_LINE / 2, SWATCH, PEAK_LINE, PEAK);
    canvas.disc(
        i64::from(x + SWATCH / 2),
        i64::from(middle),
        DOT_RADIUS,
        PEAK,
    );
    label(canvas, &mut x, peak);

    canvas.fill_rect(
        x,
        middle - CAPACITY_LINE / 2,
        SWATCH,
        CAPACITY_LINE,
        CAPACITY,
    );
    label(canvas, &mut x, capacity);

    canvas.fill_rect(x, LEGEND_Y, SWATCH, GLYPH_H, BAND);
    let row = i64::from(middle - FORECAST_DASH.thickness / 2);
    canvas.dashed_line(
        (i64::from(x), row),
        (i64::from(x + SWATCH - 1), row),
        FORECAST_DASH,
        FORECAST,
    );
    label(canvas, &mut x, forecast);
}

#[cfg(test)]
mod tests {
    use super::super::canvas::decode_png;
    use super::super::forecast;
    use super::*;

    fn monday(year: i32, month: u32, day: u32) -> NaiveDate {
        let day = NaiveDate::from_ymd_opt(year, month, day).unwrap();
        assert_eq!(day.weekday(), chrono::Weekday::Mon);
        day
    }

    /// `weeks` weeks from 5 Jan 2026 of demand growing by a third of a GPU a week, a fleet of
    /// 36 GPUs and half a year of forecast from the real model.
    fn growing(weeks: usize) -> TrendChart {
        let week_starts: Vec<NaiveDate> = (0..weeks)
            .map(|w| monday(2026, 1, 5) + chrono::Duration::weeks(w as i64))
            .collect();
        // Repeatable wiggles of up to 3 GPUs, so the forecast has a band worth drawing.
        let peaks: Vec<f64> = (0..weeks)
            .map(|w| 18.0 + w as f64 / 3.0 + 3.0 * (w as f64 * 1.7).sin())
            .collect();
        let forecast = forecast::fit(&peaks, 26).map_or_else(Vec::new, |f| f.ahead);
        TrendChart {
            week_starts,
            peaks,
            capacity: 36.0,
            forecast,
        }
    }

    /// A decoded picture, to look at its pixels.
    struct Picture {
        width: u32,
        height: u32,
        pixels: Vec<u8>,
    }

    impl Picture {
        fn of(chart: &TrendChart) -> Self {
            Self::in_lang(chart, Lang::En)
        }

        fn in_lang(chart: &TrendChart, lang: Lang) -> Self {
            let (width, height, pixels) = decode_png(&render(chart, lang).unwrap());
            Self {
                width,
                height,
                pixels,
            }
        }

        fn at(&self, x: u32, y: u32) -> Rgb {
            let i = ((y * self.width + x) * 3) as usize;
            [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
        }

        /// Every pixel of `colour` inside the plot (the legend above it is left out).
        fn inside_plot(&self, colour: Rgb) -> Vec<(u32, u32)> {
            let mut found = Vec::new();
            for y in PLOT_TOP..=PLOT_BOTTOM {
                for x in PLOT_LEFT..=PLOT_RIGHT {
                    if self.at(x, y) == colour {
                        found.push((x, y));
                    }
                }
            }
            found
        }
    }

    #[test]
    fn the_chart_is_a_png_of_its_size() {
        let chart = growing(40);
        assert_eq!(chart.forecast.len(), 26);
        let picture = Picture::of(&chart);
        assert_eq!((picture.width, picture.height), (WIDTH, HEIGHT));
        assert_eq!(picture.pixels.len(), (WIDTH * HEIGHT * 3) as usize);
        assert_eq!(picture.at(0, 0), BACKGROUND);
    }

    #[test]
    fn the_band_lies_only_right_of_the_last_observed_week() {
        let chart = growing(40);
        let scale = scale(&chart);
        let last_column = scale.column(*chart.week_starts.last().unwrap());
        let band = Picture::of(&chart).inside_plot(BAND);
        assert!(band.len() > 500, "band too small: {} pixels", band.len());
        let leftmost = band.iter().map(|(x, _)| *x).min().unwrap();
        assert!(
            leftmost > last_column,
            "band at column {leftmost}, last week at {last_column}"
        );
        // It reaches the last forecast week.
        let rightmost = band.iter().map(|(x, _)| *x).max().unwrap();
        assert!(
            rightmost + 2 >= scale.right - INSET,
            "band ends at {rightmost}"
        );
    }

    #[test]
    fn the_forecast_line_starts_at_the_last_observed_week() {
        let chart = growing(40);
        let last_column = scale(&chart).column(*chart.week_starts.last().unwrap());
        let dashes = Picture::of(&chart).inside_plot(FORECAST);
        assert!(!dashes.is_empty());
        assert!(dashes.iter().all(|(x, _)| *x + 1 >= last_column));
        // Dashed: some columns between its ends have no forecast colour.
        let columns: std::collections::BTreeSet<u32> = dashes.iter().map(|(x, _)| *x).collect();
        let (first, last) = (*columns.first().unwrap(), *columns.last().unwrap());
        assert!((columns.len() as u32) < last - first);
    }

    #[test]
    fn the_capacity_line_is_drawn_at_its_scaled_row() {
        let chart = growing(40);
        let scale = scale(&chart);
        let row = scale.row(chart.capacity);
        // 36 GPUs on an axis to the highest value plus 10 %.
        let height = f64::from(PLOT_BOTTOM - PLOT_TOP);
        let expected = PLOT_BOTTOM - (36.0 / scale.top_gpus * height).round() as u32;
        assert_eq!(row, expected);
        let picture = Picture::of(&chart);
        let red = picture.inside_plot(CAPACITY);
        let on_row = red.iter().filter(|(_, y)| *y == row).count() as u32;
        assert!(
            on_row * 10 >= (scale.right - scale.left) * 9,
            "{on_row} red pixels on row {row}"
        );
        assert!(
            red.iter()
                .all(|(_, y)| *y <= row && row - *y < CAPACITY_LINE)
        );
    }

    #[test]
    fn the_scale_runs_from_zero_to_the_highest_value_plus_headroom() {
        let mut chart = growing(40);
        let highest_band = chart.forecast.iter().map(|p| p.high).fold(0.0, f64::max);
        assert!(highest_band > chart.capacity);
        let scale = scale(&chart);
        assert!((scale.top_gpus - highest_band * HEADROOM).abs() < 1e-9);
        assert_eq!(scale.row(0.0), PLOT_BOTTOM);
        assert_eq!(scale.row(-5.0), PLOT_BOTTOM);
        assert_eq!(scale.row(scale.top_gpus), PLOT_TOP);
        assert_eq!(scale.row(f64::INFINITY), PLOT_TOP);
        assert_eq!(scale.tick_step, 10.0);

        chart.capacity = 500.0;
        let scale = super::scale(&chart);
        assert!((scale.top_gpus - 550.0).abs() < 1e-9);
        assert_eq!(scale.tick_step, 100.0);
        // Values that are not finite do not stretch the axis.
        chart.peaks[3] = f64::INFINITY;
        chart.peaks[4] = f64::NAN;
        chart.forecast[0].high = f64::INFINITY;
        assert!((super::scale(&chart).top_gpus - 550.0).abs() < 1e-9);
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(tick_step(1.0), 1.0);
        assert_eq!(tick_step(44.0), 10.0);
        assert_eq!(tick_step(110.0), 20.0);
        assert_eq!(tick_step(3300.0), 1000.0);
        assert!((tick_step(f64::MAX) / 5e307 - 1.0).abs() < 1e-9);
        assert_eq!(tick_label(40.0), "40");
        assert_eq!(tick_label(2.5e9), "2.5e9");
    }

    #[test]
    fn each_observed_week_has_its_dot() {
        let chart = growing(30);
        let scale = scale(&chart);
        let picture = Picture::of(&chart);
        for (day, peak) in chart.week_starts.iter().zip(&chart.peaks) {
            let (x, y) = (scale.column(*day), scale.row(*peak));
            assert_eq!(picture.at(x, y), PEAK, "week {day}");
        }
        // The first and last week sit just inside the plot, the forecast after them.
        assert_eq!(scale.column(chart.week_starts[0]), PLOT_LEFT + INSET);
        assert!(scale.column(chart.week_starts[29]) < PLOT_RIGHT - INSET - 100);
    }

    #[test]
    fn no_weeks_at_all_draw_an_empty_chart_saying_no_data() {
        let empty = TrendChart {
            capacity: 16.0,
            ..TrendChart::default()
        };
        let picture = Picture::of(&empty);
        assert_eq!((picture.width, picture.height), (WIDTH, HEIGHT));
        assert!(picture.inside_plot(PEAK).is_empty());
        assert!(picture.inside_plot(BAND).is_empty());
        assert!(!picture.inside_plot(CAPACITY).is_empty());
        // "no data" is written in the middle of the plot.
        let middle = (PLOT_TOP + PLOT_BOTTOM) / 2;
        let ink = (PLOT_LEFT..PLOT_RIGHT)
            .filter(|x| picture.at(*x, middle) == INK)
            .count();
        assert!(ink > 5, "{ink} ink pixels mid-plot");
        // A forecast without any observed week has nowhere to start.
        let orphan = TrendChart {
            forecast: growing(40).forecast,
            ..empty
        };
        assert!(Picture::of(&orphan).inside_plot(BAND).is_empty());
        assert!(Picture::of(&orphan).inside_plot(FORECAST).is_empty());
    }

    /// The font has no Japanese: a Japanese reader's chart carries no words (its caption names
    /// the lines) and is otherwise the same picture.
    #[test]
    fn a_japanese_chart_carries_numbers_only() {
        let chart = growing(30);
        let (english, japanese) = (Picture::of(&chart), Picture::in_lang(&chart, Lang::Ja));
        let marked_above_plot = |picture: &Picture| {
            (0..PLOT_TOP - 4)
                .flat_map(|y| (0..WIDTH).map(move |x| (x, y)))
                .filter(|&(x, y)| picture.at(x, y) != BACKGROUND)
                .count()
        };
        assert!(marked_above_plot(&english) > 100, "no legend in English");
        assert_eq!(
            marked_above_plot(&japanese),
            0,
            "words in the Japanese chart"
        );
        for y in PLOT_TOP..=PLOT_BOTTOM {
            for x in PLOT_LEFT..=PLOT_RIGHT {
                assert_eq!(
                    english.at(x, y),
                    japanese.at(x, y),
                    "plot differs at {x},{y}"
                );
            }
        }
        // Without data, the English plot says so; the Japanese one stays blank.
        let empty = TrendChart {
            capacity: 16.0,
            ..TrendChart::default()
        };
        let middle = (PLOT_TOP + PLOT_BOTTOM) / 2;
        // Right of the y axis, which is drawn in ink too.
        let ink = |picture: Picture| {
            (PLOT_LEFT + 2..PLOT_RIGHT)
                .filter(|x| picture.at(*x, middle) == INK)
                .count()
        };
        assert!(ink(Picture::of(&empty)) > 5);
        assert_eq!(ink(Picture::in_lang(&empty, Lang::Ja)), 0);
    }

    #[test]
    fn odd_data_still_makes_a_picture() {
        let one_week = TrendChart {
            week_starts: vec![monday(2026, 6, 1)],
            peaks: vec![12.0],
            capacity: 16.0,
            forecast: vec![],
        };
        let picture = Picture::of(&one_week);
        assert_eq!((picture.width, picture.height), (WIDTH, HEIGHT));
        let scale = scale(&one_week);
        let x = scale.column(one_week.week_starts[0]);
        assert_eq!(picture.at(x, scale.row(12.0)), PEAK);

        let mut not_finite = growing(40);
        not_finite.peaks[10] = f64::NAN;
        not_finite.peaks[39] = f64::INFINITY;
        not_finite.capacity = f64::NAN;
        not_finite.forecast[2].mean = f64::NAN;
        not_finite.forecast[5].low = f64::NEG_INFINITY;
        let picture = Picture::of(&not_finite);
        assert!(picture.inside_plot(CAPACITY).is_empty());
        assert!(!picture.inside_plot(BAND).is_empty());

        let huge = TrendChart {
            week_starts: vec![monday(2026, 6, 1), monday(2026, 6, 8)],
            peaks: vec![1e300, f64::MAX],
            capacity: f64::MAX,
            forecast: vec![forecast::Predicted {
                week: 1,
                mean: f64::MAX,
                low: -f64::MAX,
                high: f64::MAX,
            }],
        };
        assert_eq!(Picture::of(&huge).width, WIDTH);

        let all_nan = TrendChart {
            week_starts: vec![monday(2026, 6, 1), monday(2026, 6, 8)],
            peaks: vec![f64::NAN, f64::NAN],
            capacity: 8.0,
            forecast: vec![],
        };
        assert!(Picture::of(&all_nan).inside_plot(PEAK).is_empty());

        // Unequal lengths, weeks out of order, a forecast week 0 and one far away, a band
        // upside down, dates at the ends of the calendar: drawn without a panic.
        let muddled = TrendChart {
            week_starts: vec![
                monday(2026, 6, 8),
                monday(2026, 6, 1),
                NaiveDate::MIN,
                NaiveDate::MAX,
            ],
            peaks: vec![3.0, 4.0, 5.0],
            capacity: -2.0,
            forecast: vec![
                forecast::Predicted {
                    week: 0,
                    mean: 1.0,
                    low: 0.0,
                    high: 2.0,
                },
                forecast::Predicted {
                    week: usize::MAX,
                    mean: 1.0,
                    low: 0.0,
                    high: 2.0,
                },
                forecast::Predicted {
                    week: 3,
                    mean: 1.0,
                    low: 9.0,
                    high: -4.0,
                },
            ],
        };
        assert_eq!(Picture::of(&muddled).height, HEIGHT);
        let far_apart = TrendChart {
            week_starts: vec![NaiveDate::MIN, NaiveDate::MAX],
            peaks: vec![1.0, 2.0],
            capacity: 4.0,
            forecast: growing(40).forecast,
        };
        assert_eq!(Picture::of(&far_apart).height, HEIGHT);
    }

    #[test]
    fn months_are_labelled_without_overlapping() {
        // A year of weeks and half a year of forecast: 18 months, too many for 7-character
        // labels side by side, so every other month is labelled.
        let chart = growing(52);
        let scale = scale(&chart);
        let picture = Picture::of(&chart);
        let tick_row = PLOT_BOTTOM + 2;
        let ticks: Vec<u32> = (PLOT_LEFT + 1..WIDTH)
            .filter(|x| picture.at(*x, tick_row) == INK)
            .collect();
        assert!(
            (6..=18).contains(&ticks.len()),
            "{} month ticks",
            ticks.len()
        );
        for pair in ticks.windows(2) {
            assert!(pair[1] - pair[0] > text_width("2026-06"), "{ticks:?}");
        }
        // Every other month from March (the first 1st after the first week, January, is before
        // it): March is marked, February is not.
        let first_of = |month| scale.column(NaiveDate::from_ymd_opt(2026, month, 1).unwrap());
        assert!(ticks.contains(&first_of(3)), "{ticks:?}");
        assert!(ticks.contains(&first_of(5)), "{ticks:?}");
        assert!(!ticks.contains(&first_of(2)), "{ticks:?}");
    }
}
