//! IPP delivery end to end: a Print SCU prints to `filmd serve` whose queue delivers to a real
//! IPP printer on loopback (CUPS's `ippeveprinter`, which keeps every document it gets,
//! alone or behind an unprivileged `cupsd`), and what the printer received is checked:
//! the document format chosen from the printer's attributes, the PWG raster pages
//! (decoded with the independent `pwgraster` crate) or PDF pages, the media, the copies,
//! the job attributes (read back with `ipptool`), and that each job arrives exactly once,
//! also when the printer only appears after the films were accepted.

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use common::ipp_peers::{Cupsd, IppEve, IppEveOptions, free_port};
use common::pdf;
use common::scu::{
    COLOR_META, FilmSpec, GRAY_META, Scu, film_box, film_session, gray_image, image_box,
    print_film, referenced_uids, rgb_image,
};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use filmd::print::uids;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(Ippeveprinter)]
        pwg_only_printer_gets_every_film_and_copy_on_its_loaded_letter,
        #[needs(Ippeveprinter)]
        pdf_printer_gets_the_film_as_pdf_at_its_size_with_copies_as_attribute,
        #[needs(Ippeveprinter)]
        color_printer_gets_srgb_for_color_films_and_sgray_for_gray_ones,
        #[needs(Ippeveprinter, Cupsd)]
        cupsd_in_front_of_the_printer_delivers_the_film_once,
        #[needs(Ippeveprinter)]
        full_queue_refuses_with_c602_and_accepted_jobs_arrive_once_the_printer_appears,
    ]
}

/// Longest wait for a job to reach the printer and finish there (ippeveprinter
/// "prints" a job in a few seconds; filmd retries an unreachable printer with backoff).
const JOB_WAIT: Duration = Duration::from_secs(120);
/// How long a test keeps watching after the expected documents arrived, to see that no
/// job is delivered twice (several printer polls at `ipp_poll_secs = 1`).
const SETTLE: Duration = Duration::from_secs(4);

/// filmd with its first queue delivering to `uri`, polling the printer every second.
fn filmd_for(uri: &str) -> Server {
    let config = "[server]\nae_title = \"FILMD\"\n\n[[queue]]\nname = \"default\"\n\
                  dpi = 300\nipp_poll_secs = 1\n";
    Server::start_with(&["--ipp", uri], Some(config))
}

/// The value of `name (type) = value` in `ipptool -v` output.
fn ipptool_value(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix(name)?.strip_prefix(" (")?;
        Some(rest.split_once(") = ")?.1.to_string())
    })
}

