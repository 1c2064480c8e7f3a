//! Annotation bands: space for annotation text reserved from the printable area before the
//! image boxes are laid out, and the text burned into it after the images are drawn.
//!
//! A film with annotations gets a band along the top and/or the bottom of its printable
//! area, one for each edge its format uses, whether or not the SCU set every text: films of
//! one format keep one geometry. A band is as tall as its tallest column of lines plus its
//! padding above and below; the image boxes share what is left, so text never covers an
//! image. Inside a band, the positions aligned left, center and right each get a slot: the
//! whole width when the band holds one alignment, halves for left and right, thirds when
//! center is among several. Positions with the same edge and alignment stack as lines, in
//! position order, from the film's edge inwards.
//!
//! Text colour: the band shows Border Density (2010,0100). Text is printed with the
//! darkest device value (0, the queue's Max Density) when the border is light (device
//! value 128 or more), and with the lightest (255, paper white or clear base) when it is
//! dark, so it reads on BLACK, WHITE and any density in between.

use super::annotation::{Align, Annotation, Edge};
use super::density::area_gray;
use super::layout::Rect;
use super::model::{Device, Film};
use super::text::{self, Bounds, Raster};
use std::collections::BTreeSet;

use super::size::MM_PER_INCH;

/// Where the annotations of a film go and what is left for its image boxes.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    /// The printable area less the bands: the image boxes are laid out in it.
    pub image_area: Rect,
    /// One line per annotation, in the order of the film's annotations.
    pub lines: Vec<Line>,
}

/// The place of one annotation's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Index into the film's annotations.
    pub annotation: usize,
    /// The band the line belongs to.
    pub band: Bounds,
    /// The line's own box inside its band; the text is drawn inside it only.
    pub bounds: Bounds,
    /// Font size and smallest size, pixels per em.
    pub em_px: f32,
    pub min_em_px: f32,
}

/// Reserves the bands of `film`'s annotations from the printable `area` at `dpi`.
pub fn reserve(film: &Film, dpi: u32, area: Rect) -> Bands {
    let mut bands = Bands {
        image_area: area,
        lines: Vec::new(),
    };
    if film.annotations.is_empty() {
        return bands;
    }
    let px_per_mm = f64::from(dpi) / MM_PER_INCH;
    let book = text::fonts();
    // Each line is as tall as its font's ascent + descent at its size.
    let heights: Vec<f64> = film
        .annotations
        .iter()
        .map(|a| {
            let em = (a.placement.size_mm * px_per_mm) as f32;
            let (ascent, descent) = text::line_metrics(book, &a.placement.font, em);
            f64::from(ascent + descent).ceil()
        })
        .collect();
    for edge in [Edge::Top, Edge::Bottom] {
        let members: Vec<(usize, &Annotation)> = film
            .annotations
            .iter()
            .enumerate()
            .filter(|(_, a)| a.placement.edge == edge)
            .collect();
        if members.is_empty() {
            continue;
        }
        let pad = (members
            .iter()
            .map(|(_, a)| a.placement.padding_mm)
            .fold(0.0, f64::max)
            * px_per_mm)
            .round();
        let aligns: BTreeSet<Align> = members.iter().map(|(_, a)| a.placement.align).collect();
        let column_height = |align: Align| {
            members
                .iter()
                .filter(|(_, a)| a.placement.align == align)
                .map(|(i, _)| heights[*i])
                .sum::<f64>()
        };
        let content = aligns
            .iter()
            .map(|&al| column_height(al))
            .fold(0.0, f64::max);
        let image = &mut bands.image_area;
        let height = (content + 2.0 * pad).min(image.height.max(0.0));
        let band_y = match edge {
            Edge::Top => image.y,
            Edge::Bottom => image.y + image.height - height,
        };
        if edge == Edge::Top {
            image.y += height;
        }
        image.height = (image.height - height).max(0.0);
        let band = Rect {
            x: area.x,
            y: band_y,
            width: area.width,
            height,
        };
        let band_px = pixels(band);
        for &align in &aligns {
            let (slot_x, slot_w) = slot(
                &aligns,
                align,
                area.x + pad,
                (area.width - 2.0 * pad).max(0.0),
                pad,
            );
            let mut y = match edge {
                Edge::Top => band.y + pad,
                Edge::Bottom => band.y + band.height - pad - column_height(align),
            };
            for (i, a) in members.iter().filter(|(_, a)| a.placement.align == align) {
                let line = Rect {
                    x: slot_x,
                    y,
                    width: slot_w,
                    height: heights[*i],
                };
                y += heights[*i];
                let (x0, y0, x1, y1) = pixels(line);
                // A band squeezed by a tiny printable area cuts its lines.
                let bounds = (
                    x0.max(band_px.0),
                    y0.max(band_px.1),
                    x1.min(band_px.2),
                    y1.min(band_px.3),
                );
                bands.lines.push(Line {
                    annotation: *i,
                    band: band_px,
                    bounds: (
                        bounds.0,
                        bounds.1,
                        bounds.2.max(bounds.0),
                        bounds.3.max(bounds.1),
                    ),
                    em_px: (a.placement.size_mm * px_per_mm) as f32,
                    min_em_px: (a.placement.min_size_mm * px_per_mm) as f32,
                });
            }
        }
    }
    bands.lines.sort_by_key(|l| l.annotation);
    bands
}

