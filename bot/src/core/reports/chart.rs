//! The daily report's heat map: one row per host, one column per hour, each cell coloured by
//! the hour's average GPU utilisation. Drawn pixel by pixel and encoded with the `png` crate, so
//! it needs no system fonts and no graphics stack; host names and hours are drawn with the tiny
//! 3×5 bitmap font of [`super::canvas`] (lower-case letters, digits and the few signs host names
//! use). That font has no Japanese, so a Japanese reader's chart carries host names and numbers
//! only, and its caption (`daily-chart-title`) says what the grey cells are.

use maison_command::Lang;

use super::canvas::{ADVANCE, Canvas, GLYPH_H, SCALE};

/// The error of every report chart; it lives with the canvas that encodes them.
pub use super::canvas::ChartError;

/// Pixel size of one hour cell.
pub const CELL_W: u32 = 20;
pub const CELL_H: u32 = 14;
/// Host names are cut to this many characters in the left column.
pub const LABEL_CHARS: u32 = 12;
const MARGIN: u32 = 6;
const LABEL_W: u32 = LABEL_CHARS * ADVANCE + MARGIN;
const HEADER_H: u32 = GLYPH_H + 2 * MARGIN;
/// The legend strip under the grid: "0%", a colour ramp, "100%", and "no data".
const LEGEND_H: u32 = GLYPH_H + 3 * MARGIN;
/// More hosts than this are summarised in the last row instead of drawn.
pub const MAX_ROWS: usize = 120;

const BACKGROUND: [u8; 3] = [255, 255, 255];
const INK: [u8; 3] = [40, 40, 40];
const NO_DATA: [u8; 3] = [226, 226, 226];
const GRID: [u8; 3] = [255, 255, 255];

/// One row of the heat map: a host and its hourly utilisation (`None` = no readings).
#[derive(Debug, Clone, PartialEq)]
pub struct HeatRow {
    pub label: String,
    pub cells: Vec<Option<f64>>,
}

/// What the chart shows: the rows and the labels of the hour columns (local hour, `"00"`–`"23"`).
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    pub rows: Vec<HeatRow>,
    pub columns: Vec<String>,
}

/// Width and height in pixels of the chart for `rows` hosts and `columns` hours.
pub fn size(rows: usize, columns: usize) -> (u32, u32) {
    let rows = rows.clamp(1, MAX_ROWS) as u32;
    let columns = columns.max(1) as u32;
    let width = LABEL_W + columns * CELL_W + MARGIN;
    let height = HEADER_H + rows * CELL_H + LEGEND_H;
    (width, height)
}

/// Renders the heat map as an RGB PNG, with words only for an English reader.
pub fn render(map: &HeatMap, lang: Lang) -> Result<Vec<u8>, ChartError> {
    let english = lang == Lang::En;
    let mut rows: Vec<HeatRow> = map.rows.clone();
    if rows.len() > MAX_ROWS {
        let hidden = rows.len() - (MAX_ROWS - 1);
        rows.truncate(MAX_ROWS - 1);
        rows.push(HeatRow {
            label: if english {
                format!("+{hidden} more")
            } else {
                format!("+{hidden}")
            },
            cells: vec![None; map.columns.len()],
        });
    }
    if rows.is_empty() {
        rows.push(HeatRow {
            label: if english { "no hosts" } else { "" }.to_owned(),
            cells: vec![None; map.columns.len()],
        });
    }
    let columns = map.columns.len().max(1);
    let (width, height) = size(rows.len(), columns);
    let mut canvas = Canvas::new(width, height, BACKGROUND);

    for (c, label) in map.columns.iter().enumerate() {
        // Every third hour is labelled; the others would overlap at this cell width.
        if c % 3 == 0 {
            let x = LABEL_W + c as u32 * CELL_W;
            canvas.text(x, MARGIN, label, INK);
        }
    }
    for (r, row) in rows.iter().enumerate() {
        let y = HEADER_H + r as u32 * CELL_H;
        let label: String = row.label.chars().take(LABEL_CHARS as usize).collect();
        canvas.text(MARGIN, y + (CELL_H - GLYPH_H) / 2, &label, INK);
        for c in 0..columns {
            let colour = match row.cells.get(c).copied().flatten() {
                Some(util) => ramp(util),
                None => NO_DATA,
            };
            let x = LABEL_W + c as u32 * CELL_W;
            canvas.fill_rect(x, y, CELL_W, CELL_H, GRID);
            canvas.fill_rect(x + 1, y + 1, CELL_W - 2, CELL_H - 2, colour);
        }
    }

    let legend_y = HEADER_H + rows.len() as u32 * CELL_H + MARGIN;
    let mut x = LABEL_W;
    canvas.text(x, legend_y, "0%", INK);
    x += 3 * ADVANCE;
    let ramp_w = 100;
    for i in 0..ramp_w {
        canvas.fill_rect(x + i, legend_y, 1, GLYPH_H, ramp(f64::from(i)));
    }
    x += ramp_w + SCALE * 2;
    canvas.text(x, legend_y, "100%", INK);
    x += 5 * ADVANCE;
    canvas.fill_rect(x, legend_y, GLYPH_H, GLYPH_H, NO_DATA);
    if english {
        canvas.text(x + GLYPH_H + SCALE * 2, legend_y, "no data", INK);
    }

    canvas.encode()
}

