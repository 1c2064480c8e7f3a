//! Which document format to send a printer, decided from its attributes alone.

use super::attrs::{PrinterSnapshot, Resolution};

/// PWG raster colour space and bit depth (PWG 5102.4 §4.3.2.1, keywords of
/// `pwg-raster-document-type-supported`, PWG 5100.14 §5.6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PwgType {
    /// 8-bit gray, 0 = black (`sgray_8`).
    Sgray8,
    /// 8-bit sRGB (`srgb_8`).
    Srgb8,
}

impl PwgType {
    pub fn keyword(self) -> &'static str {
        match self {
            PwgType::Sgray8 => "sgray_8",
            PwgType::Srgb8 => "srgb_8",
        }
    }
}

/// A document format filmd can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    Pdf,
    PwgRaster {
        kind: PwgType,
        resolution: Resolution,
    },
    Jpeg,
    Png,
}

impl DocumentFormat {
    /// The MIME type for `document-format` (RFC 8011 §5.1.10).
    pub fn mime(&self) -> &'static str {
        match self {
            DocumentFormat::Pdf => "application/pdf",
            DocumentFormat::PwgRaster { .. } => "image/pwg-raster",
            DocumentFormat::Jpeg => "image/jpeg",
            DocumentFormat::Png => "image/png",
        }
    }
}

/// The best format this printer accepts for a film: PDF when offered (the film page at
/// its exact physical size, resampled by nobody); else PWG raster, the one format every
/// IPP Everywhere printer must take (PWG 5100.14 §4.4), as `sgray_8` for gray films and
/// `srgb_8` for color films when the printer offers it (gray otherwise), at the
/// supported resolution nearest `preferred_dpi`; else JPEG, else PNG. `None` when the
/// printer takes none of them.
pub fn choose_format(
    printer: &PrinterSnapshot,
    color: bool,
    preferred_dpi: u32,
) -> Option<DocumentFormat> {
    if printer.supports_format("application/pdf") {
        return Some(DocumentFormat::Pdf);
    }
    if printer.supports_format("image/pwg-raster")
        && let Some(pwg) = choose_pwg(printer, color, preferred_dpi)
    {
        return Some(pwg);
    }
    if printer.supports_format("image/jpeg") {
        return Some(DocumentFormat::Jpeg);
    }
    if printer.supports_format("image/png") {
        return Some(DocumentFormat::Png);
    }
    None
}

fn choose_pwg(
    printer: &PrinterSnapshot,
    color: bool,
    preferred_dpi: u32,
) -> Option<DocumentFormat> {
    let gray = printer.supports_pwg_type("sgray_8");
    let rgb = printer.supports_pwg_type("srgb_8");
    let kind = match (color, gray, rgb) {
        (true, _, true) => PwgType::Srgb8,
        (_, true, _) => PwgType::Sgray8,
        (false, false, true) => PwgType::Srgb8,
        _ => return None,
    };
    let resolution = nearest_resolution(&printer.pwg_resolutions, preferred_dpi)?;
    Some(DocumentFormat::PwgRaster { kind, resolution })
}

