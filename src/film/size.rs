//! Film sizes (Film Size ID, PS3.3 C.13.8) and page geometry.

use serde::{Deserialize, Serialize};

/// One Film Size ID with its physical size in portrait orientation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FilmSize {
    /// The defined term, as it appears in (2010,0050).
    pub id: &'static str,
    /// Width in millimetres, portrait.
    pub width_mm: f64,
    /// Height in millimetres, portrait.
    pub height_mm: f64,
}

/// Millimetres in an inch: the one conversion between film sizes (mm) and resolutions
/// (dots per inch).
pub const MM_PER_INCH: f64 = 25.4;

const fn inches(id: &'static str, w: f64, h: f64) -> FilmSize {
    FilmSize {
        id,
        width_mm: w * MM_PER_INCH,
        height_mm: h * MM_PER_INCH,
    }
}

const fn mm(id: &'static str, w: f64, h: f64) -> FilmSize {
    FilmSize {
        id,
        width_mm: w,
        height_mm: h,
    }
}

/// The twelve Film Size IDs of PS3.3 C.13.8 (Basic Film Box Presentation Module).
/// 10INX14IN is taken as 10 × 14 in; the standard notes it corresponds to 25.7 × 36.4 cm.
pub const FILM_SIZES: [FilmSize; 12] = [
    inches("8INX10IN", 8.0, 10.0),
    inches("8_5INX11IN", 8.5, 11.0),
    inches("10INX12IN", 10.0, 12.0),
    inches("10INX14IN", 10.0, 14.0),
    inches("11INX14IN", 11.0, 14.0),
    inches("11INX17IN", 11.0, 17.0),
    inches("14INX14IN", 14.0, 14.0),
    inches("14INX17IN", 14.0, 17.0),
    mm("24CMX24CM", 240.0, 240.0),
    mm("24CMX30CM", 240.0, 300.0),
    mm("A4", 210.0, 297.0),
    mm("A3", 297.0, 420.0),
];

impl FilmSize {
    /// Looks a Film Size ID up; `None` for anything the standard does not define.
    pub fn from_id(id: &str) -> Option<FilmSize> {
        FILM_SIZES.iter().copied().find(|s| s.id == id)
    }

    /// Width and height in millimetres as the film lies in `orientation`.
    pub fn dimensions_mm(self, orientation: Orientation) -> (f64, f64) {
        match orientation {
            Orientation::Portrait => (self.width_mm, self.height_mm),
            Orientation::Landscape => (self.height_mm, self.width_mm),
        }
    }
}

/// Film Orientation (2010,0040).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Orientation {
    #[default]
    Portrait,
    Landscape,
}

impl Orientation {
    pub fn from_term(term: &str) -> Option<Self> {
        match term {
            "PORTRAIT" => Some(Self::Portrait),
            "LANDSCAPE" => Some(Self::Landscape),
            _ => None,
        }
    }
    pub fn term(self) -> &'static str {
        match self {
            Self::Portrait => "PORTRAIT",
            Self::Landscape => "LANDSCAPE",
        }
    }
}

/// The size of a page: a film size in an orientation, at a resolution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageGeometry {
    /// Width in PDF points (1/72 in).
    pub width_pt: f64,
    /// Height in PDF points.
    pub height_pt: f64,
    /// Width in device pixels.
    pub width_px: u32,
    /// Height in device pixels.
    pub height_px: u32,
    /// Device resolution, pixels per inch.
    pub dpi: u32,
}

impl PageGeometry {
    /// Landscape swaps the film's width and height; pixel sizes are rounded to the nearest pixel.
    pub fn new(size: FilmSize, orientation: Orientation, dpi: u32) -> Self {
        let (w_mm, h_mm) = size.dimensions_mm(orientation);
        let px = |mm: f64| ((mm / MM_PER_INCH) * f64::from(dpi)).round().max(1.0) as u32;
        PageGeometry {
            width_pt: w_mm / MM_PER_INCH * 72.0,
            height_pt: h_mm / MM_PER_INCH * 72.0,
            width_px: px(w_mm),
            height_px: px(h_mm),
            dpi,
        }
    }

    /// Number of device pixels in the page.
    pub fn pixel_count(&self) -> u64 {
        u64::from(self.width_px) * u64::from(self.height_px)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_film_size_has_the_standard_dimensions() {
        let expect = [
            ("8INX10IN", 203.2, 254.0),
            ("8_5INX11IN", 215.9, 279.4),
            ("10INX12IN", 254.0, 304.8),
            ("10INX14IN", 254.0, 355.6),
            ("11INX14IN", 279.4, 355.6),
            ("11INX17IN", 279.4, 431.8),
            ("14INX14IN", 355.6, 355.6),
            ("14INX17IN", 355.6, 431.8),
            ("24CMX24CM", 240.0, 240.0),
            ("24CMX30CM", 240.0, 300.0),
            ("A4", 210.0, 297.0),
            ("A3", 297.0, 420.0),
        ];
        assert_eq!(expect.len(), FILM_SIZES.len());
        for (id, w, h) in expect {
            let s = FilmSize::from_id(id).unwrap();
            assert!((s.width_mm - w).abs() < 1e-9, "{id} width");
            assert!((s.height_mm - h).abs() < 1e-9, "{id} height");
        }
        assert!(FilmSize::from_id("8.5INX11IN").is_none());
        assert!(FilmSize::from_id("14X17").is_none());
    }

    #[test]
    fn fourteen_by_seventeen_at_300_dpi() {
        let s = FilmSize::from_id("14INX17IN").unwrap();
        let p = PageGeometry::new(s, Orientation::Portrait, 300);
        assert_eq!((p.width_px, p.height_px), (4200, 5100));
        assert!((p.width_pt - 1008.0).abs() < 1e-9 && (p.height_pt - 1224.0).abs() < 1e-9);
        let l = PageGeometry::new(s, Orientation::Landscape, 300);
        assert_eq!((l.width_px, l.height_px), (5100, 4200));
        assert!((l.width_pt - 1224.0).abs() < 1e-9);
    }
}
