//! Document building for an IPP printer: a job's films rendered for the printer as it is
//! at submission, in the format it takes (PDF when offered, else PWG raster at one of its
//! resolutions, else PNG for a one-film job; `document-format-supported`), on the media it
//! has loaded (`media-ready`, else `media-supported`) and in colour only if it prints
//! colour.
//!
//! A film larger than the paper is scaled down to fit, never cropped; the scale is
//! logged and recorded in the job's note. Number of Copies goes to the printer as the
//! `copies` job attribute, or, for a printer whose `copies-supported` is smaller, as that
//! many collated copies in the document (see [`render`]).

use crate::backend::ipp::{
    DocumentBody, DocumentFormat, PrinterSnapshot, PwgType, Resolution, choose_format,
};
use crate::backend::media::{MediaChoice, MediaFit, choose_media, fit_page};
use crate::backend::pwg::{ImageBox, PwgPage, PwgWriter};
use crate::film::compose::compose;
use crate::film::{Device, Page};
use crate::outputs::archive::{compose_compressed, job_pdf_copies};
use crate::spool::{DeliveryError, PrintJob};
use std::path::Path;

/// Most copies of a job laid out in one document for a printer that makes no copies.
pub(super) const MAX_DOCUMENT_COPIES: u32 = 99;

/// A printer document ready to send.
pub(super) struct Rendered {
    /// The document: in memory (PDF, PNG, or any format without a scratch file), or the
    /// PWG raster scratch file it was written to.
    pub(super) body: DocumentBody,
    /// The `copies` job attribute: the requested copies, or 1 when they are in the
    /// document because the printer cannot make copies itself.
    pub(super) copies: u32,
    pub(super) format: DocumentFormat,
    pub(super) media: Option<MediaChoice>,
    pub(super) color: bool,
    /// `print-scaling` for a PDF the printer scales itself ([`pdf_scaling`]).
    pub(super) print_scaling: Option<String>,
}

/// The media a job's films go on, and how: chosen for its largest film, among the
/// printer's loaded media first, then among all it supports (when none of the loaded
/// ones is a size filmd can read, e.g. only vendor or roll names).
pub(super) fn media_for(job: &PrintJob, snapshot: &PrinterSnapshot) -> Option<MediaChoice> {
    let film = job.films.iter().max_by(|a, b| {
        (a.size.width_mm * a.size.height_mm).total_cmp(&(b.size.width_mm * b.size.height_mm))
    })?;
    let (w, h) = (film.size.width_mm, film.size.height_mm);
    choose_media(w, h, &snapshot.media_ready)
        .or_else(|| choose_media(w, h, &snapshot.media_supported))
}

pub(super) fn fit_note(choice: &MediaChoice) -> String {
    match choice.fit {
        MediaFit::Exact => format!("printer media {}", choice.media.name),
        MediaFit::Holds => format!("printer media {} (film at true size)", choice.media.name),
        MediaFit::Scaled => format!(
            "printer media {}: film scaled to {:.1}% to fit",
            choice.media.name,
            choice.scale * 100.0
        ),
    }
}

