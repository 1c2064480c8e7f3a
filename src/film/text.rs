//! Text for annotations: fonts, single-line setting (kerning, no shaping), fitting by
//! shrinking then cutting with an ellipsis, and drawing glyph coverage into a page buffer.
//!
//! The default font is DejaVu Sans, embedded from the `dejavu` crate; it covers Latin
//! (Latin-1 and Latin Extended), Greek and Cyrillic. Fonts from the fonts directory are
//! installed once at start ([`install`]) and are named by their file stem. A character
//! the chosen font lacks is taken from DejaVu Sans when it has it. Outlines become
//! coverage with `ab_glyph`; the text is blended into the page with its coverage as alpha.

use super::annotation::DEFAULT_FONT;
use ab_glyph::{Font, FontArc, Glyph, GlyphId, PxScale, ScaleFont, point};
use std::sync::OnceLock;

/// The fonts annotation text can be set in: the embedded default and the administrator's.
#[derive(Clone)]
pub struct FontBook {
    /// (name, font); the embedded default is always last.
    fonts: Vec<(String, FontArc)>,
}

impl std::fmt::Debug for FontBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Default for FontBook {
    fn default() -> Self {
        let dejavu = FontArc::try_from_slice(dejavu::sans::regular())
            .expect("the embedded DejaVu Sans parses (tested)");
        FontBook {
            fonts: vec![(DEFAULT_FONT.to_string(), dejavu)],
        }
    }
}

impl FontBook {
    /// Adds a font from its file bytes under `name`; a name already taken is replaced, so an
    /// administrator's font may stand in for the embedded one.
    pub fn add(&mut self, name: &str, bytes: Vec<u8>) -> Result<(), ab_glyph::InvalidFont> {
        let font = FontArc::try_from_vec(bytes)?;
        self.fonts.retain(|(n, _)| n != name || n == DEFAULT_FONT);
        if name == DEFAULT_FONT {
            let last = self.fonts.len() - 1;
            self.fonts[last].1 = font;
        } else {
            self.fonts.insert(0, (name.to_string(), font));
        }
        Ok(())
    }

    /// Names of the fonts, the embedded default last.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fonts.iter().map(|(n, _)| n.as_str())
    }

    /// Whether a font of this name is installed.
    pub fn contains(&self, name: &str) -> bool {
        self.fonts.iter().any(|(n, _)| n == name)
    }

    /// The font of this name, or the embedded default.
    fn index(&self, name: &str) -> usize {
        self.fonts
            .iter()
            .position(|(n, _)| n == name)
            .unwrap_or(self.fonts.len() - 1)
    }

    fn font(&self, index: usize) -> &FontArc {
        &self.fonts[index].1
    }
}

static INSTALLED: OnceLock<FontBook> = OnceLock::new();

/// Makes `book` the fonts of this process; called once at start, before any composition.
/// Returns false if fonts were already in use.
pub fn install(book: FontBook) -> bool {
    INSTALLED.set(book).is_ok()
}

/// The installed fonts, or the embedded default alone.
pub fn fonts() -> &'static FontBook {
    INSTALLED.get_or_init(FontBook::default)
}

/// The `ab_glyph` scale of a font for an em of `em_px` pixels (PxScale counts ascent to
/// descent, not the em).
fn px_scale(font: &FontArc, em_px: f32) -> PxScale {
    let units = font.units_per_em().unwrap_or(1000.0);
    PxScale::from(em_px * font.height_unscaled() / units)
}

/// Vertical metrics of a font at an em size, in pixels: (ascent, descent below the baseline
/// as a positive number).
pub fn line_metrics(book: &FontBook, font: &str, em_px: f32) -> (f32, f32) {
    let f = book.font(book.index(font));
    let scaled = f.as_scaled(px_scale(f, em_px));
    (scaled.ascent(), -scaled.descent())
}

/// A line of text set in a font at a size: glyphs placed along a baseline at y = 0.
#[derive(Debug, Clone)]
pub struct SetLine {
    /// (font index in the book, glyph) in order.
    glyphs: Vec<(usize, Glyph)>,
    /// Advance width, pixels.
    pub width: f32,
    pub em_px: f32,
    /// The characters set (after any cut).
    pub text: String,
}

/// Sets `text` on one line: each character from `font` or, when that font lacks it, from
/// the embedded default; kerning between neighbours of the same font.
pub fn set_line(book: &FontBook, font: &str, text: &str, em_px: f32) -> SetLine {
    let primary = book.index(font);
    let fallback = book.fonts.len() - 1;
    let mut glyphs = Vec::with_capacity(text.len());
    let mut caret = 0.0f32;
    let mut previous: Option<(usize, GlyphId)> = None;
    for c in text.chars() {
        let mut index = primary;
        let mut id = book.font(primary).glyph_id(c);
        if id.0 == 0 && fallback != primary {
            let alt = book.font(fallback).glyph_id(c);
            if alt.0 != 0 {
                (index, id) = (fallback, alt);
            }
        }
        let f = book.font(index);
        let scaled = f.as_scaled(px_scale(f, em_px));
        if let Some((pi, pid)) = previous
            && pi == index
        {
            caret += scaled.kern(pid, id);
        }
        glyphs.push((
            index,
            id.with_scale_and_position(scaled.scale(), point(caret, 0.0)),
        ));
        caret += scaled.h_advance(id);
        previous = Some((index, id));
    }
    SetLine {
        glyphs,
        width: caret,
        em_px,
        text: text.to_string(),
    }
}

