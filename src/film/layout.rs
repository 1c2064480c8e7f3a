//! Image Display Format (2010,0010): parsing and box geometry (PS3.3 C.13.5.1).
//!
//! `STANDARD\C,R` is C columns by R rows of equal boxes, numbered row by row from the top
//! left. `ROW\a,b,...` gives the number of boxes of each row from the top, numbered row by
//! row. `COL\a,b,...` gives the number of boxes of each column from the left, numbered
//! column by column (major column order). These fill the printable area, with the queue's
//! gap between neighbouring boxes.
//!
//! The standard leaves the box counts of `SLIDE` and `SUPERSLIDE` to the SCP. filmd tiles
//! the printable area with slide frames of a fixed physical size, as many as fit, in a grid
//! centred on the film and numbered row by row from the top left: see [`SLIDE_FRAME`] and
//! [`SUPERSLIDE_FRAME`]. The count therefore depends on the film size, its orientation and
//! the queue's margin, never on the resolution. `CUSTOM\i` boxes are rectangles in
//! fractions of the printable area, from `layouts/custom.toml` ([`super::custom`]).

use super::custom::{CustomLayouts, FracRect};
use super::size::{FilmSize, Orientation, PageGeometry};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest count accepted for one dimension of a display format: far beyond any film,
/// small enough that a hostile `STANDARD\60000,60000` never allocates.
pub const MAX_BOXES_PER_LINE: u32 = 32;
/// Largest number of image boxes on one film.
pub const MAX_BOXES: u32 = 1024;

use super::size::MM_PER_INCH;

/// The kinds of Image Display Format (PS3.3 C.13.5.1), as a queue lists those it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatKind {
    Standard,
    Row,
    Col,
    Slide,
    Superslide,
    Custom,
}

impl FormatKind {
    pub const ALL: [FormatKind; 6] = [
        FormatKind::Standard,
        FormatKind::Row,
        FormatKind::Col,
        FormatKind::Slide,
        FormatKind::Superslide,
        FormatKind::Custom,
    ];

    /// The value's first component: STANDARD, ROW, COL, SLIDE, SUPERSLIDE or CUSTOM.
    pub fn term(self) -> &'static str {
        match self {
            FormatKind::Standard => "STANDARD",
            FormatKind::Row => "ROW",
            FormatKind::Col => "COL",
            FormatKind::Slide => "SLIDE",
            FormatKind::Superslide => "SUPERSLIDE",
            FormatKind::Custom => "CUSTOM",
        }
    }

    pub fn from_term(term: &str) -> Option<FormatKind> {
        FormatKind::ALL.into_iter().find(|k| k.term() == term)
    }
}

/// A parsed Image Display Format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DisplayFormat {
    Standard {
        columns: u32,
        rows: u32,
    },
    Row(Vec<u32>),
    Col(Vec<u32>),
    /// `SLIDE`: 35 mm slide frames, see [`SLIDE_FRAME`].
    Slide,
    /// `SUPERSLIDE`: 40 mm superslide frames, see [`SUPERSLIDE_FRAME`].
    Superslide,
    /// `CUSTOM\i`: layout `id` of the layouts file. Its boxes are copied in when the film
    /// box is created, so a queued film composes as it was created even if the file changes.
    Custom {
        id: u32,
        boxes: Vec<FracRect>,
    },
}

/// A slide frame: an image box of a fixed size centred in a cell of a fixed pitch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlideFrame {
    /// Size of the image box, millimetres.
    pub image_mm: (f64, f64),
    /// Distance from one frame to the next across and down, millimetres.
    pub pitch_mm: (f64, f64),
}

/// `SLIDE`: the 36 × 24 mm picture of a 35 mm film frame (landscape), each in a 38 × 26 mm
/// frame, so neighbouring images are 2 mm apart.
pub const SLIDE_FRAME: SlideFrame = SlideFrame {
    image_mm: (36.0, 24.0),
    pitch_mm: (38.0, 26.0),
};
/// `SUPERSLIDE`: a 38 × 38 mm picture in a 40 × 40 mm frame.
pub const SUPERSLIDE_FRAME: SlideFrame = SlideFrame {
    image_mm: (38.0, 38.0),
    pitch_mm: (40.0, 40.0),
};

