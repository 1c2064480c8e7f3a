//! The two crates filmd declined, measured against what it does instead (README,
//! "Dependencies and why"):
//!
//!     cargo bench --bench alternatives     # ~1 min on 2 cores; 10 samples of each
//!
//! - `pdf/…`: the composed W2 page (14INX17IN at 300 dpi, 4200 × 5100 gray, twenty
//!   different 512² 12-bit images, CUBIC) embedded as the one image of a one-page PDF:
//!   filmd's `backend::pdf::encode_pdf` (PDF/A-2b, lopdf, its own Flate at level 3 in
//!   strips on two threads) against printpdf 0.12 (no default features, so no image
//!   optimisation: the raw pixels are deflated at flate2's default level 6 on one thread,
//!   DeviceGray, not PDF/A). The PDF sizes are printed before the timings.
//! - `resample/…`: one 512² 12-bit image of W2, already tone mapped to 8-bit device values
//!   (as composition does before it scales), scaled to its box's image size: filmd's
//!   `film::resample` into a gray buffer, with CUBIC's default SHARP kernel (Catmull-Rom)
//!   and with MEDIUM (Mitchell–Netravali B = C = 1/3, the kernel tiny-skia's Bicubic
//!   evaluates); against tiny-skia 0.12 drawing the image as a pixmap scaled with
//!   `FilterQuality::Bicubic`, alone and with the gray → RGBA8 → gray conversions a gray
//!   page would need. The largest difference between the two Mitchell results is printed.
//! - `page/…`: the whole W2 page: filmd's `compose` (tone map, CUBIC SHARP, 8-bit gray
//!   buffer) against tiny-skia drawing the same tone-mapped images into an RGBA8 page
//!   pixmap at the same places with its bicubic filter, then taking the gray channel out.
//!
//! Under `cargo test --release --bench alternatives` criterion runs each once, as a smoke
//! test.

mod common;

use common::{device, document_info, w2_film};
use criterion::{Criterion, SamplingMode};
use filmd::backend::pdf::encode_pdf;
use filmd::film::compose::{compose, image_box_bounds, placement_in_box};
use filmd::film::density::{ToneMap, ToneParams};
use filmd::film::resample::{Filter, Region, Source, Target, resample};
use filmd::film::{Film, Page};
use std::hint::black_box;
use std::time::Duration;

const MM_PER_PT: f32 = 25.4 / 72.0;

/// The page as one gray image of a one-page printpdf document, saved.
fn printpdf_page(page: &Page) -> Vec<u8> {
    use printpdf::{
        Mm, Op, PdfDocument, PdfPage, PdfSaveOptions, RawImage, RawImageData, RawImageFormat,
        XObjectTransform,
    };
    let mut doc = PdfDocument::new("bench");
    let image = RawImage {
        pixels: RawImageData::U8(page.pixels.clone()),
        width: page.width_px as usize,
        height: page.height_px as usize,
        data_format: RawImageFormat::R8,
        tag: Vec::new(),
    };
    let id = doc.add_image(&image);
    let ops = vec![Op::UseXobject {
        id,
        transform: XObjectTransform {
            dpi: Some(page.dpi as f32),
            ..Default::default()
        },
    }];
    let pdf_page = PdfPage::new(
        Mm(page.width_pt as f32 * MM_PER_PT),
        Mm(page.height_pt as f32 * MM_PER_PT),
        ops,
    );
    doc.with_pages(vec![pdf_page]);
    let options = PdfSaveOptions {
        optimize: true,
        subset_fonts: false,
        secure: true,
        image_optimization: None,
    };
    doc.save(&options, &mut Vec::new())
}

fn pdf(c: &mut Criterion, w2: &Film) {
    let page = compose(w2, &device(300));
    let info = document_info("alternatives");
    let sizes = [
        (
            "filmd encode_pdf",
            encode_pdf(std::slice::from_ref(&page), &info).map(|p| p.len()),
        ),
        ("printpdf", Ok(printpdf_page(&page).len())),
    ];
    for (what, bytes) in sizes {
        match bytes {
            Ok(n) => eprintln!(
                "W2 page {} x {} gray, {what}: {n} bytes",
                page.width_px, page.height_px
            ),
            Err(e) => panic!("{what}: {e}"),
        }
    }

    let mut group = c.benchmark_group("pdf");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("W2_300dpi/filmd_encode_pdf", |b| {
        b.iter(|| encode_pdf(std::slice::from_ref(black_box(&page)), &info))
    });
    group.bench_function("W2_300dpi/printpdf", |b| {
        b.iter(|| printpdf_page(black_box(&page)))
    });
    group.finish();
}