/// Sets `text` to fit `max_width` pixels: at `em_px` if it fits, else shrunk as needed
/// down to `min_em_px`, else at `min_em_px` cut at the end with "…". `None` when not even
/// the ellipsis fits.
pub fn fit_line(
    book: &FontBook,
    font: &str,
    text: &str,
    em_px: f32,
    min_em_px: f32,
    max_width: f32,
) -> Option<SetLine> {
    let min_em_px = min_em_px.min(em_px);
    let line = set_line(book, font, text, em_px);
    if line.width <= max_width {
        return Some(line);
    }
    // Advance widths scale with the size: one step lands on the size that fits, give or
    // take rounding, which the loop absorbs.
    let mut em = (em_px * max_width / line.width).min(em_px * 0.999);
    while em > min_em_px {
        let line = set_line(book, font, text, em);
        if line.width <= max_width {
            return Some(line);
        }
        em *= 0.98;
    }
    let at_min = set_line(book, font, text, min_em_px);
    if at_min.width <= max_width {
        return Some(at_min);
    }
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len()).rev().find_map(|keep| {
        let cut: String = chars[..keep]
            .iter()
            .collect::<String>()
            .trim_end()
            .to_string()
            + "…";
        let line = set_line(book, font, &cut, min_em_px);
        (line.width <= max_width).then_some(line)
    })
}

/// A page buffer to draw into: rows of `width` pixels of `channels` bytes (0 = black).
pub struct Raster<'a> {
    pub pixels: &'a mut [u8],
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    /// The page row of the buffer's first row: a strip of a page is drawn in page
    /// coordinates, so that glyphs cut by a strip boundary rasterise as on the whole page.
    pub first_row: usize,
}

/// A pixel rectangle (x0, y0, x1, y1), x1/y1 exclusive.
pub type Bounds = (usize, usize, usize, usize);