impl SlideFrame {
    /// Columns and rows of frames that fit an area of `width_mm` × `height_mm`.
    pub fn grid(&self, width_mm: f64, height_mm: f64) -> (u32, u32) {
        // The small slack keeps an exact fit (e.g. 380 mm for ten 38 mm frames) a fit.
        let count = |len: f64, pitch: f64| {
            ((len / pitch + 1e-9).floor()).clamp(0.0, f64::from(MAX_BOXES_PER_LINE)) as u32
        };
        (
            count(width_mm, self.pitch_mm.0),
            count(height_mm, self.pitch_mm.1),
        )
    }
}

/// Why a display format was refused; the message names the problem for Error Comment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Image Display Format {value:?}: {reason}")]
pub struct LayoutError {
    pub value: String,
    pub reason: &'static str,
}

/// A box on the page in device pixels, origin at the top left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// A pixel rectangle (x0, y0, x1, y1), x1/y1 exclusive.
pub type Bounds = (usize, usize, usize, usize);

impl Rect {
    /// The rectangle snapped to whole pixels: (x0, y0, x1, y1), x1/y1 exclusive.
    pub fn pixel_bounds(&self) -> (u32, u32, u32, u32) {
        let x0 = self.x.round().max(0.0) as u32;
        let y0 = self.y.round().max(0.0) as u32;
        let x1 = (self.x + self.width).round().max(0.0) as u32;
        let y1 = (self.y + self.height).round().max(0.0) as u32;
        (x0, y0, x1.max(x0), y1.max(y0))
    }
}

/// The part of the page the image boxes share: the page less the device margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrintableArea {
    /// The area in device pixels, origin at the page's top left.
    pub rect: Rect,
    /// Gap between neighbouring boxes, device pixels.
    pub gap: f64,
    /// Device pixels per millimetre.
    pub px_per_mm: f64,
    /// The area's size in millimetres, from the film size itself rather than from rounded
    /// pixels, so that slide counts are the same at every resolution.
    pub width_mm: f64,
    pub height_mm: f64,
    /// The page in device pixels; box bounds are clipped to it.
    pub page_width_px: u32,
    pub page_height_px: u32,
}

impl PrintableArea {
    /// The printable area of a film on a device of `dpi` with `margin_mm` around the page
    /// and `gap_mm` between boxes.
    pub fn new(
        size: FilmSize,
        orientation: Orientation,
        dpi: u32,
        margin_mm: f64,
        gap_mm: f64,
    ) -> Self {
        let page = PageGeometry::new(size, orientation, dpi);
        let px_per_mm = f64::from(dpi) / MM_PER_INCH;
        let margin_mm = margin_mm.max(0.0);
        let margin = margin_mm * px_per_mm;
        let (w_mm, h_mm) = size.dimensions_mm(orientation);
        PrintableArea {
            rect: Rect {
                x: margin,
                y: margin,
                width: (f64::from(page.width_px) - 2.0 * margin).max(0.0),
                height: (f64::from(page.height_px) - 2.0 * margin).max(0.0),
            },
            gap: (gap_mm * px_per_mm).max(0.0),
            px_per_mm,
            width_mm: (w_mm - 2.0 * margin_mm).max(0.0),
            height_mm: (h_mm - 2.0 * margin_mm).max(0.0),
            page_width_px: page.width_px,
            page_height_px: page.height_px,
        }
    }

    /// An area given directly in pixels, on a page that just holds it.
    pub fn from_rect(rect: Rect, gap: f64, px_per_mm: f64) -> Self {
        PrintableArea {
            rect,
            gap,
            px_per_mm,
            width_mm: rect.width / px_per_mm,
            height_mm: rect.height / px_per_mm,
            page_width_px: (rect.x + rect.width).ceil().max(0.0) as u32,
            page_height_px: (rect.y + rect.height).ceil().max(0.0) as u32,
        }
    }