/// Utilisation 0–100 % to a colour: pale green-white through teal to dark blue.
pub fn ramp(util: f64) -> [u8; 3] {
    const STOPS: [(f64, [u8; 3]); 4] = [
        (0.0, [240, 249, 232]),
        (30.0, [168, 221, 181]),
        (65.0, [67, 162, 202]),
        (100.0, [8, 64, 129]),
    ];
    let u = if util.is_finite() {
        util.clamp(0.0, 100.0)
    } else {
        0.0
    };
    for pair in STOPS.windows(2) {
        let ((a, ca), (b, cb)) = (pair[0], pair[1]);
        if u <= b {
            let t = (u - a) / (b - a);
            let mix = |i: usize| f64::from(ca[i]) + (f64::from(cb[i]) - f64::from(ca[i])) * t;
            return [mix(0) as u8, mix(1) as u8, mix(2) as u8];
        }
    }
    STOPS[3].1
}

#[cfg(test)]
mod tests {
    use super::super::canvas::decode_png;
    use super::*;

    #[test]
    fn ramp_runs_from_pale_to_dark() {
        assert_eq!(ramp(0.0), [240, 249, 232]);
        assert_eq!(ramp(100.0), [8, 64, 129]);
        assert_eq!(ramp(250.0), ramp(100.0));
        assert_eq!(ramp(f64::NAN), ramp(0.0));
        let light = |c: [u8; 3]| u32::from(c[0]) + u32::from(c[1]) + u32::from(c[2]);
        assert!(light(ramp(20.0)) > light(ramp(50.0)));
        assert!(light(ramp(50.0)) > light(ramp(90.0)));
    }

    #[test]
    fn sizes_follow_rows_and_columns() {
        let (w, h) = size(3, 24);
        assert_eq!(w, LABEL_W + 24 * CELL_W + MARGIN);
        assert_eq!(h, HEADER_H + 3 * CELL_H + LEGEND_H);
        assert_eq!(size(0, 24), size(1, 24));
        assert_eq!(size(10_000, 24), size(MAX_ROWS, 24));
    }

    /// A heat map touching every drawing path: labels cut to width, a missing cell, a short
    /// row, the hour labels, and the legend.
    fn sample_map() -> HeatMap {
        let columns: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
        let rows = vec![
            HeatRow {
                label: "gpu-node-01.lab".to_owned(),
                cells: (0..24).map(|h| Some(f64::from(h) * 4.5)).collect(),
            },
            HeatRow {
                label: "Box_2:A/b+%".to_owned(),
                cells: vec![None, Some(100.0), Some(f64::NAN), Some(55.0)],
            },
        ];
        HeatMap { rows, columns }
    }

    /// FNV-1a: a fingerprint of the pixels that needs no extra crate.
    fn fingerprint(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }

    /// Moving the drawing primitives to the canvas module must not change a pixel:
    /// the fingerprints were taken from the heat map as drawn before the move.
    #[test]
    fn the_heat_map_is_drawn_exactly_as_before() {
        let map = sample_map();
        let (w, h, pixels) = decode_png(&render(&map, Lang::En).unwrap());
        assert_eq!((w, h), size(map.rows.len(), map.columns.len()));
        assert_eq!((w, h), (588, 78));
        assert_eq!(fingerprint(&pixels), 0x3bce_bdd3_32a1_cac5);

        let empty = HeatMap {
            rows: vec![],
            columns: vec![],
        };
        let (w, h, pixels) = decode_png(&render(&empty, Lang::En).unwrap());
        assert_eq!((w, h), size(0, 0));
        assert_eq!((w, h), (128, 64));
        assert_eq!(fingerprint(&pixels), 0x141f_a160_92d5_daa5);
    }

    /// The font has no Japanese: for a Japanese reader the legend keeps its colours and drops
    /// its words ("no data"), and nothing else in the picture changes.
    #[test]
    fn a_japanese_heat_map_drops_only_the_legend_words() {
        let map = sample_map();
        let (w, h, english) = decode_png(&render(&map, Lang::En).unwrap());
        let (_, _, japanese) = decode_png(&render(&map, Lang::Ja).unwrap());
        let legend_top = HEADER_H + map.rows.len() as u32 * CELL_H;
        let differing: Vec<(u32, u32)> = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let i = ((y * w + x) * 3) as usize;
                english[i..i + 3] != japanese[i..i + 3]
            })
            .collect();
        assert!(!differing.is_empty(), "the English legend has words");
        assert!(
            differing.iter().all(|&(_, y)| y >= legend_top),
            "a difference above the legend: {differing:?}"
        );
        let ink = |pixels: &[u8]| pixels.chunks(3).filter(|p| *p == INK).count();
        assert!(ink(&japanese) < ink(&english));
    }
}