/// Draws `line` with its baseline origin at (x, y), blending `ink` into the page by glyph
/// coverage. Nothing is drawn outside `clip`.
pub fn draw_line(
    book: &FontBook,
    line: &SetLine,
    (x, y): (f32, f32),
    clip: Bounds,
    ink: u8,
    raster: &mut Raster,
) {
    let clip = (
        clip.0,
        clip.1.max(raster.first_row),
        clip.2.min(raster.width),
        clip.3.min(raster.first_row + raster.height),
    );
    let c = raster.channels;
    for (index, glyph) in &line.glyphs {
        let mut glyph = glyph.clone();
        glyph.position = point(glyph.position.x + x, glyph.position.y + y);
        let Some(outlined) = book.font(*index).outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        let (gx, gy) = (bounds.min.x as i64, bounds.min.y as i64);
        outlined.draw(|dx, dy, coverage| {
            let (px, py) = (gx + i64::from(dx), gy + i64::from(dy));
            if px < clip.0 as i64
                || py < clip.1 as i64
                || px >= clip.2 as i64
                || py >= clip.3 as i64
            {
                return;
            }
            let alpha = coverage.clamp(0.0, 1.0);
            if alpha <= 0.0 {
                return;
            }
            let at = ((py as usize - raster.first_row) * raster.width + px as usize) * c;
            for v in &mut raster.pixels[at..at + c] {
                let blended = f32::from(*v) + (f32::from(ink) - f32::from(*v)) * alpha;
                *v = blended.round().clamp(0.0, 255.0) as u8;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> FontBook {
        FontBook::default()
    }

    #[test]
    fn dejavu_has_a_glyph_with_coverage_for_every_latin1_letter() {
        let book = book();
        let latin1 = (0x21u32..=0x7e)
            .chain(0xa1..=0xff)
            .filter_map(char::from_u32)
            .filter(|&c| c != '\u{ad}');
        for c in latin1.chain("Ωµ…ŁőЖ".chars()) {
            let line = set_line(&book, DEFAULT_FONT, &c.to_string(), 40.0);
            let (index, glyph) = &line.glyphs[0];
            assert_ne!(glyph.id.0, 0, "{c:?} has no glyph");
            let outlined = book
                .font(*index)
                .outline_glyph(glyph.clone())
                .unwrap_or_else(|| panic!("{c:?} has no outline"));
            let mut ink = 0.0;
            outlined.draw(|_, _, v| ink += v);
            assert!(ink > 1.0, "{c:?} covers nothing");
        }
    }

    #[test]
    fn a_line_fits_as_is_when_it_can() {
        let book = book();
        let wide = set_line(&book, DEFAULT_FONT, "Müller^Jürgen", 40.0);
        let fit = fit_line(
            &book,
            DEFAULT_FONT,
            "Müller^Jürgen",
            40.0,
            20.0,
            wide.width + 1.0,
        )
        .unwrap();
        assert_eq!((fit.em_px, fit.text.as_str()), (40.0, "Müller^Jürgen"));
    }

    #[test]
    fn too_wide_text_shrinks_before_it_is_cut() {
        let book = book();
        let full = set_line(&book, DEFAULT_FONT, "ABCDEFGHIJ", 40.0);
        let fit = fit_line(
            &book,
            DEFAULT_FONT,
            "ABCDEFGHIJ",
            40.0,
            20.0,
            full.width * 0.75,
        )
        .unwrap();
        assert_eq!(fit.text, "ABCDEFGHIJ", "shrunk, not cut");
        assert!(fit.em_px < 40.0 && fit.em_px > 28.0, "{}", fit.em_px);
        assert!(fit.width <= full.width * 0.75);
    }

    #[test]
    fn text_too_wide_at_the_minimum_size_is_cut_with_an_ellipsis() {
        let book = book();
        let full = set_line(&book, DEFAULT_FONT, "ABCDEFGHIJ", 40.0);
        let max = full.width * 0.3;
        let fit = fit_line(&book, DEFAULT_FONT, "ABCDEFGHIJ", 40.0, 20.0, max).unwrap();
        assert_eq!(fit.em_px, 20.0, "at the minimum size");
        assert!(
            fit.text.ends_with('…') && fit.text.starts_with("ABC"),
            "{}",
            fit.text
        );
        assert!(fit.width <= max);
        // One character more would not fit.
        let kept = fit.text.chars().count() - 1;
        let longer: String = "ABCDEFGHIJ".chars().take(kept + 1).collect::<String>() + "…";
        assert!(set_line(&book, DEFAULT_FONT, &longer, 20.0).width > max);
        assert!(
            fit_line(&book, DEFAULT_FONT, "ABCDEFGHIJ", 40.0, 20.0, 1.0).is_none(),
            "not even the ellipsis fits"
        );
    }

    #[test]
    fn kerning_applies_between_neighbours() {
        let book = book();
        let pair = set_line(&book, DEFAULT_FONT, "AV", 100.0).width;
        let apart = set_line(&book, DEFAULT_FONT, "A", 100.0).width
            + set_line(&book, DEFAULT_FONT, "V", 100.0).width;
        assert!(pair < apart, "{pair} vs {apart}");
    }

    #[test]
    fn drawing_blends_ink_and_stays_inside_the_clip() {
        let book = book();
        let (w, h) = (200usize, 60usize);
        let mut pixels = vec![200u8; w * h * 3];
        let line = set_line(&book, DEFAULT_FONT, "WWWWWWWWWWWW", 40.0);
        let clip = (20, 10, 120, 40);
        let mut raster = Raster {
            pixels: &mut pixels,
            width: w,
            height: h,
            channels: 3,
            first_row: 0,
        };
        // The line is wider and taller than the clip and starts left of it.
        draw_line(&book, &line, (0.0, 45.0), clip, 0, &mut raster);
        let mut inked = 0;
        for y in 0..h {
            for x in 0..w {
                let p = &pixels[(y * w + x) * 3..(y * w + x) * 3 + 3];
                assert!(p[0] == p[1] && p[1] == p[2], "gray ink stays neutral");
                let inside = x >= clip.0 && x < clip.2 && y >= clip.1 && y < clip.3;
                if p[0] != 200 {
                    assert!(inside, "ink at ({x}, {y}) outside the clip");
                    inked += 1;
                }
            }
        }
        assert!(inked > 500, "{inked}");
        assert!(pixels.contains(&0), "full coverage reaches the ink value");
    }

    #[test]
    fn an_added_font_is_found_by_name_and_can_replace_the_default() {
        let mut book = book();
        book.add("Sans Copy", dejavu::sans::bold().to_vec())
            .unwrap();
        assert_eq!(
            book.names().collect::<Vec<_>>(),
            ["Sans Copy", DEFAULT_FONT]
        );
        let bold = set_line(&book, "Sans Copy", "MMMM", 40.0).width;
        let regular = set_line(&book, DEFAULT_FONT, "MMMM", 40.0).width;
        assert!(bold > regular, "the bold face is wider");
        book.add(DEFAULT_FONT, dejavu::sans::bold().to_vec())
            .unwrap();
        assert_eq!(set_line(&book, DEFAULT_FONT, "MMMM", 40.0).width, bold);
        assert!(book.add("broken", vec![1, 2, 3]).is_err());
    }
}