/// Renders `job` for a printer whose attributes are `snapshot`. CPU-bound.
///
/// Number of Copies goes to the printer as the `copies` attribute when its
/// `copies-supported` allows that many; otherwise (an IPP Everywhere printer taking only
/// raster often supports 1 copy) the document holds the films that many times, collated,
/// and `copies` is 1: either way each copy is printed once.
///
/// A PWG raster document, which grows with films × copies (several MB a page), is
/// written to `scratch` when given and streamed from there, never held in memory whole.
pub(super) fn render(
    job: &PrintJob,
    snapshot: &PrinterSnapshot,
    copies: u32,
    scratch: Option<&Path>,
) -> Result<Rendered, DeliveryError> {
    let copies = copies.max(1);
    let printer_copies = snapshot
        .copies_supported
        .is_none_or(|(_, max)| i64::from(copies) <= i64::from(max));
    // Copies laid out in the document: each film is composed and encoded once and its
    // page repeated, so memory and time do not grow with the copies.
    let in_document = if printer_copies { 1 } else { copies };
    if in_document > MAX_DOCUMENT_COPIES {
        return Err(DeliveryError::Permanent(format!(
            "{copies} copies: the printer makes at most {} itself and filmd puts at most \
             {MAX_DOCUMENT_COPIES} in one document",
            snapshot.copies_supported.map(|(_, m)| m).unwrap_or(1)
        )));
    }
    let copies = if printer_copies { copies } else { 1 };
    let wants_color = job.films.iter().any(|f| f.color) && !job.device.gray_only;
    let color = wants_color && snapshot.color_supported;
    let media = media_for(job, snapshot);
    let mut format = choose_format(snapshot, color, job.device.dpi).ok_or_else(|| {
        DeliveryError::Permanent(format!(
            "the printer takes none of PDF, PWG raster, PNG (document-format-supported: {})",
            snapshot.document_formats.join(", ")
        ))
    })?;
    if format == DocumentFormat::Jpeg {
        // filmd writes no lossy films: PNG if the printer takes it.
        if snapshot.supports_format("image/png") {
            format = DocumentFormat::Png;
        } else {
            return Err(DeliveryError::Permanent(
                "the printer takes JPEG but neither PDF, PWG raster nor PNG; filmd sends no \
                 lossy films"
                    .into(),
            ));
        }
    }
    let body = match format {
        DocumentFormat::Pdf => DocumentBody::Bytes(job_pdf_copies(job, in_document, None)?),
        DocumentFormat::PwgRaster { kind, resolution } => {
            let media = media.as_ref().ok_or_else(|| {
                DeliveryError::Permanent(format!(
                    "no PWG media name among the printer's media ({})",
                    snapshot.media_supported.join(", ")
                ))
            })?;
            match scratch {
                None => DocumentBody::Bytes(pwg_document(
                    job,
                    kind,
                    resolution,
                    media,
                    in_document,
                    Vec::new(),
                )?),
                Some(path) => {
                    let io = |e: std::io::Error| {
                        DeliveryError::Retryable(format!("writing {}: {e}", path.display()))
                    };
                    let file = std::fs::File::create(path).map_err(io)?;
                    let out = std::io::BufWriter::with_capacity(1 << 20, file);
                    let out = pwg_document(job, kind, resolution, media, in_document, out)?;
                    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
                    let len = file.metadata().map_err(io)?.len();
                    DocumentBody::File {
                        path: path.to_path_buf(),
                        len,
                    }
                }
            }
        }
        DocumentFormat::Png => {
            if job.films.len() != 1 || in_document != 1 {
                return Err(DeliveryError::Permanent(format!(
                    "the printer takes PNG (one page) only; this job has {} film(s) and \
                     {in_document} copies to lay out",
                    job.films.len()
                )));
            }
            // Compressed while composed, strip by strip, as for a PDF.
            let (page, image) = compose_compressed(&job.films[0], &job.device);
            DocumentBody::Bytes(
                crate::backend::png::png_from_zlib(&page, &image)
                    .map_err(|e| DeliveryError::Permanent(format!("PNG encoding: {e}")))?,
            )
        }
        DocumentFormat::Jpeg => unreachable!("replaced above"),
    };
    let print_scaling = match format {
        DocumentFormat::Pdf => pdf_scaling(media.as_ref(), snapshot),
        _ => None,
    };
    Ok(Rendered {
        body,
        copies,
        format,
        media,
        color,
        print_scaling,
    })
}

/// What to ask of a printer's own scaling for a PDF page at film size (PWG 5100.13
/// §6.2.20 print-scaling): `fit` (else `auto-fit`) when the film is larger than the media
/// or of its size, so that nothing is cut off at the margins; `none` when the sheet is
/// larger, so that it prints at its true size
/// (a measured film must not be enlarged to fill the sheet); nothing when the printer
/// does not list the value. PWG raster pages are fitted by filmd and need none.
pub(super) fn pdf_scaling(
    media: Option<&MediaChoice>,
    snapshot: &PrinterSnapshot,
) -> Option<String> {
    let supported = |v: &&str| snapshot.print_scaling_supported.iter().any(|s| s == v);
    let want = match media?.fit {
        // Exact covers films up to a few mm larger than the sheet, and a sheet of the
        // film's own size still has the printer's margins: fit, never clip.
        MediaFit::Scaled | MediaFit::Exact => ["fit", "auto-fit"].into_iter().find(supported),
        MediaFit::Holds => Some("none").filter(supported),
    };
    want.map(String::from)
}

