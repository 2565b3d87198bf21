//! The daily report's heat map: one row per host, one column per hour, each cell coloured by
//! the hour's average GPU utilisation. Drawn pixel by pixel and encoded with the `png` crate, so
//! it needs no system fonts and no graphics stack; host names and hours are drawn with the tiny
//! 3×5 bitmap font below (lower-case letters, digits and the few signs host names use).

use std::fmt;

/// Pixel size of one hour cell.
pub const CELL_W: u32 = 20;
pub const CELL_H: u32 = 14;
/// Glyphs are 3×5, drawn at this scale, one scaled pixel apart.
const SCALE: u32 = 2;
const GLYPH_W: u32 = 3 * SCALE;
const GLYPH_H: u32 = 5 * SCALE;
const ADVANCE: u32 = GLYPH_W + SCALE;
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

#[derive(Debug)]
pub struct ChartError(String);

impl fmt::Display for ChartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot encode the chart: {}", self.0)
    }
}

impl std::error::Error for ChartError {}

/// Width and height in pixels of the chart for `rows` hosts and `columns` hours.
pub fn size(rows: usize, columns: usize) -> (u32, u32) {
    let rows = rows.clamp(1, MAX_ROWS) as u32;
    let columns = columns.max(1) as u32;
    let width = LABEL_W + columns * CELL_W + MARGIN;
    let height = HEADER_H + rows * CELL_H + LEGEND_H;
    (width, height)
}

/// Renders the heat map as an RGB PNG.
pub fn render(map: &HeatMap) -> Result<Vec<u8>, ChartError> {
    let mut rows: Vec<HeatRow> = map.rows.clone();
    if rows.len() > MAX_ROWS {
        let hidden = rows.len() - (MAX_ROWS - 1);
        rows.truncate(MAX_ROWS - 1);
        rows.push(HeatRow {
            label: format!("+{hidden} more"),
            cells: vec![None; map.columns.len()],
        });
    }
    if rows.is_empty() {
        rows.push(HeatRow {
            label: "no hosts".to_owned(),
            cells: vec![None; map.columns.len()],
        });
    }
    let columns = map.columns.len().max(1);
    let (width, height) = size(rows.len(), columns);
    let mut canvas = Canvas::new(width, height);

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
            canvas.fill(x, y, CELL_W, CELL_H, GRID);
            canvas.fill(x + 1, y + 1, CELL_W - 2, CELL_H - 2, colour);
        }
    }

    let legend_y = HEADER_H + rows.len() as u32 * CELL_H + MARGIN;
    let mut x = LABEL_W;
    canvas.text(x, legend_y, "0%", INK);
    x += 3 * ADVANCE;
    let ramp_w = 100;
    for i in 0..ramp_w {
        canvas.fill(x + i, legend_y, 1, GLYPH_H, ramp(f64::from(i)));
    }
    x += ramp_w + SCALE * 2;
    canvas.text(x, legend_y, "100%", INK);
    x += 5 * ADVANCE;
    canvas.fill(x, legend_y, GLYPH_H, GLYPH_H, NO_DATA);
    canvas.text(x + GLYPH_H + SCALE * 2, legend_y, "no data", INK);

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

struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Self {
        let mut pixels = Vec::with_capacity((width * height * 3) as usize);
        for _ in 0..width * height {
            pixels.extend_from_slice(&BACKGROUND);
        }
        Self {
            width,
            height,
            pixels,
        }
    }

    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32, colour: [u8; 3]) {
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                let at = ((yy * self.width + xx) * 3) as usize;
                self.pixels[at..at + 3].copy_from_slice(&colour);
            }
        }
    }

    fn text(&mut self, x: u32, y: u32, text: &str, colour: [u8; 3]) {
        for (i, ch) in text.chars().enumerate() {
            let gx = x + i as u32 * ADVANCE;
            let rows = glyph(ch);
            for (ry, bits) in rows.iter().enumerate() {
                for rx in 0..3u32 {
                    if bits & (0b100 >> rx) != 0 {
                        self.fill(gx + rx * SCALE, y + ry as u32 * SCALE, SCALE, SCALE, colour);
                    }
                }
            }
        }
    }

    fn encode(self) -> Result<Vec<u8>, ChartError> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            encoder.set_compression(png::Compression::Fast);
            let mut writer = encoder
                .write_header()
                .map_err(|e| ChartError(e.to_string()))?;
            writer
                .write_image_data(&self.pixels)
                .map_err(|e| ChartError(e.to_string()))?;
            writer.finish().map_err(|e| ChartError(e.to_string()))?;
        }
        Ok(out)
    }
}

/// A 3×5 glyph: five rows, the three low bits of each are the pixels, left to right.
/// Upper case is drawn as lower case; anything unknown is a small box.
fn glyph(ch: char) -> [u8; 5] {
    match ch.to_ascii_lowercase() {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        'a' => [0b010, 0b101, 0b111, 0b101, 0b101],
        'b' => [0b110, 0b101, 0b110, 0b101, 0b110],
        'c' => [0b011, 0b100, 0b100, 0b100, 0b011],
        'd' => [0b110, 0b101, 0b101, 0b101, 0b110],
        'e' => [0b111, 0b100, 0b110, 0b100, 0b111],
        'f' => [0b111, 0b100, 0b110, 0b100, 0b100],
        'g' => [0b011, 0b100, 0b101, 0b101, 0b011],
        'h' => [0b101, 0b101, 0b111, 0b101, 0b101],
        'i' => [0b111, 0b010, 0b010, 0b010, 0b111],
        'j' => [0b001, 0b001, 0b001, 0b101, 0b010],
        'k' => [0b101, 0b101, 0b110, 0b101, 0b101],
        'l' => [0b100, 0b100, 0b100, 0b100, 0b111],
        'm' => [0b101, 0b111, 0b111, 0b101, 0b101],
        'n' => [0b110, 0b101, 0b101, 0b101, 0b101],
        'o' => [0b010, 0b101, 0b101, 0b101, 0b010],
        'p' => [0b110, 0b101, 0b110, 0b100, 0b100],
        'q' => [0b010, 0b101, 0b101, 0b110, 0b011],
        'r' => [0b110, 0b101, 0b110, 0b101, 0b101],
        's' => [0b011, 0b100, 0b010, 0b001, 0b110],
        't' => [0b111, 0b010, 0b010, 0b010, 0b010],
        'u' => [0b101, 0b101, 0b101, 0b101, 0b111],
        'v' => [0b101, 0b101, 0b101, 0b101, 0b010],
        'w' => [0b101, 0b101, 0b111, 0b111, 0b101],
        'x' => [0b101, 0b101, 0b010, 0b101, 0b101],
        'y' => [0b101, 0b101, 0b010, 0b010, 0b010],
        'z' => [0b111, 0b001, 0b010, 0b100, 0b111],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        '.' => [0b000, 0b000, 0b000, 0b000, 0b010],
        '_' => [0b000, 0b000, 0b000, 0b000, 0b111],
        ':' => [0b000, 0b010, 0b000, 0b010, 0b000],
        '+' => [0b000, 0b010, 0b111, 0b010, 0b000],
        '%' => [0b101, 0b001, 0b010, 0b100, 0b101],
        '/' => [0b001, 0b001, 0b010, 0b100, 0b100],
        ' ' => [0; 5],
        _ => [0b111, 0b101, 0b101, 0b101, 0b111],
    }
}

#[cfg(test)]
mod tests {
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
}