/// The printer's job id of a kept document (`<job-id>-<job name>.<ext>`).
fn eve_job_id(kept: &Path) -> i32 {
    let name = kept.file_name().unwrap().to_str().unwrap();
    name.split('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("kept document name {name}"))
}

/// Waits until the printer kept `n` documents and every one of their jobs completed;
/// then watches for [`SETTLE`] that no further document arrives. Returns them sorted
/// by the printer's job id, with each job's attributes.
fn wait_delivered(eve: &IppEve, filmd: &Server, n: usize) -> Vec<(PathBuf, String)> {
    let start = Instant::now();
    let mut kept;
    loop {
        kept = eve.kept_documents();
        if kept.len() >= n {
            break;
        }
        assert!(
            start.elapsed() < JOB_WAIT,
            "printer kept {kept:?}, expected {n} documents; filmd log:\n{}\nprinter log:\n{}",
            filmd.log_text(),
            eve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = Vec::new();
    for path in kept {
        let id = eve_job_id(&path);
        let attrs = loop {
            let attrs = eve.ipptool_job_attributes(&eve.uri(), id);
            match ipptool_value(&attrs, "job-state").as_deref() {
                Some("completed") => break attrs,
                Some("aborted" | "canceled") => panic!(
                    "printer job {id} ended badly:\n{attrs}\nprinter log:\n{}",
                    eve.log()
                ),
                _ => {}
            }
            assert!(
                start.elapsed() < JOB_WAIT,
                "printer job {id} not completed:\n{attrs}"
            );
            std::thread::sleep(Duration::from_millis(250));
        };
        out.push((path, attrs));
    }
    std::thread::sleep(SETTLE);
    let now = eve.kept_documents();
    assert_eq!(
        now.len(),
        n,
        "a job arrived more than once or unexpectedly: {now:?}; filmd log:\n{}",
        filmd.log_text()
    );
    out.sort_by_key(|(p, _)| eve_job_id(p));
    out
}

/// A decoded PWG raster page.
struct PwgPage {
    width: u32,
    height: u32,
    dpi: (u32, u32),
    page_size_pt: (u32, u32),
    page_size_name: String,
    /// `sgray`, `srgb` or `other`.
    color_space: &'static str,
    num_colors: u32,
    bits_per_pixel: u32,
    pixels: Vec<u8>,
}

impl PwgPage {
    fn at(&self, x: u32, y: u32) -> &[u8] {
        let c = self.num_colors as usize;
        let i = (y as usize * self.width as usize + x as usize) * c;
        &self.pixels[i..i + c]
    }
}

/// Decodes a PWG raster document with `pwgraster` (not filmd's own code).
fn decode_pwg(doc: &[u8]) -> Vec<PwgPage> {
    assert!(doc.starts_with(b"RaS2"), "not PWG raster: {:?}", &doc[..8]);
    let mut reader = pwgraster::PWGReader::new(std::io::Cursor::new(doc), true).unwrap();
    let mut pages = Vec::new();
    while let Some(p) = reader
        .next_page(|page| {
            let h = page.header();
            h.validate().expect("valid PWG page header");
            let res = h.HWResolution()?;
            let size = h.PageSize()?;
            let color_space = match h.ColorSpace()? {
                pwgraster::types::ColorSpace::Sgray => "sgray",
                pwgraster::types::ColorSpace::Srgb => "srgb",
                _ => "other",
            };
            let mut d = PwgPage {
                width: h.Width()?,
                height: h.Height()?,
                dpi: (res.cross_feed_res_dpi, res.feed_res_dpi),
                page_size_pt: (size.width, size.height),
                page_size_name: h.PageSizeName()?.0.to_string(),
                color_space,
                num_colors: h.NumColors()?,
                bits_per_pixel: h.BitsPerPixel()?,
                pixels: Vec::new(),
            };
            page.unpack(&mut d.pixels)?;
            Ok(d)
        })
        .expect("PWG raster decodes")
    {
        pages.push(p);
    }
    pages
}

/// An 8-bit MONOCHROME2 image, 80 × 100 (the 4:5 of an 8×10 in film): left half 0
/// (prints at Max Density, black), right half 255 (Min Density).
fn half_dark_image() -> InMemDicomObject {
    let pixels: Vec<u16> = (0..100)
        .flat_map(|_| (0..80).map(|x| if x < 40 { 0 } else { 255 }))
        .collect();
    gray_image(100, 80, 8, "MONOCHROME2", &pixels)
}

/// An RGB image, 80 × 100: left half red, right half blue.
fn red_blue_image() -> InMemDicomObject {
    let pixels: Vec<[u8; 3]> = (0..100)
        .flat_map(|_| (0..80).map(|x| if x < 40 { [255, 0, 0] } else { [0, 0, 255] }))
        .collect();
    rgb_image(100, 80, &pixels)
}

/// Prints one film session holding one film box per entry of `films` (each with one
/// image in its first box) with Number of Copies `copies`, by N-ACTION on the session:
/// one print job. Every step must succeed.
fn print_session(port: u16, meta: &str, copies: u32, films: &[(&str, &str, InMemDicomObject)]) {
    let mut scu = Scu::connect(port, &[meta]);
    let session = filmd::print::new_uid();
    let r = scu.n_create(
        meta,
        uids::BASIC_FILM_SESSION,
        Some(&session),
        &film_session(copies, "ipp delivery"),
    );
    assert_eq!(r.status(), 0x0000, "film session N-CREATE");
    let color = meta == COLOR_META;
    let box_class = if color {
        uids::BASIC_COLOR_IMAGE_BOX
    } else {
        uids::BASIC_GRAYSCALE_IMAGE_BOX
    };
    for (size, format, image) in films {
        let r = scu.n_create(
            meta,
            uids::BASIC_FILM_BOX,
            None,
            &film_box(&session, format, size, "PORTRAIT", &[]),
        );
        assert_eq!(r.status(), 0x0000, "film box N-CREATE");
        let boxes = referenced_uids(
            r.data.as_ref().expect("film box data"),
            tags::REFERENCED_IMAGE_BOX_SEQUENCE,
        );
        let r = scu.n_set(
            meta,
            box_class,
            &boxes[0],
            &image_box(1, image.clone(), color, &[]),
        );
        assert_eq!(r.status(), 0x0000, "image box N-SET");
    }
    let r = scu.n_action(meta, uids::BASIC_FILM_SESSION, &session);
    assert_eq!(r.status(), 0x0000, "film session N-ACTION");
    let r = scu.n_delete(meta, uids::BASIC_FILM_SESSION, &session);
    assert_eq!(r.status(), 0x0000, "film session N-DELETE");
    scu.release();
}

/// `copies-supported` upper bound from `ipptool` Get-Printer-Attributes text.
fn copies_max(printer_attrs: &str) -> u32 {
    let range = ipptool_value(printer_attrs, "copies-supported")
        .unwrap_or_else(|| panic!("no copies-supported:\n{printer_attrs}"));
    range
        .rsplit('-')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("copies-supported {range}"))
}

/// Letter at 300 dpi, and where an 8×10 in film (2400 × 3000 px) sits on it at true
/// size, centred: an independent computation of the geometry.
const LETTER: &str = "na_letter_8.5x11in";
const LETTER_PX: (u32, u32) = (2550, 3300);
const FILM_8X10_PX: (u32, u32) = (2400, 3000);
const FILM_ON_LETTER: (u32, u32) = (
    (LETTER_PX.0 - FILM_8X10_PX.0) / 2,
    (LETTER_PX.1 - FILM_8X10_PX.1) / 2,
);
/// Min Density 0.20 OD (the queue's default) printed through the default curve:
/// sRGB encoding of the reflectance 10^−0.2 ≈ 0.631 is ≈ 0.816, × 255 ≈ 208.
const LIGHT_GRAY: u8 = 208;

fn pwg_only_printer_gets_every_film_and_copy_on_its_loaded_letter() {
    let eve = IppEve::start(IppEveOptions::default());
    let printer = eve.ipptool_printer_attributes();
    let ready = ipptool_value(&printer, "media-ready").expect("media-ready");
    // Of what is loaded, letter is the smallest sheet that holds 8×10 in.
    assert!(ready.split(',').any(|m| m == LETTER), "media-ready {ready}");
    assert!(
        !ipptool_value(&printer, "document-format-supported")
            .unwrap()
            .contains("application/pdf"),
        "a PWG-only printer was expected"
    );
    let max_copies = copies_max(&printer);

    let filmd = filmd_for(&eve.uri());
    let copies = 2;
    print_session(
        filmd.port,
        GRAY_META,
        copies,
        &[
            ("8INX10IN", "STANDARD\\1,1", half_dark_image()),
            ("8INX10IN", "STANDARD\\1,1", half_dark_image()),
        ],
    );
    let archive = filmd.wait_pdfs(1);
    assert_eq!(archive.len(), 1, "one job, one archive PDF");
    let archived = pdf::pages(&archive[0]);
    assert_eq!(archived.len(), 2, "the archive holds each film once");

    let delivered = wait_delivered(&eve, &filmd, 1);
    let (doc, attrs) = &delivered[0];
    // The printer makes copies only up to copies-supported; filmd puts the rest in the
    // document and asks for one.
    let (pages_per_film, copies_attr) = if max_copies < copies {
        (copies, 1)
    } else {
        (1, copies)
    };
    assert_eq!(
        ipptool_value(attrs, "copies").as_deref(),
        Some(copies_attr.to_string().as_str()),
        "{attrs}"
    );
    assert_eq!(
        ipptool_value(attrs, "media").as_deref(),
        Some(LETTER),
        "{attrs}"
    );
    assert!(
        ipptool_value(attrs, "job-name")
            .is_some_and(|n| n.starts_with("filmd-") && n.ends_with(" ipp delivery")),
        "{attrs}"
    );

    let pages = decode_pwg(&std::fs::read(doc).unwrap());
    assert_eq!(
        pages.len() as u32,
        2 * pages_per_film,
        "films × copies in the document"
    );
    let (fx, fy) = FILM_ON_LETTER;
    for (n, page) in pages.iter().enumerate() {
        assert_eq!(page.color_space, "sgray", "page {n}");
        assert_eq!((page.num_colors, page.bits_per_pixel), (1, 8), "page {n}");
        assert_eq!(page.dpi, (300, 300), "page {n}");
        assert_eq!(page.page_size_name, LETTER, "page {n}");
        assert_eq!(page.page_size_pt, (612, 792), "page {n}");
        assert_eq!((page.width, page.height), LETTER_PX, "page {n}");
        // Paper white all around the film.
        for (x, y) in [
            (fx - 1, LETTER_PX.1 / 2),
            (fx + FILM_8X10_PX.0, LETTER_PX.1 / 2),
            (LETTER_PX.0 / 2, fy - 1),
            (LETTER_PX.0 / 2, fy + FILM_8X10_PX.1),
            (0, 0),
            (LETTER_PX.0 - 1, LETTER_PX.1 - 1),
        ] {
            assert_eq!(page.at(x, y), [255], "paper at ({x}, {y}), page {n}");
        }
        // The film: dark left half, light right half, at true size from (fx, fy).
        for y in [fy, fy + 1500, fy + FILM_8X10_PX.1 - 1] {
            assert_eq!(page.at(fx, y), [0], "film's left edge, page {n}");
            assert_eq!(page.at(fx + 600, y), [0], "dark half, page {n}");
            let light = page.at(fx + 1800, y)[0];
            assert!(
                light.abs_diff(LIGHT_GRAY) <= 2,
                "light half {light}, page {n}"
            );
            assert_eq!(page.at(fx + FILM_8X10_PX.0 - 1, y), [light], "page {n}");
        }
        // Pixel for pixel the film of the archive (same composition, same 300 dpi).
        let film = &archived[n % 2];
        assert_eq!((film.width_px, film.height_px), FILM_8X10_PX);
        assert_eq!(film.channels, 1);
        for y in 0..FILM_8X10_PX.1 {
            let row = ((fy + y) * LETTER_PX.0 + fx) as usize;
            let src = (y * FILM_8X10_PX.0) as usize;
            assert!(
                page.pixels[row..row + FILM_8X10_PX.0 as usize]
                    == film.pixels[src..src + FILM_8X10_PX.0 as usize],
                "page {n}, film row {y} differs from the archive"
            );
        }
    }
}

fn pdf_printer_gets_the_film_as_pdf_at_its_size_with_copies_as_attribute() {
    let eve = IppEve::start(IppEveOptions::pdf());
    let filmd = filmd_for(&eve.uri());
    print_session(
        filmd.port,
        GRAY_META,
        2,
        &[("14INX17IN", "STANDARD\\1,1", half_dark_image())],
    );
    assert_eq!(filmd.wait_pdfs(1).len(), 1);
    let delivered = wait_delivered(&eve, &filmd, 1);
    let (doc, attrs) = &delivered[0];
    let bytes = std::fs::read(doc).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "kept {}", doc.display());
    let pages = pdf::pages(doc);
    assert_eq!(
        pages.len(),
        1,
        "the film once: the printer makes the copies"
    );
    assert_eq!((pages[0].width_pt, pages[0].height_pt), (1008.0, 1224.0));
    assert_eq!((pages[0].width_px, pages[0].height_px), (4200, 5100));
    assert_eq!(
        ipptool_value(attrs, "copies").as_deref(),
        Some("2"),
        "{attrs}"
    );
    assert_eq!(
        ipptool_value(attrs, "print-color-mode").as_deref(),
        Some("monochrome"),
        "{attrs}"
    );
    // 14x17 in is larger than any sheet the printer has, but CUPS 2.4's ippeveprinter
    // lists no print-scaling-supported: filmd asks for no scaling it does not offer
    // (the unit tests of outputs::ipp::document cover a printer that does).
    assert_eq!(ipptool_value(attrs, "print-scaling"), None, "{attrs}");
    let format = ipptool_value(attrs, "document-format")
        .or_else(|| ipptool_value(attrs, "document-format-supplied"));
    assert_eq!(format.as_deref(), Some("application/pdf"), "{attrs}");
    assert!(
        ipptool_value(attrs, "job-name")
            .is_some_and(|n| n.starts_with("filmd-") && n.ends_with(" ipp delivery")),
        "{attrs}"
    );
}

fn color_printer_gets_srgb_for_color_films_and_sgray_for_gray_ones() {
    let eve = IppEve::start(IppEveOptions {
        color: true,
        ..IppEveOptions::default()
    });
    let filmd = filmd_for(&eve.uri());
    print_session(
        filmd.port,
        COLOR_META,
        1,
        &[("8INX10IN", "STANDARD\\1,1", red_blue_image())],
    );
    let first = wait_delivered(&eve, &filmd, 1);
    print_session(
        filmd.port,
        GRAY_META,
        1,
        &[("8INX10IN", "STANDARD\\1,1", half_dark_image())],
    );
    let both = wait_delivered(&eve, &filmd, 2);
    assert_eq!(both[0].0, first[0].0);
    let (fx, fy) = FILM_ON_LETTER;
    let mid = fy + FILM_8X10_PX.1 / 2;

    let (doc, attrs) = &both[0];
    assert_eq!(
        ipptool_value(attrs, "print-color-mode").as_deref(),
        Some("color"),
        "{attrs}"
    );
    let pages = decode_pwg(&std::fs::read(doc).unwrap());
    assert_eq!(pages.len(), 1);
    let page = &pages[0];
    assert_eq!(page.color_space, "srgb");
    assert_eq!((page.num_colors, page.bits_per_pixel), (3, 24));
    assert_eq!((page.width, page.height), LETTER_PX);
    assert_eq!(page.page_size_name, LETTER);
    assert_eq!(page.at(fx - 1, mid), [255, 255, 255], "paper");
    let near = |got: &[u8], want: [u8; 3]| got.iter().zip(want).all(|(&g, w)| g.abs_diff(w) <= 3);
    let red = page.at(fx + 600, mid);
    assert!(near(red, [255, 0, 0]), "red half {red:?}");
    let blue = page.at(fx + 1800, mid);
    assert!(near(blue, [0, 0, 255]), "blue half {blue:?}");

    let (doc, attrs) = &both[1];
    assert_eq!(
        ipptool_value(attrs, "print-color-mode").as_deref(),
        Some("monochrome"),
        "{attrs}"
    );
    let pages = decode_pwg(&std::fs::read(doc).unwrap());
    assert_eq!(pages.len(), 1);
    let page = &pages[0];
    assert_eq!(page.color_space, "sgray", "a gray film goes as sgray_8");
    assert_eq!((page.num_colors, page.bits_per_pixel), (1, 8));
    assert_eq!(page.at(fx + 600, mid), [0]);
    assert!(page.at(fx + 1800, mid)[0].abs_diff(LIGHT_GRAY) <= 2);
}

fn cupsd_in_front_of_the_printer_delivers_the_film_once() {
    let eve = IppEve::start(IppEveOptions::pdf());
    let cupsd = Cupsd::start(&eve.uri());
    let filmd = filmd_for(&cupsd.queue_uri());
    print_session(
        filmd.port,
        GRAY_META,
        1,
        &[("8INX10IN", "STANDARD\\1,1", half_dark_image())],
    );
    assert_eq!(filmd.wait_pdfs(1).len(), 1);
    let delivered = wait_delivered(&eve, &filmd, 1);
    let (doc, attrs) = &delivered[0];
    let bytes = std::fs::read(doc).unwrap();
    // cupsd chooses what it forwards (a raw queue passes filmd's document through);
    // either way it must be the whole film.
    let is_pdf = bytes.starts_with(b"%PDF-");
    eprintln!(
        "cupsd ({} queue) forwarded {}",
        cupsd.model,
        if is_pdf { "PDF" } else { "PWG raster" }
    );
    if is_pdf {
        let pages = pdf::pages(doc);
        assert_eq!(pages.len(), 1, "{attrs}");
        assert_eq!((pages[0].width_pt, pages[0].height_pt), (576.0, 720.0));
        assert_eq!(pages[0].gray_at(0.25, 0.5), 0, "dark half");
        assert!(pages[0].gray_at(0.75, 0.5).abs_diff(LIGHT_GRAY) <= 2);
    } else {
        let pages = decode_pwg(&bytes);
        assert_eq!(pages.len(), 1, "{attrs}");
        let (fx, fy) = FILM_ON_LETTER;
        assert_eq!(pages[0].at(fx + 600, fy + 1500), [0]);
    }
    // It went through cupsd: its only job is filmd's, and it completed there too.
    let start = Instant::now();
    loop {
        let attrs = cupsd.ipptool_job_attributes(1);
        assert!(
            ipptool_value(&attrs, "job-name")
                .is_some_and(|n| n.starts_with("filmd-") && n.ends_with(" ipp delivery")),
            "cupsd job 1:\n{attrs}"
        );
        if ipptool_value(&attrs, "job-state").as_deref() == Some("completed") {
            break;
        }
        assert!(
            start.elapsed() < JOB_WAIT,
            "cupsd job 1 not completed:\n{attrs}\n{}",
            cupsd.error_log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        ipptool_value(&cupsd.ipptool_job_attributes(2), "job-name").is_none(),
        "cupsd got a second job"
    );
}

fn full_queue_refuses_with_c602_and_accepted_jobs_arrive_once_the_printer_appears() {
    // Nothing listens on this port until the printer is started on it below.
    let port = free_port();
    let uri = format!("ipp://127.0.0.1:{port}/ipp/print");
    let config = format!(
        "[server]\nae_title = \"FILMD\"\n\n[[queue]]\nname = \"default\"\ndpi = 300\n\
         ipp = \"{uri}\"\nmax_jobs = 2\nipp_poll_secs = 1\n"
    );
    let filmd = Server::start_with(&[], Some(&config));
    let mut scu = Scu::connect(filmd.port, &[GRAY_META]);
    let spec = FilmSpec::gray("STANDARD\\1,1", vec![Some(half_dark_image())]);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(print_film(&mut scu, &spec).0);
    }
    scu.release();
    assert_eq!(
        statuses,
        [0x0000, 0x0000, 0xC602],
        "third film: print queue full"
    );
    let archive: BTreeSet<String> = filmd
        .wait_pdfs(2)
        .iter()
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(filmd.pdfs().len(), 2, "the refused film wrote nothing");

    let eve = IppEve::start(IppEveOptions {
        port: Some(port),
        ..IppEveOptions::default()
    });
    assert_eq!(eve.port, port);
    let delivered = wait_delivered(&eve, &filmd, 2);
    // The printer's jobs are named after filmd's job IDs, which name the archive PDFs
    // (`pdf_name = "{job}.pdf"`): each accepted job arrived once.
    let names: BTreeSet<String> = delivered
        .iter()
        .map(|(_, attrs)| {
            let name = ipptool_value(attrs, "job-name").expect("job-name");
            // The spool's job name, then FilmSpec's Film Session Label.
            name.strip_prefix("filmd-")
                .and_then(|n| n.strip_suffix(" test film"))
                .unwrap_or_else(|| panic!("job-name {name}"))
                .to_string()
        })
        .collect();
    assert_eq!(
        names, archive,
        "the delivered jobs are the two accepted ones"
    );
    for (doc, _) in &delivered {
        let pages = decode_pwg(&std::fs::read(doc).unwrap());
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].at(FILM_ON_LETTER.0 + 600, 1650), [0]);
    }
}