/// Every film composed at the printer's resolution, fitted onto its media and written as
/// one PWG raster document (PWG 5102.4), `copies` times over, collated. One copy is
/// streamed page by page; more are encoded once per film and the pages repeated.
pub(super) fn pwg_document<W: std::io::Write>(
    job: &PrintJob,
    kind: PwgType,
    resolution: Resolution,
    media: &MediaChoice,
    copies: u32,
    out: W,
) -> Result<W, DeliveryError> {
    // Encoding errors are the film's; an I/O error is the scratch file's (a full disk).
    let encoding = |e: crate::backend::pwg::PwgError| match e {
        crate::backend::pwg::PwgError::Io(e) => {
            DeliveryError::Retryable(format!("writing the PWG document: {e}"))
        }
        e => DeliveryError::Permanent(format!("PWG encoding: {e}")),
    };
    let dpi = resolution.x.min(resolution.y);
    let device = Device {
        dpi,
        gray_only: kind == PwgType::Sgray8 || job.device.gray_only,
        ..job.device.clone()
    };
    let mut writer = PwgWriter::new(out).map_err(encoding)?;
    let mut encoded = Vec::new();
    for film in &job.films {
        let page = compose(film, &device);
        let page = if kind == PwgType::Srgb8 && page.channels == 1 {
            to_rgb(page)
        } else {
            page
        };
        let fitted = fit_page(&page, &media.media, dpi, 0.0)
            .map_err(|e| DeliveryError::Permanent(format!("fitting the film on the media: {e}")))?;
        let settings = PwgPage {
            page_size_name: media.media.name.clone(),
            print_content_optimize: "photo".into(),
            total_page_count: (job.films.len() as u32).saturating_mul(copies),
            image_box: Some(ImageBox { ..fitted.image_box }),
            ..PwgPage::default()
        };
        if copies <= 1 {
            writer.add_page(&fitted.page, &settings).map_err(encoding)?;
        } else {
            encoded.push(
                PwgWriter::<Vec<u8>>::encode_page(&fitted.page, &settings).map_err(encoding)?,
            );
        }
    }
    for _ in 0..copies {
        for page in &encoded {
            writer.add_encoded_page(page).map_err(encoding)?;
        }
    }
    Ok(writer.finish())
}

