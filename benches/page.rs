//! Timing of composition and PDF encoding on realistic film pages.
//!
//! Stable Rust has no bench harness, so the measurements are ignored tests:
//!
//!     cargo test --release --bench page -- --ignored --nocapture
//!
//! Pages: 14INX17IN at 300 dpi (4200 × 5100). Images are smooth, image-like synthetic
//! tiles with noise (a fixed-seed generator, so runs compare).

use filmd::backend::pdf::{self, DocumentInfo};
use filmd::film::compose::compose;
use filmd::film::{
    AreaDensity, Device, DisplayFormat, Film, FilmSize, Image, ImageBox, Magnification, Medium,
    Orientation, Photometric, Pixels, PresentationLut,
};
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

fn device() -> Device {
    Device {
        dpi: 300,
        min_density: 10,
        max_density: 250,
        margin_mm: 5.0,
        gap_mm: 2.0,
    }
}

/// An image-like tile: a bright disc with soft edges, slow ripples, and noise.
fn tile(size: u32, bits: u8, seed: u64) -> Image {
    let max = f64::from((1u32 << bits) - 1);
    let mut state = seed | 1;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1000) as f64 / 1000.0 - 0.5
    };
    let n = f64::from(size);
    let mut bytes = Vec::with_capacity((size * size) as usize * if bits > 8 { 2 } else { 1 });
    for y in 0..size {
        for x in 0..size {
            let (dx, dy) = (f64::from(x) / n - 0.5, f64::from(y) / n - 0.5);
            let r = (dx * dx + dy * dy).sqrt();
            let body = (1.0 - ((r - 0.35) * 12.0).tanh()) * 0.35;
            let ripple = 0.1 * (f64::from(x) / 23.0).sin() * (f64::from(y) / 31.0).cos();
            let v = ((body + ripple + 0.1 + noise() * 0.03).clamp(0.0, 1.0) * max).round() as u16;
            if bits > 8 {
                bytes.extend_from_slice(&v.to_le_bytes());
            } else {
                bytes.push(v as u8);
            }
        }
    }
    Image {
        rows: size,
        columns: size,
        photometric: Photometric::Monochrome2,
        bits_stored: bits,
        pixel_aspect_ratio: (1, 1),
        pixels: Pixels::new(bytes),
    }
}

fn film(columns: u32, rows: u32, image: &Image, magnification: Magnification) -> Film {
    let image_boxes = (1..=columns * rows)
        .map(|position| ImageBox {
            image: Some(image.clone()),
            ..ImageBox::empty(position)
        })
        .collect();
    Film {
        display_format: DisplayFormat::Standard { columns, rows },
        size: FilmSize::from_id("14INX17IN").expect("film size"),
        orientation: Orientation::Portrait,
        magnification,
        border_density: AreaDensity::Black,
        empty_image_density: AreaDensity::Black,
        min_density: 10,
        max_density: 250,
        trim: false,
        medium: Medium::ClearFilm,
        illumination: 2000,
        reflected_ambient_light: 10,
        presentation_lut: PresentationLut::Identity,
        color: false,
        image_boxes,
        annotations: vec![],
    }
}

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
            let f = film(columns, rows, image, magnification);
            let (time, page) = best(3, || compose(&f, &device()));
            assert_eq!((page.width_px, page.height_px), (4200, 5100));
            println!("compose {name} {:<9} {time:>9.1?}", magnification.term());
        }
    }
    let mut colour = film(4, 5, &small, Magnification::Bilinear);
    colour.color = true;
    let (time, _) = best(3, || compose(&colour, &device()));
    println!("compose STANDARD\\4,5 512² gray on RGB page BILINEAR {time:>9.1?}");
}

#[test]
#[ignore = "timing; run with --release -- --ignored --nocapture"]
fn pdf_compression_levels_on_a_film_page() {
    let page = compose(
        &film(4, 5, &tile(512, 8, 7), Magnification::Bilinear),
        &device(),
    );
    println!(
        "page {}x{} gray, {} bytes raw",
        page.width_px,
        page.height_px,
        page.pixels.len()
    );
    for level in [1, 2, 3, 6, 9] {
        let (single, bytes) = best(3, || {
            let mut z =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
            z.write_all(&page.pixels).expect("compress");
            z.finish().expect("compress")
        });
        let (strips, ours) = best(3, || {
            pdf::zlib_compress(&page.pixels, level).expect("compress")
        });
        println!(
            "level {level}: one thread {single:>9.1?} {:>9} bytes | strips on {} threads {strips:>9.1?} {:>9} bytes",
            bytes.len(),
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            ours.len()
        );
    }
    let info = DocumentInfo {
        title: "bench".into(),
        author: "filmd".into(),
        subject: "STANDARD\\4,5".into(),
        creator: "benches/page.rs".into(),
        created: SystemTime::now(),
    };
    let (time, pdf_bytes) = best(3, || {
        pdf::encode_pdf(std::slice::from_ref(&page), &info).expect("pdf")
    });
    println!(
        "encode_pdf gray page (level {}): {time:>9.1?} {} bytes",
        pdf::COMPRESSION_LEVEL,
        pdf_bytes.len()
    );
    let mut colour = film(4, 5, &tile(512, 8, 7), Magnification::Bilinear);
    colour.color = true;
    let rgb = compose(&colour, &device());
    let (time, pdf_bytes) = best(3, || {
        pdf::encode_pdf(std::slice::from_ref(&rgb), &info).expect("pdf")
    });
    println!(
        "encode_pdf RGB page: {time:>9.1?} {} bytes",
        pdf_bytes.len()
    );
}