    /// The same area narrowed to `rect`, a part of it (what the annotation bands leave for
    /// the image boxes). Millimetres shrink with the pixels; an unchanged rect keeps them
    /// exactly.
    pub fn within(&self, rect: Rect) -> Self {
        let ratio = |new: f64, old: f64| if old > 0.0 { new / old } else { 0.0 };
        PrintableArea {
            rect,
            width_mm: self.width_mm * ratio(rect.width, self.rect.width),
            height_mm: self.height_mm * ratio(rect.height, self.rect.height),
            ..*self
        }
    }

    /// `rect` snapped to whole pixels and clipped to the page.
    pub fn clip(&self, rect: &Rect) -> Bounds {
        let (x0, y0, x1, y1) = rect.pixel_bounds();
        let x1 = (x1 as usize).min(self.page_width_px as usize);
        let y1 = (y1 as usize).min(self.page_height_px as usize);
        ((x0 as usize).min(x1), (y0 as usize).min(y1), x1, y1)
    }
}

impl DisplayFormat {
    pub fn kind(&self) -> FormatKind {
        match self {
            DisplayFormat::Standard { .. } => FormatKind::Standard,
            DisplayFormat::Row(_) => FormatKind::Row,
            DisplayFormat::Col(_) => FormatKind::Col,
            DisplayFormat::Slide => FormatKind::Slide,
            DisplayFormat::Superslide => FormatKind::Superslide,
            DisplayFormat::Custom { .. } => FormatKind::Custom,
        }
    }