/// A gray page as sRGB (R = G = B), for a printer that takes only `srgb_8`.
pub(super) fn to_rgb(page: Page) -> Page {
    let pixels = page.pixels.iter().flat_map(|&g| [g, g, g]).collect();
    Page {
        channels: 3,
        pixels,
        ..page
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::backend::ipp::PrinterState;
    use crate::film::Film;

    /// What a default `ippeveprinter` says: PWG raster only (sgray_8), 300 and 600 dpi,
    /// letter and a #10 envelope loaded, one copy at most.
    pub(crate) fn pwg_printer(copies: (i32, i32)) -> PrinterSnapshot {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        PrinterSnapshot {
            state: PrinterState::Idle,
            state_reasons: list(&["none"]),
            state_message: None,
            make_and_model: None,
            document_formats: list(&["application/octet-stream", "image/pwg-raster", "image/urf"]),
            pwg_resolutions: vec![Resolution { x: 300, y: 300 }, Resolution { x: 600, y: 600 }],
            pwg_types: list(&["black_1", "sgray_8"]),
            color_supported: false,
            media_supported: list(&[
                "na_letter_8.5x11in",
                "na_legal_8.5x14in",
                "iso_a4_210x297mm",
                "na_number-10_4.125x9.5in",
            ]),
            media_ready: list(&["na_letter_8.5x11in", "na_number-10_4.125x9.5in"]),
            media_default: Some("na_letter_8.5x11in".into()),
            copies_supported: Some(copies),
            print_scaling_supported: vec![],
            accepting_jobs: true,
        }
    }

    use crate::film::fixtures::film;

    fn job(films: Vec<Film>) -> PrintJob {
        PrintJob {
            id: "j1".into(),
            uid: "2.25.1".into(),
            queue: "q".into(),
            calling_ae_title: "SCU".into(),
            film_session_label: "unit".into(),
            owner_id: String::new(),
            priority: "MED".into(),
            copies: 1,
            created_unix: 0,
            device: Device::default(),
            films,
        }
    }

    /// A page of a PWG raster document as the independent `pwgraster` decoder sees it.
    struct Decoded {
        width: u32,
        height: u32,
        dpi: (u32, u32),
        bits_per_pixel: u32,
        page_size_pt: (u32, u32),
        page_size_name: String,
        total_page_count: u32,
        pixels: Vec<u8>,
    }

    impl Decoded {
        fn at(&self, x: u32, y: u32) -> u8 {
            self.pixels[(y * self.width + x) as usize]
        }
    }

    /// The rendered document's bytes, wherever they are.
    fn bytes_of(r: &Rendered) -> Vec<u8> {
        match &r.body {
            DocumentBody::Bytes(b) => b.clone(),
            DocumentBody::File { path, len } => {
                let b = std::fs::read(path).unwrap();
                assert_eq!(b.len() as u64, *len);
                b
            }
        }
    }

    #[test]
    fn a_pwg_document_goes_to_the_scratch_file_with_the_same_bytes() {
        let two = job(vec![film(0), film(255)]);
        let dir = tempfile::tempdir().unwrap();
        let scratch = dir.path().join("job.print");
        let in_memory = render(&two, &pwg_printer((1, 1)), 3, None).unwrap();
        let on_disk = render(&two, &pwg_printer((1, 1)), 3, Some(&scratch)).unwrap();
        assert!(matches!(in_memory.body, DocumentBody::Bytes(_)));
        assert_eq!(
            on_disk.body,
            DocumentBody::File {
                path: scratch.clone(),
                len: std::fs::metadata(&scratch).unwrap().len()
            }
        );
        assert_eq!(bytes_of(&on_disk), bytes_of(&in_memory));
        assert_eq!(decode(&bytes_of(&on_disk)).len(), 6);
    }

    fn decode(doc: &[u8]) -> Vec<Decoded> {
        let mut reader = pwgraster::PWGReader::new(std::io::Cursor::new(doc), true).unwrap();
        let mut pages = Vec::new();
        while let Some(p) = reader
            .next_page(|page| {
                let h = page.header();
                h.validate().expect("valid header");
                let res = h.HWResolution()?;
                let size = h.PageSize()?;
                let mut d = Decoded {
                    width: h.Width()?,
                    height: h.Height()?,
                    dpi: (res.cross_feed_res_dpi, res.feed_res_dpi),
                    bits_per_pixel: h.BitsPerPixel()?,
                    page_size_pt: (size.width, size.height),
                    page_size_name: h.PageSizeName()?.0.to_string(),
                    total_page_count: h.TotalPageCount()?,
                    pixels: Vec::new(),
                };
                page.unpack(&mut d.pixels)?;
                Ok(d)
            })
            .unwrap()
        {
            pages.push(p);
        }
        pages
    }

    /// Letter at 300 dpi, with the 8×10 in film (2400 × 3000 px) centred at true size.
    const LETTER_PX: (u32, u32) = (2550, 3300);
    const FILM_AT: (u32, u32) = (75, 150);

    #[test]
    fn pwg_only_printer_gets_every_film_on_its_loaded_media() {
        let rendered = render(
            &job(vec![film(0), film(255)]),
            &pwg_printer((1, 1)),
            1,
            None,
        )
        .unwrap();
        assert_eq!(
            rendered.format,
            DocumentFormat::PwgRaster {
                kind: PwgType::Sgray8,
                resolution: Resolution { x: 300, y: 300 }
            }
        );
        assert_eq!(rendered.copies, 1);
        assert!(!rendered.color);
        let media = rendered.media.as_ref().unwrap();
        assert_eq!(media.media.name, "na_letter_8.5x11in");
        assert_eq!(media.fit, MediaFit::Holds);

        let pages = decode(&bytes_of(&rendered));
        assert_eq!(pages.len(), 2);
        for (page, film_gray) in pages.iter().zip([0u8, 255]) {
            assert_eq!((page.width, page.height), LETTER_PX);
            assert_eq!(page.dpi, (300, 300));
            assert_eq!(page.bits_per_pixel, 8);
            assert_eq!(page.page_size_pt, (612, 792));
            assert_eq!(page.page_size_name, "na_letter_8.5x11in");
            assert_eq!(page.total_page_count, 2);
            // Paper white around the film, the film's own gray inside it.
            assert_eq!(page.at(FILM_AT.0 - 1, 1650), 255);
            assert_eq!(page.at(1275, FILM_AT.1 - 1), 255);
            assert_eq!(page.at(2550 - FILM_AT.0, 1650), 255);
            assert_eq!(page.at(FILM_AT.0, FILM_AT.1), film_gray);
            assert_eq!(page.at(1275, 1650), film_gray);
            assert_eq!(page.at(FILM_AT.0 + 2399, FILM_AT.1 + 2999), film_gray);
        }
    }

    #[test]
    fn copies_go_in_the_document_when_the_printer_makes_none() {
        let two = job(vec![film(0), film(255)]);
        let rendered = render(&two, &pwg_printer((1, 1)), 3, None).unwrap();
        assert_eq!(rendered.copies, 1, "copies are in the document");
        let pages = decode(&bytes_of(&rendered));
        assert_eq!(pages.len(), 6);
        // Collated: film 1, film 2, film 1, film 2, ...
        let grays: Vec<u8> = pages.iter().map(|p| p.at(1275, 1650)).collect();
        assert_eq!(grays, [0, 255, 0, 255, 0, 255]);
        assert!(pages.iter().all(|p| p.total_page_count == 6));

        let rendered = render(&two, &pwg_printer((1, 99)), 3, None).unwrap();
        assert_eq!(rendered.copies, 3, "the printer makes the copies");
        assert_eq!(decode(&bytes_of(&rendered)).len(), 2);

        // A printer without copies-supported is asked for the copies.
        let mut unknown = pwg_printer((1, 1));
        unknown.copies_supported = None;
        assert_eq!(render(&two, &unknown, 3, None).unwrap().copies, 3);

        // A PDF printer that makes no copies: the pages repeat, collated.
        let mut pdf_only_one = pwg_printer((1, 1));
        pdf_only_one.document_formats.push("application/pdf".into());
        let rendered = render(&two, &pdf_only_one, 3, None).unwrap();
        assert_eq!(rendered.format, DocumentFormat::Pdf);
        assert_eq!(rendered.copies, 1);
        let doc = lopdf::Document::load_mem(&bytes_of(&rendered)).unwrap();
        let pages: Vec<_> = doc.get_pages().values().copied().collect();
        assert_eq!(pages.len(), 6);
        let image = |n: usize| doc.get_page_images(pages[n]).unwrap()[0].id;
        assert_eq!(
            (0..6).map(image).collect::<Vec<_>>(),
            [image(0), image(1), image(0), image(1), image(0), image(1)]
        );
        assert_ne!(image(0), image(1));

        // More copies than filmd lays out in one document: refused, not truncated.
        let one = job(vec![film(0)]);
        let err = render(&one, &pwg_printer((1, 1)), MAX_DOCUMENT_COPIES + 1, None)
            .err()
            .expect("too many copies");
        assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");
    }

    #[test]
    fn a_pdf_asks_the_printer_to_fit_a_large_film_and_keep_a_small_one_true_size() {
        let mut p = pwg_printer((1, 1));
        p.print_scaling_supported = ["auto", "auto-fit", "fill", "fit", "none"]
            .map(String::from)
            .to_vec();
        let letter = ["na_letter_8.5x11in".to_string()];
        let big = choose_media(355.6, 431.8, &letter).unwrap();
        assert_eq!(big.fit, MediaFit::Scaled, "14x17 in on letter");
        let small = choose_media(203.2, 254.0, &letter).unwrap();
        assert_eq!(small.fit, MediaFit::Holds, "8x10 in on letter");
        assert_eq!(pdf_scaling(Some(&big), &p).as_deref(), Some("fit"));
        assert_eq!(pdf_scaling(Some(&small), &p).as_deref(), Some("none"));
        let same = choose_media(215.9, 279.4, &letter).unwrap();
        assert_eq!(same.fit, MediaFit::Exact, "a letter-size film on letter");
        assert_eq!(
            pdf_scaling(Some(&same), &p).as_deref(),
            Some("fit"),
            "never clipped"
        );
        p.print_scaling_supported = vec!["auto-fit".into()];
        assert_eq!(pdf_scaling(Some(&big), &p).as_deref(), Some("auto-fit"));
        assert_eq!(pdf_scaling(Some(&small), &p), None);
        p.print_scaling_supported.clear();
        assert_eq!(pdf_scaling(Some(&big), &p), None);
        assert_eq!(pdf_scaling(None, &p), None);
    }
}