/// One 12-bit image of `film` as 8-bit device values, and where composition draws it.
struct Placed {
    gray: Vec<u8>,
    columns: usize,
    rows: usize,
    /// Top left on the page, in device pixels.
    x: usize,
    y: usize,
    /// Drawn size, in device pixels.
    width: usize,
    height: usize,
}

/// The images of `film` tone mapped and placed at 300 dpi, as composition does it.
fn placed_images(film: &Film) -> Vec<Placed> {
    let device = device(300);
    let bounds = image_box_bounds(film, &device);
    film.image_boxes
        .iter()
        .zip(bounds)
        .map(|(image_box, (x0, y0, x1, y1))| {
            let image = image_box.image.as_ref().expect("W2 boxes hold images");
            let tone = ToneMap::new(&ToneParams::for_image_box(film, image_box, image), &device);
            let table = tone.table();
            let last = table.len() - 1;
            let gray = image
                .pixels
                .as_slice()
                .chunks_exact(2)
                .map(|b| table[usize::from(u16::from_le_bytes([b[0], b[1]])).min(last)])
                .collect();
            let placed = placement_in_box(
                image,
                image_box,
                film.magnification,
                (x1 - x0, y1 - y0),
                device.dpi,
            )
            .expect("a 512² image fits a W2 box");
            let (dx, dy, width, height) = placed.dest;
            Placed {
                gray,
                columns: image.columns as usize,
                rows: image.rows as usize,
                x: x0 + dx,
                y: y0 + dy,
                width,
                height,
            }
        })
        .collect()
}

/// filmd: `film::resample` of the gray image into a `width` × `height` gray buffer.
fn filmd_scale(src: &Source, width: usize, height: usize, filter: Filter) -> Vec<u8> {
    let mut out = vec![0u8; width * height];
    let mut target = Target {
        pixels: &mut out,
        stride: width,
        channels: 1,
    };
    let region = Region {
        x: 0,
        y: 0,
        width,
        height,
    };
    resample(src, &mut target, region, filter).expect("the region is the whole target");
    out
}

/// The gray image as an opaque RGBA8 tiny-skia pixmap (premultiplication is a no-op).
fn gray_to_pixmap(gray: &[u8], width: usize, height: usize) -> tiny_skia::Pixmap {
    let rgba: Vec<u8> = gray.iter().flat_map(|&v| [v, v, v, 255]).collect();
    let size = tiny_skia::IntSize::from_wh(width as u32, height as u32).expect("non-zero size");
    tiny_skia::Pixmap::from_vec(rgba, size).expect("4 bytes per pixel")
}

/// tiny-skia: `src` drawn scaled to `width` × `height` with its bicubic filter.
fn skia_scale(src: &tiny_skia::Pixmap, width: usize, height: usize) -> tiny_skia::Pixmap {
    let mut out =
        tiny_skia::Pixmap::new(width as u32, height as u32).expect("non-zero target size");
    let paint = tiny_skia::PixmapPaint {
        quality: tiny_skia::FilterQuality::Bicubic,
        blend_mode: tiny_skia::BlendMode::Source,
        ..Default::default()
    };
    let scale = tiny_skia::Transform::from_scale(
        width as f32 / src.width() as f32,
        height as f32 / src.height() as f32,
    );
    out.draw_pixmap(0, 0, src.as_ref(), &paint, scale, None);
    out
}