    /// Parses the value of (2010,0010). Leading/trailing spaces are not significant.
    /// `CUSTOM\i` must name a layout of `custom`.
    pub fn parse(value: &str, custom: &CustomLayouts) -> Result<Self, LayoutError> {
        let value = value.trim_matches(|c: char| c == ' ' || c == '\0');
        let err = |reason| LayoutError {
            value: value.to_string(),
            reason,
        };
        match value {
            "SLIDE" => return Ok(DisplayFormat::Slide),
            "SUPERSLIDE" => return Ok(DisplayFormat::Superslide),
            _ => {}
        }
        let (kind, args) = value
            .split_once('\\')
            .ok_or_else(|| err("expected TYPE\\arguments, e.g. STANDARD\\2,3"))?;
        match kind {
            "SLIDE" | "SUPERSLIDE" => return Err(err("SLIDE and SUPERSLIDE take no arguments")),
            "CUSTOM" => {
                let id = args
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| err("CUSTOM takes one layout number, e.g. CUSTOM\\1"))?;
                let layout = custom.get(id).ok_or_else(|| {
                    err("no CUSTOM layout with this number; `filmd layouts` lists them")
                })?;
                return Ok(DisplayFormat::Custom {
                    id,
                    boxes: layout.boxes.clone(),
                });
            }
            _ => {}
        }
        let counts = args
            .split(',')
            .map(|s| {
                s.trim()
                    .parse::<u32>()
                    .map_err(|_| err("counts must be positive integers"))
            })
            .collect::<Result<Vec<u32>, _>>()?;
        if counts.contains(&0) {
            return Err(err("counts must be at least 1"));
        }
        if counts.iter().any(|&c| c > MAX_BOXES_PER_LINE)
            || counts.len() as u32 > MAX_BOXES_PER_LINE
        {
            return Err(err(
                "more boxes per row or column than this printer supports (32)",
            ));
        }
        let format = match kind {
            "STANDARD" => match counts[..] {
                [columns, rows] => DisplayFormat::Standard { columns, rows },
                _ => return Err(err("STANDARD takes exactly two counts: columns,rows")),
            },
            "ROW" => DisplayFormat::Row(counts),
            "COL" => DisplayFormat::Col(counts),
            _ => return Err(err("unknown display format type")),
        };
        if format.grid_box_count() > MAX_BOXES {
            return Err(err("more image boxes than this printer supports"));
        }
        Ok(format)
    }

    /// Boxes of the formats whose count does not depend on the film.
    fn grid_box_count(&self) -> u32 {
        match self {
            DisplayFormat::Standard { columns, rows } => columns * rows,
            DisplayFormat::Row(v) | DisplayFormat::Col(v) => v.iter().sum(),
            DisplayFormat::Custom { boxes, .. } => boxes.len() as u32,
            DisplayFormat::Slide | DisplayFormat::Superslide => 0,
        }
    }

    /// The slide frame of `SLIDE` and `SUPERSLIDE`.
    pub fn slide_frame(&self) -> Option<SlideFrame> {
        match self {
            DisplayFormat::Slide => Some(SLIDE_FRAME),
            DisplayFormat::Superslide => Some(SUPERSLIDE_FRAME),
            _ => None,
        }
    }

    /// Number of image boxes the format defines on `area`.
    pub fn box_count(&self, area: &PrintableArea) -> u32 {
        match self.slide_frame() {
            Some(frame) => {
                let (columns, rows) = frame.grid(area.width_mm, area.height_mm);
                columns * rows
            }
            None => self.grid_box_count(),
        }
    }

    /// The boxes inside `area`, in Image Box Position order (index 0 is position 1).
    pub fn boxes(&self, area: &PrintableArea) -> Vec<Rect> {
        // Split `len` into `n` equal cells separated by gaps. Gaps take at most half of
        // `len`: a gap too wide for this many cells (many columns on a small film with
        // wide margins) narrows rather than push cells off the printable area.
        fn cells(start: f64, len: f64, n: u32, gap: f64) -> impl Iterator<Item = (f64, f64)> {
            let n_f = f64::from(n);
            let len = len.max(0.0);
            let gap = if n > 1 {
                gap.min(len / (2.0 * (n_f - 1.0)))
            } else {
                gap
            };
            let cell = ((len - gap * (n_f - 1.0)) / n_f).max(0.0);
            (0..n).map(move |i| (start + f64::from(i) * (cell + gap), cell))
        }
        let (r, gap) = (area.rect, area.gap);
        let mut out = Vec::with_capacity(self.box_count(area) as usize);
        match self {
            DisplayFormat::Standard { columns, rows } => {
                for (y, h) in cells(r.y, r.height, *rows, gap) {
                    for (x, w) in cells(r.x, r.width, *columns, gap) {
                        out.push(Rect {
                            x,
                            y,
                            width: w,
                            height: h,
                        });
                    }
                }
            }
            DisplayFormat::Row(per_row) => {
                let rows: Vec<_> = cells(r.y, r.height, per_row.len() as u32, gap).collect();
                for ((y, h), &n) in rows.into_iter().zip(per_row) {
                    for (x, w) in cells(r.x, r.width, n, gap) {
                        out.push(Rect {
                            x,
                            y,
                            width: w,
                            height: h,
                        });
                    }
                }
            }
            DisplayFormat::Col(per_col) => {
                let cols: Vec<_> = cells(r.x, r.width, per_col.len() as u32, gap).collect();
                for ((x, w), &n) in cols.into_iter().zip(per_col) {
                    for (y, h) in cells(r.y, r.height, n, gap) {
                        out.push(Rect {
                            x,
                            y,
                            width: w,
                            height: h,
                        });
                    }
                }
            }
            DisplayFormat::Slide | DisplayFormat::Superslide => {
                let frame = self.slide_frame().unwrap_or(SLIDE_FRAME);
                let (columns, rows) = frame.grid(area.width_mm, area.height_mm);
                let s = area.px_per_mm;
                let (pitch_w, pitch_h) = (frame.pitch_mm.0 * s, frame.pitch_mm.1 * s);
                let (image_w, image_h) = (frame.image_mm.0 * s, frame.image_mm.1 * s);
                // The grid is centred in the area; each image centred in its frame.
                let x0 = r.x
                    + (r.width - pitch_w * f64::from(columns)) / 2.0
                    + (pitch_w - image_w) / 2.0;
                let y0 =
                    r.y + (r.height - pitch_h * f64::from(rows)) / 2.0 + (pitch_h - image_h) / 2.0;
                for row in 0..rows {
                    for column in 0..columns {
                        out.push(Rect {
                            x: x0 + f64::from(column) * pitch_w,
                            y: y0 + f64::from(row) * pitch_h,
                            width: image_w,
                            height: image_h,
                        });
                    }
                }
            }
            DisplayFormat::Custom { boxes, .. } => {
                // Half the gap comes off each edge a box shares with the inside of the
                // area, so touching boxes end up one gap apart, like STANDARD's.
                let half = gap / 2.0;
                let inset = |fraction: f64| {
                    if fraction > 1e-6 && fraction < 1.0 - 1e-6 {
                        half
                    } else {
                        0.0
                    }
                };
                for b in boxes {
                    let (left, right) = (inset(b.x), inset(b.x + b.width));
                    let (top, bottom) = (inset(b.y), inset(b.y + b.height));
                    // A box narrower than the gap shrinks to nothing at its own far
                    // edge, never past it (and never out of the area).
                    out.push(Rect {
                        x: (r.x + b.x * r.width + left).min(r.x + (b.x + b.width) * r.width),
                        y: (r.y + b.y * r.height + top).min(r.y + (b.y + b.height) * r.height),
                        width: (b.width * r.width - left - right).max(0.0),
                        height: (b.height * r.height - top - bottom).max(0.0),
                    });
                }
            }
        }
        out
    }

    /// The boxes inside `area` snapped to whole pixels and clipped to the page: where
    /// composition draws and what the image box checks measure.
    pub fn box_bounds(&self, area: &PrintableArea) -> Vec<Bounds> {
        self.boxes(area)
            .iter()
            .map(|rect| area.clip(rect))
            .collect()
    }
}

