//! Image Display Format (2010,0010): parsing and box geometry (PS3.3 C.13.5.1).
//!
//! `STANDARD\C,R` is C columns by R rows of equal boxes, numbered row by row from the top
//! left. `ROW\a,b,...` gives the number of boxes of each row from the top, numbered row by
//! row. `COL\a,b,...` gives the number of boxes of each column from the left, numbered
//! column by column (major column order).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest count accepted for one dimension of a display format: far beyond any film,
/// small enough that a hostile `STANDARD\60000,60000` never allocates.
pub const MAX_BOXES_PER_LINE: u32 = 32;
/// Largest number of image boxes on one film.
pub const MAX_BOXES: u32 = 1024;

/// A parsed Image Display Format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisplayFormat {
    Standard { columns: u32, rows: u32 },
    Row(Vec<u32>),
    Col(Vec<u32>),
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

impl DisplayFormat {
    /// Parses the value of (2010,0010). Leading/trailing spaces are not significant.
    pub fn parse(value: &str) -> Result<Self, LayoutError> {
        let value = value.trim_matches(|c: char| c == ' ' || c == '\0');
        let err = |reason| LayoutError {
            value: value.to_string(),
            reason,
        };
        let (kind, args) = value
            .split_once('\\')
            .ok_or_else(|| err("expected TYPE\\arguments, e.g. STANDARD\\2,3"))?;
        let counts = args
            .split(',')
            .map(|s| s.trim().parse::<u32>().map_err(|_| err("counts must be positive integers")))
            .collect::<Result<Vec<u32>, _>>()?;
        if counts.contains(&0) {
            return Err(err("counts must be at least 1"));
        }
        if counts.iter().any(|&c| c > MAX_BOXES_PER_LINE) || counts.len() as u32 > MAX_BOXES_PER_LINE {
            return Err(err("more boxes per row or column than this printer supports (32)"));
        }
        let format = match kind {
            "STANDARD" => match counts[..] {
                [columns, rows] => DisplayFormat::Standard { columns, rows },
                _ => return Err(err("STANDARD takes exactly two counts: columns,rows")),
            },
            "ROW" => DisplayFormat::Row(counts),
            "COL" => DisplayFormat::Col(counts),
            "SLIDE" | "SUPERSLIDE" | "CUSTOM" => return Err(err("display format type not supported")),
            _ => return Err(err("unknown display format type")),
        };
        if format.box_count() > MAX_BOXES {
            return Err(err("more image boxes than this printer supports"));
        }
        Ok(format)
    }

    /// Number of image boxes the format defines.
    pub fn box_count(&self) -> u32 {
        match self {
            DisplayFormat::Standard { columns, rows } => columns * rows,
            DisplayFormat::Row(v) | DisplayFormat::Col(v) => v.iter().sum(),
        }
    }

    /// The boxes inside `area`, in Image Box Position order (index 0 is position 1),
    /// separated by `gap` pixels.
    pub fn boxes(&self, area: Rect, gap: f64) -> Vec<Rect> {
        // Split `len` into `n` equal cells separated by gaps.
        fn cells(start: f64, len: f64, n: u32, gap: f64) -> impl Iterator<Item = (f64, f64)> {
            let n_f = f64::from(n);
            let cell = ((len - gap * (n_f - 1.0)) / n_f).max(0.0);
            (0..n).map(move |i| (start + f64::from(i) * (cell + gap), cell))
        }
        let mut out = Vec::with_capacity(self.box_count() as usize);
        match self {
            DisplayFormat::Standard { columns, rows } => {
                for (y, h) in cells(area.y, area.height, *rows, gap) {
                    for (x, w) in cells(area.x, area.width, *columns, gap) {
                        out.push(Rect { x, y, width: w, height: h });
                    }
                }
            }
            DisplayFormat::Row(per_row) => {
                let rows: Vec<_> = cells(area.y, area.height, per_row.len() as u32, gap).collect();
                for ((y, h), &n) in rows.into_iter().zip(per_row) {
                    for (x, w) in cells(area.x, area.width, n, gap) {
                        out.push(Rect { x, y, width: w, height: h });
                    }
                }
            }
            DisplayFormat::Col(per_col) => {
                let cols: Vec<_> = cells(area.x, area.width, per_col.len() as u32, gap).collect();
                for ((x, w), &n) in cols.into_iter().zip(per_col) {
                    for (y, h) in cells(area.y, area.height, n, gap) {
                        out.push(Rect { x, y, width: w, height: h });
                    }
                }
            }
        }
        out
    }
}