/// The horizontal slot (x, width) of `align` in a band whose text spans `width` from `x`.
fn slot(aligns: &BTreeSet<Align>, align: Align, x: f64, width: f64, gap: f64) -> (f64, f64) {
    let (count, index) = match aligns.len() {
        1 => (1.0, 0.0),
        _ if aligns.contains(&Align::Center) => (
            3.0,
            match align {
                Align::Left => 0.0,
                Align::Center => 1.0,
                Align::Right => 2.0,
            },
        ),
        _ => (2.0, if align == Align::Left { 0.0 } else { 1.0 }),
    };
    let w = ((width - gap * (count - 1.0)) / count).max(0.0);
    (x + index * (w + gap), w)
}

fn pixels(r: Rect) -> Bounds {
    let (x0, y0, x1, y1) = r.pixel_bounds();
    (x0 as usize, y0 as usize, x1 as usize, y1 as usize)
}

/// An annotation text set and placed, ready to be drawn into any strip of the page.
pub struct Placed {
    set: text::SetLine,
    origin: (f32, f32),
    clip: Bounds,
}

/// The annotation texts of `bands`, fitted by [`text::fit_line`], aligned in their slot
/// and centred on their line, with the ink that contrasts with Border Density. Fitting
/// happens (and is logged) once per film, however many strips draw the texts.
pub fn prepare(bands: &Bands, film: &Film, device: &Device) -> (Vec<Placed>, u8) {
    let ink = if area_gray(film.border_density, device) >= 128 {
        0
    } else {
        255
    };
    let book = text::fonts();
    let mut placed = Vec::new();
    for line in &bands.lines {
        let Some(annotation) = film.annotations.get(line.annotation) else {
            continue;
        };
        let wanted: String = annotation
            .text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let wanted = wanted.trim();
        let (x0, y0, x1, y1) = line.bounds;
        if wanted.is_empty() || x1 <= x0 || y1 <= y0 {
            continue;
        }
        let font = &annotation.placement.font;
        if !book.contains(font) {
            tracing::warn!(font = %font, position = annotation.position, "annotation font not installed; using the default");
        }
        let Some(set) = text::fit_line(
            book,
            font,
            wanted,
            line.em_px,
            line.min_em_px,
            (x1 - x0) as f32,
        ) else {
            tracing::warn!(
                position = annotation.position,
                "annotation text does not fit its place; not printed"
            );
            continue;
        };
        if set.text != wanted {
            tracing::info!(position = annotation.position, printed = %set.text, "annotation text cut to fit");
        }
        let (ascent, descent) = text::line_metrics(book, font, set.em_px);
        let baseline = y0 as f32 + ((y1 - y0) as f32 - (ascent + descent)) / 2.0 + ascent;
        let free = (x1 - x0) as f32 - set.width;
        let x = x0 as f32
            + match annotation.placement.align {
                Align::Left => 0.0,
                Align::Center => free / 2.0,
                Align::Right => free,
            };
        placed.push(Placed {
            set,
            origin: (x, baseline),
            clip: line.bounds,
        });
    }
    (placed, ink)
}