fn resampling(c: &mut Criterion, images: &[Placed]) {
    let Placed {
        gray,
        columns,
        rows,
        width,
        height,
        ..
    } = &images[0];
    let (gray, columns, rows, width, height) = (gray.as_slice(), *columns, *rows, *width, *height);
    let src = Source {
        pixels: gray,
        width: columns,
        height: rows,
        channels: 1,
    };
    let pixmap = gray_to_pixmap(gray, columns, rows);
    let ours = filmd_scale(&src, width, height, Filter::Mitchell);
    let theirs = skia_scale(&pixmap, width, height);
    let largest = ours
        .iter()
        .zip(theirs.data().chunks_exact(4))
        .map(|(&a, px)| a.abs_diff(px[0]))
        .max()
        .unwrap_or(0);
    eprintln!(
        "{columns} x {rows} to {width} x {height}: gray buffer {} bytes, RGBA8 pixmap {} bytes; \
         Mitchell (filmd) vs Bicubic (tiny-skia): largest difference {largest} of 255",
        ours.len(),
        theirs.data().len()
    );

    let name = format!("{columns}x{rows}_to_{width}x{height}");
    let mut group = c.benchmark_group("resample");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group.bench_function(format!("{name}/filmd_catmull_rom"), |b| {
        b.iter(|| filmd_scale(black_box(&src), width, height, Filter::CatmullRom))
    });
    group.bench_function(format!("{name}/filmd_mitchell"), |b| {
        b.iter(|| filmd_scale(black_box(&src), width, height, Filter::Mitchell))
    });
    group.bench_function(format!("{name}/tiny_skia_bicubic"), |b| {
        b.iter(|| skia_scale(black_box(&pixmap), width, height))
    });
    group.bench_function(format!("{name}/tiny_skia_bicubic_from_and_to_gray"), |b| {
        b.iter(|| {
            let rgba = gray_to_pixmap(black_box(gray), columns, rows);
            let scaled = skia_scale(&rgba, width, height);
            scaled
                .data()
                .chunks_exact(4)
                .map(|px| px[0])
                .collect::<Vec<u8>>()
        })
    });
    group.finish();
}

/// The W2 page drawn with tiny-skia as filmd's `compose` draws it: a page pixmap filled
/// with the border, each tone-mapped image drawn into its place with the bicubic filter,
/// then the gray channel taken out.
fn skia_page(page_width: u32, page_height: u32, border: u8, images: &[Placed]) -> Vec<u8> {
    let mut canvas = tiny_skia::Pixmap::new(page_width, page_height).expect("non-zero page");
    canvas.fill(tiny_skia::Color::from_rgba8(border, border, border, 255));
    let paint = tiny_skia::PixmapPaint {
        quality: tiny_skia::FilterQuality::Bicubic,
        blend_mode: tiny_skia::BlendMode::Source,
        ..Default::default()
    };
    for image in images {
        let src = gray_to_pixmap(&image.gray, image.columns, image.rows);
        let place = tiny_skia::Transform::from_row(
            image.width as f32 / image.columns as f32,
            0.0,
            0.0,
            image.height as f32 / image.rows as f32,
            image.x as f32,
            image.y as f32,
        );
        canvas.draw_pixmap(0, 0, src.as_ref(), &paint, place, None);
    }
    canvas.data().chunks_exact(4).map(|px| px[0]).collect()
}

fn page(c: &mut Criterion, w2: &Film) {
    let device = device(300);
    let ours = compose(w2, &device);
    let border = ours.pixels[0];
    eprintln!(
        "W2 page {} x {}: gray page {} bytes, RGBA8 pixmap {} bytes",
        ours.width_px,
        ours.height_px,
        ours.pixels.len(),
        4 * ours.pixels.len()
    );
    let theirs = skia_page(ours.width_px, ours.height_px, border, &placed_images(w2));
    let far = ours
        .pixels
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| a.abs_diff(**b) > 8)
        .count();
    eprintln!(
        "W2 page, filmd (Catmull-Rom) vs tiny-skia (Mitchell): {far} of {} pixels differ by more than 8",
        theirs.len()
    );
    let mut group = c.benchmark_group("page");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("W2_300dpi/filmd_compose", |b| {
        b.iter(|| compose(black_box(w2), &device))
    });
    group.bench_function("W2_300dpi/tiny_skia_bicubic", |b| {
        b.iter(|| {
            let images = placed_images(black_box(w2));
            skia_page(ours.width_px, ours.height_px, border, &images)
        })
    });
    group.finish();
}

fn alternatives(c: &mut Criterion) {
    let w2 = w2_film();
    let images = placed_images(&w2);
    pdf(c, &w2);
    resampling(c, &images);
    page(c, &w2);
}

criterion::criterion_group!(benches, alternatives);
criterion::criterion_main!(benches);
