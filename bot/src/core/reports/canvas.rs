//! A tiny RGB drawing surface for the report charts: rectangles, lines, dots and text in a 3×5
//! bitmap font, encoded as PNG with the `png` crate. The charts are drawn pixel by pixel so the
//! bot needs no system fonts and no graphics stack; that is also why labels are ASCII only (the
//! font has lower-case letters, digits and the few signs host names, dates and amounts use).
//!
//! Every drawing call clips to the canvas, so callers may pass coordinates that fall off it
//! (a value far above the chart's scale, say) without checking them first.

use std::fmt;

/// An RGB colour.
pub type Rgb = [u8; 3];

/// Glyphs are 3×5 font pixels, each drawn as a `SCALE`×`SCALE` square so labels stay readable
/// once Slack shrinks the picture.
pub const SCALE: u32 = 2;
/// Width in canvas pixels of one drawn glyph.
pub const GLYPH_W: u32 = 3 * SCALE;
/// Height in canvas pixels of one drawn glyph.
pub const GLYPH_H: u32 = 5 * SCALE;
/// Distance between the left edges of two neighbouring glyphs: one font pixel apart.
pub const ADVANCE: u32 = GLYPH_W + SCALE;
/// Brushes and dots are capped at this size: a chart never needs more, and a mistaken huge
/// size would otherwise spin for minutes painting off-canvas pixels.
const MAX_BRUSH: u32 = 32;

/// Why a chart could not be turned into a PNG (the encoder's own message).
#[derive(Debug)]
pub struct ChartError(String);

impl fmt::Display for ChartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot encode the chart: {}", self.0)
    }
}

impl std::error::Error for ChartError {}

/// Width in pixels that `text` takes when drawn, from the first glyph's left edge to the last
/// one's right edge; callers use it to right-align or centre labels.
pub fn text_width(text: &str) -> u32 {
    let chars = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
    chars.saturating_mul(ADVANCE).saturating_sub(SCALE)
}