/// Burns the `placed` texts into `raster` (the whole page or a strip of it: only the
/// lines crossing its rows are drawn), once the images are drawn.
pub fn draw_placed(placed: &[Placed], ink: u8, raster: &mut Raster) {
    let rows = raster.first_row..raster.first_row + raster.height;
    for text in placed {
        if text.clip.1 < rows.end && text.clip.3 > rows.start {
            text::draw_line(
                text::fonts(),
                &text.set,
                text.origin,
                text.clip,
                ink,
                raster,
            );
        }
    }
}

/// [`prepare`] and [`draw_placed`] in one go.
pub fn draw(bands: &Bands, film: &Film, device: &Device, raster: &mut Raster) {
    let (placed, ink) = prepare(bands, film, device);
    draw_placed(&placed, ink, raster);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::film::annotation::{AnnotationFormats, DEFAULT_FONT, Placement};
    use crate::film::compose::compose;
    use crate::film::layout::DisplayFormat;
    use crate::film::model::{
        AreaDensity, Image, ImageBox, Magnification, Medium, Photometric, Pixels, PresentationLut,
    };
    use crate::film::size::{FilmSize, Orientation};

    const AREA: Rect = Rect {
        x: 0.0,
        y: 0.0,
        width: 2400.0,
        height: 3000.0,
    };

    fn device() -> Device {
        Device {
            dpi: 300,
            min_density: 10,
            max_density: 250,
            margin_mm: 0.0,
            gap_mm: 0.0,
            ..Device::default()
        }
    }

    fn film(format: Option<&str>, texts: &[(u32, &str)]) -> Film {
        let texts: Vec<(u32, Option<String>)> = texts
            .iter()
            .map(|(p, t)| (*p, Some(t.to_string())))
            .collect();
        Film {
            display_format: DisplayFormat::Standard {
                columns: 1,
                rows: 1,
            },
            size: FilmSize::from_id("8INX10IN").expect("film size"),
            orientation: Orientation::Portrait,
            magnification: Magnification::Replicate,
            border_density: AreaDensity::White,
            empty_image_density: AreaDensity::Black,
            min_density: 10,
            max_density: 250,
            trim: false,
            medium: Medium::Paper,
            illumination: 150,
            reflected_ambient_light: 0,
            presentation_lut: PresentationLut::Identity,
            color: false,
            image_boxes: vec![],
            annotations: format
                .map(|id| AnnotationFormats::embedded().annotations(id, &texts))
                .unwrap_or_default(),
        }
    }

    fn inside(inner: Bounds, outer: Bounds) -> bool {
        inner.0 >= outer.0 && inner.1 >= outer.1 && inner.2 <= outer.2 && inner.3 <= outer.3
    }

    #[test]
    fn a_film_without_annotations_keeps_the_whole_area() {
        let bands = reserve(&film(None, &[]), 300, AREA);
        assert_eq!(bands.image_area, AREA);
        assert!(bands.lines.is_empty());
    }

    #[test]
    fn top_and_bottom_bands_are_taken_from_the_area() {
        let bands = reserve(&film(Some("TOP_BOTTOM"), &[]), 300, AREA);
        // 10 pt at 300 dpi: a 41.7 px em, DejaVu's ascent + descent 1.164 em = 49 px, plus
        // 1.5 mm (18 px) above and below.
        let band = 49.0 + 2.0 * 18.0;
        assert_eq!(
            bands.image_area,
            Rect {
                x: 0.0,
                y: band,
                width: 2400.0,
                height: 3000.0 - 2.0 * band
            }
        );
        assert_eq!(bands.lines.len(), 2);
        assert_eq!(bands.lines[0].band, (0, 0, 2400, 85));
        assert_eq!(bands.lines[1].band, (0, 2915, 2400, 3000));
        assert_eq!(
            bands.lines[0].bounds,
            (18, 18, 2382, 67),
            "full width less the padding"
        );
        assert_eq!(bands.lines[1].bounds, (18, 2933, 2382, 2982));
        for line in &bands.lines {
            assert!(inside(line.bounds, line.band));
        }
    }

    #[test]
    fn a_label_reserves_the_top_band_only() {
        let bands = reserve(&film(Some("LABEL"), &[(1, "x")]), 300, AREA);
        assert_eq!(
            (bands.image_area.y, bands.image_area.height),
            (85.0, 2915.0)
        );
    }

    #[test]
    fn corners_and_full_split_the_band_in_halves_and_thirds() {
        let corners = reserve(&film(Some("CORNERS"), &[]), 300, AREA);
        let b: Vec<Bounds> = corners.lines.iter().map(|l| l.bounds).collect();
        assert_eq!(
            (b[0].0, b[1].2),
            (18, 2382),
            "left starts and right ends at the padding"
        );
        assert_eq!(b[0].2 + 18, b[1].0, "a padding between the halves");
        assert_eq!(
            (b[0].1, b[2].1),
            (b[1].1, b[3].1),
            "top pair and bottom pair share their lines"
        );
        let full = reserve(&film(Some("FULL"), &[]), 300, AREA);
        let w: Vec<usize> = full.lines.iter().map(|l| l.bounds.2 - l.bounds.0).collect();
        assert!(
            w.iter().all(|&x| x.abs_diff(w[0]) <= 1),
            "equal thirds: {w:?}"
        );
        assert!(
            full.lines[0].bounds.2 <= full.lines[1].bounds.0
                && full.lines[1].bounds.2 <= full.lines[2].bounds.0
        );
    }

    #[test]
    fn positions_sharing_edge_and_alignment_stack_from_the_film_edge() {
        let mut f = film(None, &[]);
        let placement = |edge| Placement {
            edge,
            align: Align::Left,
            size_mm: 4.0,
            min_size_mm: 2.0,
            font: DEFAULT_FONT.into(),
            padding_mm: 1.0,
        };
        f.annotations = (1..=4)
            .map(|p| Annotation {
                position: p,
                text: String::new(),
                placement: placement(if p <= 2 { Edge::Top } else { Edge::Bottom }),
            })
            .collect();
        let bands = reserve(&f, 300, AREA);
        let l = &bands.lines;
        assert_eq!(l[0].bounds.3, l[1].bounds.1, "position 2 under position 1");
        assert_eq!(l[2].bounds.3, l[3].bounds.1, "position 4 under position 3");
        assert_eq!(
            l[3].bounds.3 + 12,
            3000,
            "the last line ends a padding above the bottom"
        );
        assert_eq!(bands.image_area.y as usize, l[1].bounds.3 + 12);
    }

    fn ink_outside(page: &crate::film::Page, allowed: &[Bounds], background: u8) -> usize {
        let w = page.width_px as usize;
        page.pixels
            .iter()
            .enumerate()
            .filter(|&(i, &v)| {
                let (x, y) = (i % w, i / w);
                v != background
                    && !allowed
                        .iter()
                        .any(|b| x >= b.0 && x < b.2 && y >= b.1 && y < b.3)
            })
            .count()
    }

    #[test]
    fn text_is_drawn_in_its_lines_only_and_too_long_text_is_cut() {
        let long = "A very long annotation text that cannot possibly fit in one third of the film";
        let mut f = film(
            Some("FULL"),
            &[
                (1, long),
                (2, "Müller^Jürgen"),
                (3, "Ω µ"),
                (4, long),
                (5, "ÄÖÜ äöü ß"),
                (6, "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW"),
            ],
        );
        f.empty_image_density = AreaDensity::White;
        let page = compose(&f, &device());
        let bands = reserve(
            &f,
            300,
            Rect {
                x: 0.0,
                y: 0.0,
                width: 2400.0,
                height: 3000.0,
            },
        );
        let lines: Vec<Bounds> = bands.lines.iter().map(|l| l.bounds).collect();
        assert_eq!(ink_outside(&page, &lines, 255), 0, "ink outside the lines");
        for line in &lines {
            let dark = (line.1..line.3)
                .flat_map(|y| (line.0..line.2).map(move |x| (x, y)))
                .filter(|&(x, y)| page.pixels[y * 2400 + x] < 128)
                .count();
            assert!(dark > 100, "text in {line:?}: {dark}");
        }
        // The long text reaches the right end of its slot (cut with an ellipsis, not dropped).
        let first = lines[0];
        let rightmost = (first.1..first.3)
            .flat_map(|y| (first.0..first.2).map(move |x| (x, y)))
            .filter(|&(x, y)| page.pixels[y * 2400 + x] < 128)
            .map(|(x, _)| x)
            .max();
        assert!(
            rightmost.is_some_and(|x| x + 40 > first.2),
            "{rightmost:?} vs {first:?}"
        );
    }

    #[test]
    fn text_is_dark_on_a_light_border_and_light_on_a_dark_one() {
        let mut f = film(Some("LABEL"), &[(1, "HHHH")]);
        let page = compose(&f, &device());
        assert_eq!(page.pixels.iter().min(), Some(&0));
        f.border_density = AreaDensity::Black;
        let page = compose(&f, &device());
        let band: Vec<u8> = page.pixels[..85 * 2400].to_vec();
        assert_eq!(band.iter().max(), Some(&255));
        f.border_density = AreaDensity::Hundredths(150);
        let gray = area_gray(f.border_density, &device());
        let page = compose(&f, &device());
        let lightest = *page.pixels[..85 * 2400].iter().max().unwrap();
        let darkest = *page.pixels[..85 * 2400].iter().min().unwrap();
        assert!(
            (gray < 128 && lightest == 255 && darkest == gray)
                || (gray >= 128 && darkest == 0 && lightest == gray),
            "gray {gray}"
        );
    }

    #[test]
    fn bands_shrink_the_image_boxes_and_never_cover_them() {
        let mut f = film(Some("TOP_BOTTOM"), &[(1, "top"), (2, "bottom")]);
        f.border_density = AreaDensity::Black;
        f.image_boxes.push(ImageBox {
            image: Some(Image {
                rows: 1,
                columns: 1,
                photometric: Photometric::Monochrome2,
                bits_stored: 8,
                pixel_aspect_ratio: (1, 1),
                pixels: Pixels::new(vec![128]),
            }),
            ..ImageBox::empty(1)
        });
        let page = compose(&f, &device());
        let w = page.width_px as usize;
        let image_value = page.pixels[1500 * w + 1200];
        // The 1×1 image fills the box: 2400 wide on the image area, which starts under the
        // top band (85 px) and is 3000 − 2 × 85 tall: the square image is 2400 × 2400
        // centred in it, rows 300..2700.
        assert_eq!(page.pixels[300 * w + 1200], image_value);
        assert_eq!(page.pixels[299 * w + 1200], 0);
        assert_eq!(page.pixels[2699 * w + 1200], image_value);
        let bands = reserve(&f, 300, AREA);
        let text_rows = bands.lines.iter().flat_map(|l| l.bounds.1..l.bounds.3);
        for y in text_rows {
            assert!(
                !(300..2700).contains(&y),
                "a text row {y} crosses the image"
            );
        }
    }
}