/// The resolution nearest `preferred` in both directions; on a tie the finer one, since
/// downsampling a film loses less than printing it coarser than asked.
fn nearest_resolution(list: &[Resolution], preferred: u32) -> Option<Resolution> {
    let distance = |r: &Resolution| r.x.abs_diff(preferred) as u64 + r.y.abs_diff(preferred) as u64;
    // Square resolutions first: filmd composes films with one dpi for both axes.
    list.iter().copied().min_by(|a, b| {
        (a.x != a.y)
            .cmp(&(b.x != b.y))
            .then(distance(a).cmp(&distance(b)))
            .then((b.x as u64 * b.y as u64).cmp(&(a.x as u64 * a.y as u64)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ipp::attrs::PrinterState;

    fn printer(formats: &[&str], types: &[&str], dpis: &[(u32, u32)]) -> PrinterSnapshot {
        PrinterSnapshot {
            state: PrinterState::Idle,
            state_reasons: vec!["none".into()],
            state_message: None,
            make_and_model: None,
            document_formats: formats.iter().map(|s| s.to_string()).collect(),
            pwg_resolutions: dpis.iter().map(|&(x, y)| Resolution { x, y }).collect(),
            pwg_types: types.iter().map(|s| s.to_string()).collect(),
            color_supported: false,
            media_supported: vec![],
            media_ready: vec![],
            media_default: None,
            copies_supported: None,
            print_scaling_supported: vec![],
            accepting_jobs: true,
        }
    }

    const EVE: [&str; 3] = ["application/octet-stream", "image/pwg-raster", "image/urf"];

    #[test]
    fn pdf_wins_when_offered() {
        let p = printer(
            &["image/png", "image/pwg-raster", "application/pdf"],
            &["sgray_8"],
            &[(300, 300)],
        );
        assert_eq!(choose_format(&p, false, 300), Some(DocumentFormat::Pdf));
        assert_eq!(choose_format(&p, true, 600), Some(DocumentFormat::Pdf));
    }

    #[test]
    fn pwg_gray_at_nearest_resolution() {
        let p = printer(&EVE, &["black_1", "sgray_8"], &[(300, 300), (600, 600)]);
        let pwg = |kind, x, y| DocumentFormat::PwgRaster {
            kind,
            resolution: Resolution { x, y },
        };
        assert_eq!(
            choose_format(&p, false, 300),
            Some(pwg(PwgType::Sgray8, 300, 300))
        );
        assert_eq!(
            choose_format(&p, false, 500),
            Some(pwg(PwgType::Sgray8, 600, 600))
        );
        assert_eq!(
            choose_format(&p, false, 100),
            Some(pwg(PwgType::Sgray8, 300, 300))
        );
        // Tie (450 is as far from 300 as from 600): the finer resolution.
        assert_eq!(
            choose_format(&p, false, 450),
            Some(pwg(PwgType::Sgray8, 600, 600))
        );
        // A color film on a gray-only printer prints gray.
        assert_eq!(
            choose_format(&p, true, 300),
            Some(pwg(PwgType::Sgray8, 300, 300))
        );
        assert_eq!(
            choose_format(&p, false, 300).unwrap().mime(),
            "image/pwg-raster"
        );
    }

    #[test]
    fn pwg_color_when_srgb_offered() {
        let p = printer(&EVE, &["sgray_8", "srgb_8"], &[(600, 600)]);
        let Some(DocumentFormat::PwgRaster { kind, .. }) = choose_format(&p, true, 300) else {
            panic!("expected PWG");
        };
        assert_eq!(kind, PwgType::Srgb8);
        let Some(DocumentFormat::PwgRaster { kind, .. }) = choose_format(&p, false, 300) else {
            panic!("expected PWG");
        };
        assert_eq!(kind, PwgType::Sgray8);
        // Only srgb_8: gray films go out as RGB.
        let p = printer(&EVE, &["srgb_8"], &[(600, 600)]);
        let Some(DocumentFormat::PwgRaster { kind, .. }) = choose_format(&p, false, 300) else {
            panic!("expected PWG");
        };
        assert_eq!(kind, PwgType::Srgb8);
    }

    #[test]
    fn fallbacks_and_none() {
        // PWG raster offered but only black_1, or no resolutions: not usable.
        let p = printer(
            &["image/pwg-raster", "image/jpeg"],
            &["black_1"],
            &[(300, 300)],
        );
        assert_eq!(choose_format(&p, false, 300), Some(DocumentFormat::Jpeg));
        let p = printer(&["image/pwg-raster", "image/png"], &["sgray_8"], &[]);
        assert_eq!(choose_format(&p, false, 300), Some(DocumentFormat::Png));
        let p = printer(&["application/octet-stream", "image/urf"], &[], &[]);
        assert_eq!(choose_format(&p, false, 300), None);
    }
}
