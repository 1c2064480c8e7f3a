//! What each queue accepts, as text for the conformance statement (`filmd layouts`):
//! PS3.4 H.3.4 asks an SCP to state its printable pixel matrix per film size, its display
//! formats with the position and size of every custom box, and its attribute values; and
//! the identity each queue reports in Printer N-GET, with its annotation format aliases.

use crate::config::{QueueSettings, Settings};
use crate::film::layout::{MAX_BOXES, MAX_BOXES_PER_LINE, SlideFrame};
use crate::film::{
    DisplayFormat, FilmSize, FormatKind, Magnification, Orientation, PrintableArea, Smoothing,
};
use std::fmt::Write;

/// Describes every queue of `settings`.
pub fn describe(settings: &Settings) -> String {
    let annotation_formats: Vec<(String, usize)> = settings
        .annotation_formats
        .iter()
        .map(|f| (f.id.clone(), f.positions.len()))
        .collect();
    let mut out = String::new();
    for (i, q) in settings.queues.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        describe_queue(&mut out, settings, q, &annotation_formats);
    }
    out
}

fn describe_queue(
    out: &mut String,
    settings: &Settings,
    q: &QueueSettings,
    annotation_formats: &[(String, usize)],
) {
    let sizes = &q.film_sizes;
    let area = |size: FilmSize, orientation: Orientation, dpi: u32| {
        PrintableArea::new(size, orientation, dpi, q.margin_mm, q.gap_mm)
    };
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "queue {:?}: called AE title(s) {}",
        q.name,
        q.ae_titles.join(", ")
    );
    let id = &q.identity;
    let _ = writeln!(
        out,
        "  Printer Name \"{}\"; Manufacturer \"{}\"; Model Name \"{}\"; Serial Number \"{}\"; Software Versions \"{}\"",
        q.printer_name,
        id.manufacturer,
        id.model,
        id.serial_number,
        id.software_versions.join("\\")
    );
    let _ = writeln!(
        out,
        "  Requested Resolution ID: STANDARD {} dpi, HIGH {} dpi; margin {} mm, gap {} mm; color {}",
        q.dpi,
        q.high_dpi,
        q.margin_mm,
        q.gap_mm,
        if q.color { "yes" } else { "no" }
    );
    let _ = writeln!(
        out,
        "  Film Size ID (default {}): printable pixels, portrait, STANDARD / HIGH",
        q.default_film_size.id
    );
    for size in sizes {
        let matrix = |dpi| {
            let a = area(*size, Orientation::Portrait, dpi);
            format!("{} x {}", a.rect.width.round(), a.rect.height.round())
        };
        let _ = writeln!(
            out,
            "    {:<11} {:>9.1} x {:>5.1} mm  {:>11} / {}",
            size.id,
            size.width_mm,
            size.height_mm,
            matrix(q.dpi),
            matrix(q.high_dpi)
        );
    }
    let _ = writeln!(out, "  Image Display Format:");
    // Only the kinds the queue accepts (`display_formats`).
    let shows = |kind: FormatKind| q.display_formats.contains(&kind);
    if shows(FormatKind::Standard) {
        let _ = writeln!(
            out,
            "    STANDARD\\C,R    C columns by R rows, each 1..{MAX_BOXES_PER_LINE}"
        );
    }
    if shows(FormatKind::Row) {
        let _ = writeln!(
            out,
            "    ROW\\a,b,...     up to {MAX_BOXES_PER_LINE} rows of 1..{MAX_BOXES_PER_LINE} boxes (at most {MAX_BOXES} boxes)"
        );
    }
    if shows(FormatKind::Col) {
        let _ = writeln!(
            out,
            "    COL\\a,b,...     up to {MAX_BOXES_PER_LINE} columns of 1..{MAX_BOXES_PER_LINE} boxes (at most {MAX_BOXES} boxes)"
        );
    }
    for format in [DisplayFormat::Slide, DisplayFormat::Superslide] {
        if !shows(format.kind()) {
            continue;
        }
        let Some(SlideFrame { image_mm, pitch_mm }) = format.slide_frame() else {
            continue;
        };
        let _ = writeln!(
            out,
            "    {:<15} {} x {} mm images on a {} x {} mm pitch, boxes per film (portrait / landscape):",
            format.to_string(),
            image_mm.0,
            image_mm.1,
            pitch_mm.0,
            pitch_mm.1
        );
        let counts: Vec<String> = sizes
            .iter()
            .map(|size| {
                let count = |o| format.box_count(&area(*size, o, q.dpi));
                format!(
                    "{} {}/{}",
                    size.id,
                    count(Orientation::Portrait),
                    count(Orientation::Landscape)
                )
            })
            .collect();
        for line in counts.chunks(4) {
            let _ = writeln!(out, "      {}", line.join(", "));
        }
    }
    for layout in settings
        .custom_layouts
        .iter()
        .filter(|_| shows(FormatKind::Custom))
    {
        let _ = writeln!(
            out,
            "    CUSTOM\\{:<8} {} boxes: {}",
            layout.id,
            layout.boxes.len(),
            layout.description
        );
        for (n, b) in layout.boxes.iter().enumerate() {
            let _ = writeln!(
                out,
                "      position {:>2}: x {:.4}, y {:.4}, width {:.4}, height {:.4} of the printable area",
                n + 1,
                b.x,
                b.y,
                b.width,
                b.height
            );
        }
    }
    let magnifications = [
        Magnification::Replicate,
        Magnification::Bilinear,
        Magnification::Cubic,
        Magnification::None,
    ];
    let terms: Vec<&str> = magnifications.iter().map(|m| m.term()).collect();
    let _ = writeln!(
        out,
        "  Magnification Type: {} (default {})",
        terms.join(", "),
        q.default_magnification.term()
    );
    let smoothing: Vec<&str> = Smoothing::ALL.iter().map(|s| s.term()).collect();
    let _ = writeln!(
        out,
        "  Smoothing Type (CUBIC): {} (default {})",
        smoothing.join(", "),
        Smoothing::default().term()
    );
    let _ = writeln!(
        out,
        "  Requested Decimate/Crop Behavior: DECIMATE, CROP, FAIL; Requested Image Size: mm, 0 < size <= 1000"
    );
    let media: Vec<&str> = q.medium_types.iter().map(|m| m.term()).collect();
    let _ = writeln!(
        out,
        "  Medium Type: {} (default {})",
        media.join(", "),
        q.default_medium_type.term()
    );
    if annotation_formats.is_empty() {
        let _ = writeln!(out, "  Annotation Display Format ID: none");
    } else {
        let ids: Vec<String> = annotation_formats
            .iter()
            .map(|(id, n)| format!("{id} ({n})"))
            .collect();
        let _ = writeln!(
            out,
            "  Annotation Display Format ID (positions): {}",
            ids.join(", ")
        );
    }
    if !q.annotation_aliases.is_empty() {
        let aliases: Vec<String> = q
            .annotation_aliases
            .iter()
            .map(|(alias, format)| format!("{alias} = {format}"))
            .collect();
        let _ = writeln!(
            out,
            "  Annotation Display Format ID aliases: {}",
            aliases.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, load};
    use crate::film::AnnotationFormats;
    use std::sync::Arc;

    fn embedded() -> Settings {
        let mut settings = load(None, &Overrides::default())
            .expect("embedded")
            .settings;
        settings.annotation_formats = AnnotationFormats::embedded().clone();
        settings
    }

    #[test]
    fn the_default_queue_lists_every_display_format_and_the_slide_counts() {
        let text = describe(&embedded());
        for needle in [
            "queue \"default\"",
            "14INX17IN",
            "4200 x 5100 / 8400 x 10200",
            "SLIDE",
            "14INX17IN 144/143",
            "SUPERSLIDE",
            "CUSTOM\\1",
            "position  3: x 0.5000, y 0.6000",
            "REPLICATE, BILINEAR, CUBIC, NONE (default CUBIC)",
            "SHARP, MEDIUM, SMOOTH (default SHARP)",
            "LABEL (1)",
            "Printer Name \"filmd default\"; Manufacturer \"filmd project\"",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
    }

    #[test]
    fn a_queue_lists_its_own_identity_and_its_aliases() {
        let mut settings = embedded();
        {
            let q = Arc::make_mut(&mut settings.queues[0]);
            q.printer_name = "DRYVIEW 5950".into();
            q.identity.model = "DRYVIEW 5950".into();
            q.identity.software_versions = vec!["5.0".into(), "fw 2".into()];
            q.annotation_aliases =
                crate::config::AnnotationAliases::from_pairs([("ANNOTATION", "TOP_BOTTOM")]);
        }
        let text = describe(&settings);
        for needle in [
            "Printer Name \"DRYVIEW 5950\"; Manufacturer \"filmd project\"; Model Name \"DRYVIEW 5950\"; Serial Number \"0\"; Software Versions \"5.0\\fw 2\"",
            "Annotation Display Format ID aliases: ANNOTATION = TOP_BOTTOM",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
        assert!(!describe(&embedded()).contains("aliases"));
    }

    #[test]
    fn a_queue_lists_only_the_display_formats_it_accepts() {
        let mut settings = embedded();
        Arc::make_mut(&mut settings.queues[0]).display_formats =
            vec![FormatKind::Standard, FormatKind::Slide];
        let text = describe(&settings);
        assert!(text.contains("STANDARD\\C,R"), "{text}");
        assert!(text.contains("    SLIDE "), "{text}");
        for absent in ["ROW\\a", "COL\\a", "SUPERSLIDE", "CUSTOM\\1"] {
            assert!(!text.contains(absent), "{absent:?} listed:\n{text}");
        }
    }
}