impl fmt::Display for DisplayFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        match self {
            DisplayFormat::Standard { columns, rows } => write!(f, "STANDARD\\{columns},{rows}"),
            DisplayFormat::Row(v) => write!(f, "ROW\\{}", join(v)),
            DisplayFormat::Col(v) => write!(f, "COL\\{}", join(v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: Rect = Rect { x: 0.0, y: 0.0, width: 300.0, height: 200.0 };

    #[test]
    fn parses_the_three_standard_forms() {
        assert_eq!(DisplayFormat::parse("STANDARD\\3,2").unwrap(), DisplayFormat::Standard { columns: 3, rows: 2 });
        assert_eq!(DisplayFormat::parse("ROW\\1,2,3").unwrap(), DisplayFormat::Row(vec![1, 2, 3]));
        assert_eq!(DisplayFormat::parse("COL\\2,1 ").unwrap(), DisplayFormat::Col(vec![2, 1]));
        assert_eq!(DisplayFormat::parse("ROW\\1,2,3").unwrap().to_string(), "ROW\\1,2,3");
    }

    #[test]
    fn malformed_formats_are_refused() {
        for bad in ["STANDARD\\0,5", "BOGUS", "STANDARD\\2", "ROW\\", "STANDARD\\60000,60000", "STANDARD\\2,x", "", "COL\\1,,2", "STANDARD\\-1,2", "STANDARD\\1,2,3"] {
            assert!(DisplayFormat::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(DisplayFormat::parse("STANDARD\\32,32").is_ok());
        assert!(DisplayFormat::parse("STANDARD\\33,1").is_err());
    }

    #[test]
    fn standard_counts_positions_row_by_row() {
        let b = DisplayFormat::Standard { columns: 3, rows: 2 }.boxes(PAGE, 0.0);
        assert_eq!(b.len(), 6);
        assert_eq!(b[0], Rect { x: 0.0, y: 0.0, width: 100.0, height: 100.0 });
        assert_eq!(b[1].x, 100.0); // position 2: right of 1
        assert_eq!(b[3], Rect { x: 0.0, y: 100.0, width: 100.0, height: 100.0 }); // position 4 starts row 2
    }

    #[test]
    fn row_gives_boxes_per_row_from_the_top() {
        let b = DisplayFormat::Row(vec![1, 2]).boxes(PAGE, 0.0);
        assert_eq!(b.len(), 3);
        assert_eq!(b[0], Rect { x: 0.0, y: 0.0, width: 300.0, height: 100.0 });
        assert_eq!(b[1], Rect { x: 0.0, y: 100.0, width: 150.0, height: 100.0 });
        assert_eq!(b[2], Rect { x: 150.0, y: 100.0, width: 150.0, height: 100.0 });
    }

    #[test]
    fn col_gives_boxes_per_column_numbered_top_to_bottom() {
        let b = DisplayFormat::Col(vec![2, 1]).boxes(PAGE, 0.0);
        assert_eq!(b.len(), 3);
        assert_eq!(b[0], Rect { x: 0.0, y: 0.0, width: 150.0, height: 100.0 });
        assert_eq!(b[1], Rect { x: 0.0, y: 100.0, width: 150.0, height: 100.0 });
        assert_eq!(b[2], Rect { x: 150.0, y: 0.0, width: 150.0, height: 200.0 });
    }

    #[test]
    fn gaps_separate_boxes_and_stay_inside_the_area() {
        let area = Rect { x: 10.0, y: 20.0, width: 310.0, height: 200.0 };
        let b = DisplayFormat::Standard { columns: 2, rows: 2 }.boxes(area, 10.0);
        assert_eq!(b[0], Rect { x: 10.0, y: 20.0, width: 150.0, height: 95.0 });
        assert_eq!(b[1].x, 170.0);
        assert_eq!(b[3].y + b[3].height, 220.0);
    }
}