/// A picture being drawn: `width`×`height` RGB pixels, row by row from the top left.
pub struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    /// A canvas painted all over with `background`.
    pub fn new(width: u32, height: u32, background: Rgb) -> Self {
        let count = (width as usize).saturating_mul(height as usize);
        let mut pixels = Vec::with_capacity(count.saturating_mul(3));
        for _ in 0..count {
            pixels.extend_from_slice(&background);
        }
        Self {
            width,
            height,
            pixels,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The colour at `(x, y)`, or `None` off the canvas; lets tests look at what was drawn.
    pub fn pixel(&self, x: u32, y: u32) -> Option<Rgb> {
        let at = self.offset(i64::from(x), i64::from(y))?;
        let mut colour = [0; 3];
        colour.copy_from_slice(self.pixels.get(at..at + 3)?);
        Some(colour)
    }

    /// Byte offset of pixel `(x, y)`, or `None` off the canvas.
    fn offset(&self, x: i64, y: i64) -> Option<usize> {
        let x = u32::try_from(x).ok().filter(|x| *x < self.width)?;
        let y = u32::try_from(y).ok().filter(|y| *y < self.height)?;
        Some((y as usize * self.width as usize + x as usize) * 3)
    }

    /// Paints one pixel; signed so that shapes may run off the top or left edge.
    pub fn set(&mut self, x: i64, y: i64, colour: Rgb) {
        if let Some(at) = self.offset(x, y) {
            self.pixels[at..at + 3].copy_from_slice(&colour);
        }
    }

    /// Fills the `w`×`h` rectangle whose top left corner is `(x, y)`.
    pub fn fill_rect(&mut self, x: u32, y: u32, w: u32, h: u32, colour: Rgb) {
        let right = x.saturating_add(w).min(self.width);
        let bottom = y.saturating_add(h).min(self.height);
        for yy in y..bottom {
            let row = yy as usize * self.width as usize;
            for xx in x..right {
                let at = (row + xx as usize) * 3;
                self.pixels[at..at + 3].copy_from_slice(&colour);
            }
        }
    }

    /// A one-pixel horizontal line from `x0` to `x1` inclusive (in either order) on row `y`.
    pub fn hline(&mut self, x0: u32, x1: u32, y: u32, colour: Rgb) {
        let (left, right) = (x0.min(x1), x0.max(x1));
        self.fill_rect(left, y, (right - left).saturating_add(1), 1, colour);
    }

    /// A one-pixel vertical line from `y0` to `y1` inclusive (in either order) in column `x`.
    pub fn vline(&mut self, x: u32, y0: u32, y1: u32, colour: Rgb) {
        let (top, bottom) = (y0.min(y1), y0.max(y1));
        self.fill_rect(x, top, 1, (bottom - top).saturating_add(1), colour);
    }

    /// A straight line from `(x0, y0)` to `(x1, y1)` (Bresenham), drawn with a square brush
    /// `thickness` pixels wide whose top left corner follows the line.
    pub fn line(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, thickness: u32, colour: Rgb) {
        for (x, y) in self.clipped_points(x0, y0, x1, y1) {
            self.brush(x, y, thickness, colour);
        }
    }

    /// A dashed line: `dash` pixels drawn, `gap` pixels skipped, counted along the line.
    pub fn dashed_line(&mut self, from: (i64, i64), to: (i64, i64), style: Dash, colour: Rgb) {
        self.dashed_polyline(&[from, to], style, colour);
    }

    /// A dashed line through `points` in turn; the dash pattern runs on across the corners, so
    /// short segments (a week of forecast apiece) do not each restart with a dash.
    pub fn dashed_polyline(&mut self, points: &[(i64, i64)], style: Dash, colour: Rgb) {
        let period = style.dash.saturating_add(style.gap).max(1);
        let mut walked: u32 = 0;
        for (index, pair) in points.windows(2).enumerate() {
            let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
            // A corner belongs to the segment before it; walking it twice would shift the
            // pattern by a pixel at every corner.
            let corner = usize::from(index > 0);
            for (x, y) in self.clipped_points(x0, y0, x1, y1).skip(corner) {
                if walked % period < style.dash {
                    self.brush(x, y, style.thickness, colour);
                }
                walked = walked.wrapping_add(1);
            }
        }
    }

    /// A filled disc of `radius` pixels centred on `(cx, cy)`: the dot marking a data point.
    pub fn disc(&mut self, cx: i64, cy: i64, radius: u32, colour: Rgb) {
        let r = i64::from(radius.min(MAX_BRUSH));
        for dy in -r..=r {
            for dx in -r..=r {
                if dx * dx + dy * dy <= r * r + r {
                    self.set(cx.saturating_add(dx), cy.saturating_add(dy), colour);
                }
            }
        }
    }

    /// Draws `text` with its top left corner at `(x, y)`. Upper case is drawn as lower case;
    /// a character the font lacks is drawn as a small box, so it shows rather than vanishes.
    pub fn text(&mut self, x: u32, y: u32, text: &str, colour: Rgb) {
        let mut left = x;
        for ch in text.chars() {
            for (ry, bits) in (0u32..).zip(glyph(ch)) {
                for rx in 0..3u32 {
                    if bits & (0b100 >> rx) != 0 {
                        self.fill_rect(
                            left.saturating_add(rx * SCALE),
                            y.saturating_add(ry * SCALE),
                            SCALE,
                            SCALE,
                            colour,
                        );
                    }
                }
            }
            left = left.saturating_add(ADVANCE);
        }
    }

    /// The picture as an 8-bit RGB PNG.
    pub fn encode(&self) -> Result<Vec<u8>, ChartError> {
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

    /// Paints a `thickness`×`thickness` square at `(x, y)` (at least one pixel).
    fn brush(&mut self, x: i64, y: i64, thickness: u32, colour: Rgb) {
        let size = i64::from(thickness.clamp(1, MAX_BRUSH));
        for dy in 0..size {
            for dx in 0..size {
                self.set(x.saturating_add(dx), y.saturating_add(dy), colour);
            }
        }
    }

    /// The pixels of the line from `(x0, y0)` to `(x1, y1)` that fall on the canvas. The line
    /// is clipped first, so a far-off end costs nothing and cannot overflow the arithmetic.
    fn clipped_points(&self, x0: i64, y0: i64, x1: i64, y1: i64) -> Bresenham {
        let right = f64::from(self.width) - 1.0;
        let bottom = f64::from(self.height) - 1.0;
        match clip(
            (x0 as f64, y0 as f64),
            (x1 as f64, y1 as f64),
            (right, bottom),
        ) {
            Some(((ax, ay), (bx, by))) => Bresenham::new(
                ax.round() as i64,
                ay.round() as i64,
                bx.round() as i64,
                by.round() as i64,
            ),
            None => Bresenham::empty(),
        }
    }
}

/// How a dashed line is drawn: `dash` pixels on, `gap` pixels off, with a square brush
/// `thickness` pixels wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dash {
    /// Pixels drawn in each dash.
    pub dash: u32,
    /// Pixels left out between dashes.
    pub gap: u32,
    /// Brush width in pixels.
    pub thickness: u32,
}

/// Cohen–Sutherland clipping of the segment `a`–`b` to the rectangle `[0, right]×[0, bottom]`:
/// the part of the segment inside, or `None` when it misses the rectangle. An end outside is
/// moved onto the edge it lies beyond, its other coordinate found from the slope, so a short
/// visible part of a very long line keeps its position to the pixel.
fn clip(a: (f64, f64), b: (f64, f64), (right, bottom): (f64, f64)) -> Option<ClippedSegment> {
    const LEFT: u8 = 1;
    const RIGHT: u8 = 2;
    const ABOVE: u8 = 4;
    const BELOW: u8 = 8;
    let outcode = |(x, y): (f64, f64)| {
        let mut code = 0;
        if x < 0.0 {
            code |= LEFT;
        } else if x > right {
            code |= RIGHT;
        }
        if y < 0.0 {
            code |= ABOVE;
        } else if y > bottom {
            code |= BELOW;
        }
        code
    };
    if right < 0.0 || bottom < 0.0 {
        return None;
    }
    let (mut a, mut b) = (a, b);
    // Each round moves one end onto an edge; four edges per end is the most it can take.
    for _ in 0..8 {
        let (code_a, code_b) = (outcode(a), outcode(b));
        if code_a | code_b == 0 {
            return Some((a, b));
        }
        if code_a & code_b != 0 {
            return None;
        }
        let code = if code_a != 0 { code_a } else { code_b };
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        // The divisions cannot be by zero: an end beyond an edge with the other end level
        // with it would have both ends beyond that edge, rejected above.
        let moved = if code & BELOW != 0 {
            (a.0 + dx * (bottom - a.1) / dy, bottom)
        } else if code & ABOVE != 0 {
            (a.0 + dx * (0.0 - a.1) / dy, 0.0)
        } else if code & RIGHT != 0 {
            (right, a.1 + dy * (right - a.0) / dx)
        } else {
            (0.0, a.1 + dy * (0.0 - a.0) / dx)
        };
        if code == code_a {
            a = moved;
        } else {
            b = moved;
        }
    }
    None
}

/// The two ends of a clipped segment.
type ClippedSegment = ((f64, f64), (f64, f64));

/// The pixels of a straight line, one end to the other (Bresenham's integer algorithm).
struct Bresenham {
    x: i64,
    y: i64,
    end_x: i64,
    end_y: i64,
    dx: i64,
    dy: i64,
    step_x: i64,
    step_y: i64,
    error: i64,
    done: bool,
}

impl Bresenham {
    fn new(x0: i64, y0: i64, x1: i64, y1: i64) -> Self {
        let dx = (x1 - x0).abs();
        let dy = -(y1 - y0).abs();
        Self {
            x: x0,
            y: y0,
            end_x: x1,
            end_y: y1,
            dx,
            dy,
            step_x: if x0 < x1 { 1 } else { -1 },
            step_y: if y0 < y1 { 1 } else { -1 },
            error: dx + dy,
            done: false,
        }
    }

    fn empty() -> Self {
        let mut line = Self::new(0, 0, 0, 0);
        line.done = true;
        line
    }
}

impl Iterator for Bresenham {
    type Item = (i64, i64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let here = (self.x, self.y);
        if self.x == self.end_x && self.y == self.end_y {
            self.done = true;
        } else {
            let doubled = 2 * self.error;
            if doubled >= self.dy {
                self.error += self.dy;
                self.x += self.step_x;
            }
            if doubled <= self.dx {
                self.error += self.dx;
                self.y += self.step_y;
            }
        }
        Some(here)
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

/// Decodes a PNG drawn here into its width, height and RGB pixels, for the charts' tests.
#[cfg(test)]
pub(crate) fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHITE: Rgb = [255, 255, 255];
    const BLACK: Rgb = [0, 0, 0];

    fn inked(canvas: &Canvas) -> Vec<(u32, u32)> {
        let mut found = Vec::new();
        for y in 0..canvas.height() {
            for x in 0..canvas.width() {
                if canvas.pixel(x, y) != Some(WHITE) {
                    found.push((x, y));
                }
            }
        }
        found
    }

    #[test]
    fn a_line_runs_from_end_to_end_one_pixel_per_column() {
        let mut canvas = Canvas::new(20, 10, WHITE);
        canvas.line(2, 1, 12, 6, 1, BLACK);
        let pixels = inked(&canvas);
        assert!(pixels.contains(&(2, 1)) && pixels.contains(&(12, 6)));
        // A shallow line has exactly one pixel in each column it crosses.
        assert_eq!(pixels.len(), 11);
        for x in 2..=12 {
            assert_eq!(pixels.iter().filter(|p| p.0 == x).count(), 1, "column {x}");
        }
    }

    #[test]
    fn lines_off_the_canvas_are_clipped_not_walked() {
        let mut canvas = Canvas::new(30, 20, WHITE);
        // Walking these pixel by pixel would take hours; clipped they are a few dozen.
        canvas.line(i64::MIN / 2, 10, i64::MAX / 2, 10, 2, BLACK);
        canvas.line(-1_000_000_000, -1_000_000_000, 5, 5, 1, BLACK);
        canvas.line(100, 100, 200, 300, 1, BLACK);
        let pixels = inked(&canvas);
        assert!((0..30).all(|x| pixels.contains(&(x, 10)) && pixels.contains(&(x, 11))));
        assert!(pixels.contains(&(0, 0)) && pixels.contains(&(5, 5)));
        canvas.dashed_line(
            (-5, -5),
            (i64::MAX, i64::MAX),
            Dash {
                dash: 3,
                gap: 2,
                thickness: 1,
            },
            BLACK,
        );
    }

    #[test]
    fn a_dashed_line_leaves_gaps_and_keeps_its_rhythm_across_corners() {
        let mut canvas = Canvas::new(40, 5, WHITE);
        let style = Dash {
            dash: 3,
            gap: 2,
            thickness: 1,
        };
        canvas.dashed_polyline(&[(0, 2), (9, 2), (19, 2)], style, BLACK);
        let drawn: Vec<u32> = inked(&canvas).iter().map(|p| p.0).collect();
        assert_eq!(drawn, [0, 1, 2, 5, 6, 7, 10, 11, 12, 15, 16, 17]);
    }

    #[test]
    fn rectangles_and_dots_stay_on_the_canvas() {
        let mut canvas = Canvas::new(10, 10, WHITE);
        canvas.fill_rect(8, 8, u32::MAX, u32::MAX, BLACK);
        canvas.hline(0, u32::MAX, 0, BLACK);
        canvas.vline(u32::MAX, 0, u32::MAX, BLACK);
        assert_eq!(canvas.pixel(9, 9), Some(BLACK));
        assert_eq!(canvas.pixel(7, 9), Some(WHITE));
        assert_eq!(canvas.pixel(10, 9), None);
        assert!((0..10).all(|x| canvas.pixel(x, 0) == Some(BLACK)));
        assert_eq!(inked(&canvas).len(), 4 + 10);

        let mut canvas = Canvas::new(10, 10, WHITE);
        canvas.disc(0, 9, 2, BLACK);
        assert_eq!(canvas.pixel(0, 9), Some(BLACK));
        assert_eq!(canvas.pixel(2, 9), Some(BLACK));
        assert_eq!(canvas.pixel(2, 7), Some(WHITE));
        canvas.disc(5, 5, u32::MAX, BLACK);
        assert_eq!(inked(&canvas).len(), 100);
    }

    #[test]
    fn text_is_drawn_in_the_bitmap_font_and_measured() {
        assert_eq!(text_width(""), 0);
        assert_eq!(text_width("a"), GLYPH_W);
        assert_eq!(text_width("2026-06"), 7 * ADVANCE - SCALE);
        let mut canvas = Canvas::new(40, 12, WHITE);
        canvas.text(1, 1, "L1", BLACK);
        // "l" is a vertical bar down the left with a foot: its top left font pixel is inked.
        assert_eq!(canvas.pixel(1, 1), Some(BLACK));
        assert_eq!(canvas.pixel(1 + 2 * SCALE, 1), Some(WHITE));
        let pixels = inked(&canvas);
        let right = pixels.iter().map(|p| p.0).max().unwrap();
        assert_eq!(right + 1, 1 + text_width("L1"));
    }

    #[test]
    fn the_png_holds_the_pixels_drawn() {
        let mut canvas = Canvas::new(7, 3, WHITE);
        canvas.set(6, 2, [1, 2, 3]);
        canvas.set(-1, 0, BLACK);
        let (w, h, pixels) = decode_png(&canvas.encode().unwrap());
        assert_eq!((w, h), (7, 3));
        assert_eq!(pixels.len(), 7 * 3 * 3);
        assert_eq!(pixels[pixels.len() - 3..], [1, 2, 3]);
        assert!(pixels[..pixels.len() - 3].iter().all(|b| *b == 255));
        assert!(Canvas::new(0, 0, WHITE).encode().is_err());
    }
}
