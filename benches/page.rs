//! Timing of composition and PDF encoding on realistic film pages.
//!
//! Stable Rust has no bench harness, so the measurements are ignored tests:
//!
//!     cargo test --release --bench page -- --ignored --nocapture
//!
//! Pages: 14INX17IN at 300 dpi (4200 × 5100). Images are smooth, image-like synthetic
//! tiles with noise (a fixed-seed generator, so runs compare).

mod common;

use common::{device, document_info, film, tile};
use filmd::backend::{deflate, pdf};
use filmd::film::Magnification;
use filmd::film::compose::compose;
use std::io::Write;
use std::time::{Duration, Instant};

/// Best of `runs` timings of `f`, with its last result.
fn best<T>(runs: u32, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut fastest = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        fastest = fastest.min(start.elapsed());
        out = Some(value);
    }
    (fastest, out.expect("at least one run"))
}

#[test]
#[ignore = "timing; run with --release -- --ignored --nocapture"]
fn compose_14x17_at_300_dpi() {
    let small = tile(512, 8, 7);
    let large = tile(2048, 12, 11);
    let cases = [
        ("STANDARD\\4,5 512² 8-bit", 4, 5, &small),
        ("STANDARD\\2,2 2048² 12-bit", 2, 2, &large),
        ("STANDARD\\1,1 2048² 12-bit", 1, 1, &large),
    ];
    for (name, columns, rows, image) in cases {
        for magnification in [
            Magnification::Replicate,
            Magnification::Bilinear,
            Magnification::Cubic,
            Magnification::None,
        ] {
            let f = film(columns, rows, std::slice::from_ref(image), magnification);
            let (time, page) = best(3, || compose(&f, &device(300)));
            assert_eq!((page.width_px, page.height_px), (4200, 5100));
            println!("compose {name} {:<9} {time:>9.1?}", magnification.term());
        }
    }
    let mut colour = film(4, 5, std::slice::from_ref(&small), Magnification::Bilinear);
    colour.color = true;
    let (time, _) = best(3, || compose(&colour, &device(300)));
    println!("compose STANDARD\\4,5 512² gray on RGB page BILINEAR {time:>9.1?}");
}

#[test]
#[ignore = "timing; run with --release -- --ignored --nocapture"]
fn pdf_compression_levels_on_a_film_page() {
    let page = compose(
        &film(4, 5, &[tile(512, 8, 7)], Magnification::Bilinear),
        &device(300),
    );
    println!(
        "page {}x{} gray, {} bytes raw",
        page.width_px,
        page.height_px,
        page.pixels.len()
    );
    for level in [1, 2, 3, 6] {
        let (single, bytes) = best(3, || {
            let mut z =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
            z.write_all(&page.pixels).expect("compress");
            z.finish().expect("compress")
        });
        println!(
            "zlib-rs level {level} raw, one thread: {single:>9.1?} {:>9} bytes",
            bytes.len()
        );
    }
    let (strips, ours) = best(3, || {
        deflate::zlib_predicted(&page.pixels, page.width_px as usize, 1)
    });
    println!(
        "ours (Paeth rows, literals and runs) in strips on {} threads: {strips:>9.1?} {:>9} bytes",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        ours.len()
    );
    let info = document_info("STANDARD\\4,5");
    let (time, pdf_bytes) = best(3, || {
        pdf::encode_pdf(std::slice::from_ref(&page), &info).expect("pdf")
    });
    println!(
        "encode_pdf gray page: {time:>9.1?} {} bytes",
        pdf_bytes.len()
    );
    let mut colour = film(4, 5, &[tile(512, 8, 7)], Magnification::Bilinear);
    colour.color = true;
    let rgb = compose(&colour, &device(300));
    let (time, pdf_bytes) = best(3, || {
        pdf::encode_pdf(std::slice::from_ref(&rgb), &info).expect("pdf")
    });
    println!(
        "encode_pdf RGB page: {time:>9.1?} {} bytes",
        pdf_bytes.len()
    );
}