impl fmt::Display for DisplayFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        match self {
            DisplayFormat::Standard { columns, rows } => write!(f, "STANDARD\\{columns},{rows}"),
            DisplayFormat::Row(v) => write!(f, "ROW\\{}", join(v)),
            DisplayFormat::Col(v) => write!(f, "COL\\{}", join(v)),
            DisplayFormat::Slide => write!(f, "SLIDE"),
            DisplayFormat::Superslide => write!(f, "SUPERSLIDE"),
            DisplayFormat::Custom { id, .. } => write!(f, "CUSTOM\\{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::film::size::FILM_SIZES;
    use proptest::prelude::*;

    const PAGE: Rect = Rect {
        x: 0.0,
        y: 0.0,
        width: 300.0,
        height: 200.0,
    };

    fn parse(value: &str) -> Result<DisplayFormat, LayoutError> {
        DisplayFormat::parse(value, &CustomLayouts::embedded())
    }

    fn area(rect: Rect, gap: f64) -> PrintableArea {
        PrintableArea::from_rect(rect, gap, 1.0)
    }

    #[test]
    fn parses_the_three_standard_forms() {
        assert_eq!(
            parse("STANDARD\\3,2").unwrap(),
            DisplayFormat::Standard {
                columns: 3,
                rows: 2
            }
        );
        assert_eq!(
            parse("ROW\\1,2,3").unwrap(),
            DisplayFormat::Row(vec![1, 2, 3])
        );
        assert_eq!(parse("COL\\2,1 ").unwrap(), DisplayFormat::Col(vec![2, 1]));
        assert_eq!(parse("ROW\\1,2,3").unwrap().to_string(), "ROW\\1,2,3");
    }

    #[test]
    fn parses_slide_superslide_and_custom() {
        assert_eq!(parse("SLIDE").unwrap(), DisplayFormat::Slide);
        assert_eq!(parse("SUPERSLIDE ").unwrap().to_string(), "SUPERSLIDE");
        let custom = parse("CUSTOM\\2").unwrap();
        assert_eq!(custom.to_string(), "CUSTOM\\2");
        assert!(matches!(&custom, DisplayFormat::Custom { id: 2, boxes } if boxes.len() == 4));
        for bad in [
            "SLIDE\\1",
            "SUPERSLIDE\\2,2",
            "CUSTOM\\",
            "CUSTOM\\0",
            "CUSTOM\\99",
            "CUSTOM\\1,2",
            "CUSTOM",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn malformed_formats_are_refused() {
        for bad in [
            "STANDARD\\0,5",
            "BOGUS",
            "STANDARD\\2",
            "ROW\\",
            "STANDARD\\60000,60000",
            "STANDARD\\2,x",
            "",
            "COL\\1,,2",
            "STANDARD\\-1,2",
            "STANDARD\\1,2,3",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse("STANDARD\\32,32").is_ok());
        assert!(parse("STANDARD\\33,1").is_err());
    }

    #[test]
    fn standard_counts_positions_row_by_row() {
        let b = DisplayFormat::Standard {
            columns: 3,
            rows: 2,
        }
        .boxes(&area(PAGE, 0.0));
        assert_eq!(b.len(), 6);
        assert_eq!(
            b[0],
            Rect {
                x: 0.0,
                y: 0.0,
                width: 100.0,
                height: 100.0
            }
        );
        assert_eq!(b[1].x, 100.0); // position 2: right of 1
        assert_eq!(
            b[3],
            Rect {
                x: 0.0,
                y: 100.0,
                width: 100.0,
                height: 100.0
            }
        ); // position 4 starts row 2
    }

    #[test]
    fn row_gives_boxes_per_row_from_the_top() {
        let b = DisplayFormat::Row(vec![1, 2]).boxes(&area(PAGE, 0.0));
        assert_eq!(b.len(), 3);
        assert_eq!(
            b[0],
            Rect {
                x: 0.0,
                y: 0.0,
                width: 300.0,
                height: 100.0
            }
        );
        assert_eq!(
            b[1],
            Rect {
                x: 0.0,
                y: 100.0,
                width: 150.0,
                height: 100.0
            }
        );
        assert_eq!(
            b[2],
            Rect {
                x: 150.0,
                y: 100.0,
                width: 150.0,
                height: 100.0
            }
        );
    }

    #[test]
    fn col_gives_boxes_per_column_numbered_top_to_bottom() {
        let b = DisplayFormat::Col(vec![2, 1]).boxes(&area(PAGE, 0.0));
        assert_eq!(b.len(), 3);
        assert_eq!(
            b[0],
            Rect {
                x: 0.0,
                y: 0.0,
                width: 150.0,
                height: 100.0
            }
        );
        assert_eq!(
            b[1],
            Rect {
                x: 0.0,
                y: 100.0,
                width: 150.0,
                height: 100.0
            }
        );
        assert_eq!(
            b[2],
            Rect {
                x: 150.0,
                y: 0.0,
                width: 150.0,
                height: 200.0
            }
        );
    }

    #[test]
    fn gaps_separate_boxes_and_stay_inside_the_area() {
        let a = area(
            Rect {
                x: 10.0,
                y: 20.0,
                width: 310.0,
                height: 200.0,
            },
            10.0,
        );
        let b = DisplayFormat::Standard {
            columns: 2,
            rows: 2,
        }
        .boxes(&a);
        assert_eq!(
            b[0],
            Rect {
                x: 10.0,
                y: 20.0,
                width: 150.0,
                height: 95.0
            }
        );
        assert_eq!(b[1].x, 170.0);
        assert_eq!(b[3].y + b[3].height, 220.0);
    }

    #[test]
    fn slide_counts_per_film_size_are_as_documented() {
        // (film size, SLIDE portrait, SLIDE landscape, SUPERSLIDE portrait, SUPERSLIDE
        // landscape) with no margin: the table of CONFORMANCE.md, 8.2 Image Display Formats.
        let expected = [
            ("8INX10IN", (5, 9), (6, 7), (5, 6), (6, 5)),
            ("8_5INX11IN", (5, 10), (7, 8), (5, 6), (6, 5)),
            ("10INX12IN", (6, 11), (8, 9), (6, 7), (7, 6)),
            ("10INX14IN", (6, 13), (9, 9), (6, 8), (8, 6)),
            ("11INX14IN", (7, 13), (9, 10), (6, 8), (8, 6)),
            ("11INX17IN", (7, 16), (11, 10), (6, 10), (10, 6)),
            ("14INX14IN", (9, 13), (9, 13), (8, 8), (8, 8)),
            ("14INX17IN", (9, 16), (11, 13), (8, 10), (10, 8)),
            ("24CMX24CM", (6, 9), (6, 9), (6, 6), (6, 6)),
            ("24CMX30CM", (6, 11), (7, 9), (6, 7), (7, 6)),
            ("A4", (5, 11), (7, 8), (5, 7), (7, 5)),
            ("A3", (7, 16), (11, 11), (7, 10), (10, 7)),
        ];
        assert_eq!(expected.len(), FILM_SIZES.len());
        for (id, sp, sl, ssp, ssl) in expected {
            let size = FilmSize::from_id(id).unwrap();
            let grid = |frame: SlideFrame, o: Orientation| {
                let (w, h) = size.dimensions_mm(o);
                frame.grid(w, h)
            };
            assert_eq!(
                grid(SLIDE_FRAME, Orientation::Portrait),
                sp,
                "{id} SLIDE portrait"
            );
            assert_eq!(
                grid(SLIDE_FRAME, Orientation::Landscape),
                sl,
                "{id} SLIDE landscape"
            );
            assert_eq!(
                grid(SUPERSLIDE_FRAME, Orientation::Portrait),
                ssp,
                "{id} SUPERSLIDE portrait"
            );
            assert_eq!(
                grid(SUPERSLIDE_FRAME, Orientation::Landscape),
                ssl,
                "{id} SUPERSLIDE landscape"
            );
        }
    }

    #[test]
    fn slide_frames_have_their_physical_size_at_every_resolution() {
        let size = FilmSize::from_id("8INX10IN").unwrap();
        for dpi in [150, 300, 600] {
            let a = PrintableArea::new(size, Orientation::Portrait, dpi, 0.0, 2.0);
            let boxes = DisplayFormat::Slide.boxes(&a);
            assert_eq!(boxes.len(), 45);
            assert_eq!(DisplayFormat::Slide.box_count(&a), 45);
            let mm = |px: f64| px / a.px_per_mm;
            assert!(
                (mm(boxes[0].width) - 36.0).abs() < 1e-9
                    && (mm(boxes[0].height) - 24.0).abs() < 1e-9
            );
            assert!(
                (mm(boxes[1].x - boxes[0].x) - 38.0).abs() < 1e-9,
                "pitch across"
            );
            assert!(
                (mm(boxes[5].y - boxes[0].y) - 26.0).abs() < 1e-9,
                "position 6 starts row 2"
            );
            // Centred: 203.2 mm holds five 38 mm frames with 13.2 mm to spare, 6.6 on each
            // side, and the image starts 1 mm into its frame.
            assert!((mm(boxes[0].x) - 7.6).abs() < 1e-9, "{}", mm(boxes[0].x));
        }
        // A margin takes frames away.
        let a = PrintableArea::new(size, Orientation::Portrait, 300, 20.0, 2.0);
        assert_eq!(DisplayFormat::Superslide.box_count(&a), 4 * 5);
    }

    #[test]
    fn custom_boxes_are_fractions_with_the_gap_between_touching_boxes() {
        let b = parse("CUSTOM\\1").unwrap().boxes(&area(
            Rect {
                x: 0.0,
                y: 0.0,
                width: 200.0,
                height: 100.0,
            },
            4.0,
        ));
        assert_eq!(b.len(), 3);
        assert_eq!(
            b[0],
            Rect {
                x: 0.0,
                y: 0.0,
                width: 200.0,
                height: 58.0
            }
        );
        assert_eq!(
            b[1],
            Rect {
                x: 0.0,
                y: 62.0,
                width: 98.0,
                height: 38.0
            }
        );
        assert_eq!(
            b[2],
            Rect {
                x: 102.0,
                y: 62.0,
                width: 98.0,
                height: 38.0
            }
        );
    }

    fn overlaps(a: Bounds, b: Bounds) -> bool {
        a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
    }

    /// Custom layouts made by cutting the unit square recursively: valid by construction.
    fn custom_layout() -> impl Strategy<Value = Vec<FracRect>> {
        let leaf = Just(vec![FracRect {
            x: 0.0,
            y: 0.0,
            width: 1.0,
            height: 1.0,
        }])
        .boxed();
        leaf.prop_recursive(4, 64, 2, |inner| {
            (inner.clone(), inner, 0.2f64..0.8, any::<bool>()).prop_map(|(a, b, cut, vertical)| {
                let place = |boxes: Vec<FracRect>, offset: f64, scale: f64| {
                    boxes.into_iter().map(move |r| {
                        if vertical {
                            FracRect {
                                x: offset + r.x * scale,
                                width: r.width * scale,
                                ..r
                            }
                        } else {
                            FracRect {
                                y: offset + r.y * scale,
                                height: r.height * scale,
                                ..r
                            }
                        }
                    })
                };
                place(a, 0.0, cut).chain(place(b, cut, 1.0 - cut)).collect()
            })
        })
    }

    fn any_format() -> impl Strategy<Value = DisplayFormat> {
        prop_oneof![
            (1u32..=8, 1u32..=8)
                .prop_map(|(columns, rows)| DisplayFormat::Standard { columns, rows }),
            proptest::collection::vec(1u32..=6, 1..=6).prop_map(DisplayFormat::Row),
            proptest::collection::vec(1u32..=6, 1..=6).prop_map(DisplayFormat::Col),
            Just(DisplayFormat::Slide),
            Just(DisplayFormat::Superslide),
            custom_layout().prop_map(|boxes| DisplayFormat::Custom { id: 1, boxes }),
        ]
    }

    /// Found by the property below: 8 columns on 8x10 in at 72 dpi with 47 mm margins and
    /// 17.5 mm gaps. The gaps alone were wider than the printable area, and the last
    /// boxes were pushed past its right edge.
    #[test]
    fn gaps_wider_than_the_area_narrow_and_boxes_stay_inside() {
        let a = PrintableArea::new(
            FILM_SIZES[0],
            Orientation::Portrait,
            72,
            47.290_403_036_649_79,
            17.536_136_724_721_462,
        );
        let boxes = DisplayFormat::Standard {
            columns: 8,
            rows: 1,
        }
        .box_bounds(&a);
        assert_eq!(boxes.len(), 8);
        let right = (a.rect.x + a.rect.width).round() as usize;
        let mut last_end = 0;
        for (i, b) in boxes.iter().enumerate() {
            assert!(b.0 < b.2, "box {} has a width: {b:?}", i + 1);
            assert!(
                b.2 <= right + 1,
                "box {} {b:?} inside the area (right {right})",
                i + 1
            );
            assert!(b.0 >= last_end, "box {} {b:?} after the one before", i + 1);
            last_end = b.2;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn boxes_stay_on_the_page_and_never_overlap(
            format in any_format(),
            size in 0usize..FILM_SIZES.len(),
            landscape in any::<bool>(),
            dpi in prop_oneof![Just(72u32), Just(150), Just(300), Just(600)],
            margin in 0.0f64..=50.0,
            gap in 0.0f64..=20.0,
        ) {
            let orientation = if landscape { Orientation::Landscape } else { Orientation::Portrait };
            let a = PrintableArea::new(FILM_SIZES[size], orientation, dpi, margin, gap);
            let boxes = format.box_bounds(&a);
            prop_assert_eq!(boxes.len() as u32, format.box_count(&a));
            prop_assert!(!boxes.is_empty());
            let (margin_px, right, bottom) = (a.rect.x, a.page_width_px as usize, a.page_height_px as usize);
            for (i, b) in boxes.iter().enumerate() {
                prop_assert!(b.0 <= b.2 && b.1 <= b.3 && b.2 <= right && b.3 <= bottom, "box {} {:?}", i + 1, b);
                // Inside the printable area, to the rounding of its edges.
                prop_assert!(b.0 as f64 >= margin_px.round() && b.1 as f64 >= margin_px.round(), "box {} {:?} in the margin", i + 1, b);
                prop_assert!((b.2 as f64) <= (a.rect.x + a.rect.width).round() + 1.0, "box {} {:?}", i + 1, b);
                for (j, other) in boxes[..i].iter().enumerate() {
                    prop_assert!(!overlaps(*b, *other), "boxes {} and {} overlap: {:?} {:?}", j + 1, i + 1, other, b);
                }
            }
        }
    }
}
