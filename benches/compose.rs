//! Criterion benchmarks of the film engine: composition alone, and composition plus PDF
//! encoding (a whole film to PDF bytes), on the W2 film and one large image.
//!
//!     cargo bench --bench compose
//!
//! - W2: 14INX17IN portrait, `STANDARD\4,5`, twenty different 512² 12-bit images, CUBIC,
//!   at 300 dpi (4200 × 5100) and 600 dpi (8400 × 10200);
//! - W2 on a colour page at 300 dpi (gray images written as R = G = B), and a colour
//!   `STANDARD\2,2` of four 512² RGB images;
//! - one 2048² 12-bit image, `STANDARD\1,1`, CUBIC, 300 dpi.
//!
//! Samples are few and short so the run takes about a minute on two cores; under
//! `cargo test --benches` criterion runs each benchmark once, as a smoke test.

mod common;

use common::{W2_COLUMNS, W2_ROWS, device, document_info, film, tile, w2_film};
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, measurement::WallTime};
use filmd::backend::pdf::encode_pdf;
use filmd::film::compose::compose;
use filmd::film::{Device, Film, Image, Magnification, Photometric, Pixels};
use std::hint::black_box;
use std::time::Duration;

/// Benchmarks `compose` and `compose` + `encode_pdf` of `film` on `device` as `name/…`.
fn compose_and_encode(
    group: &mut BenchmarkGroup<WallTime>,
    name: &str,
    film: &Film,
    device: &Device,
) {
    let page = compose(film, device);
    group.throughput(Throughput::Elements(
        u64::from(page.width_px) * u64::from(page.height_px),
    ));
    drop(page);
    let info = document_info(name);
    group.bench_function(format!("{name}/compose"), |b| {
        b.iter(|| compose(black_box(film), black_box(device)))
    });
    group.bench_function(format!("{name}/compose+pdf"), |b| {
        b.iter(|| {
            let page = compose(black_box(film), black_box(device));
            encode_pdf(std::slice::from_ref(&page), &info).expect("encode_pdf of a composed page")
        })
    });
}

fn films(c: &mut Criterion) {
    let mut group = c.benchmark_group("14x17");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));

    let w2 = w2_film();
    let w2_name = format!("STANDARD_{W2_COLUMNS}x{W2_ROWS}_512_12bit_CUBIC");
    compose_and_encode(&mut group, &format!("{w2_name}/300dpi"), &w2, &device(300));
    compose_and_encode(&mut group, &format!("{w2_name}/600dpi"), &w2, &device(600));

    let mut colour = w2_film();
    colour.color = true;
    compose_and_encode(
        &mut group,
        &format!("{w2_name}/colour/300dpi"),
        &colour,
        &device(300),
    );
    let rgb: Vec<Image> = (1..=4).map(rgb_tile).collect();
    let mut rgb_film = film(2, 2, &rgb, Magnification::Cubic);
    rgb_film.color = true;
    compose_and_encode(
        &mut group,
        "STANDARD_2x2_512_RGB_CUBIC/300dpi",
        &rgb_film,
        &device(300),
    );

    let large = film(1, 1, &[tile(2048, 12, 11)], Magnification::Cubic);
    compose_and_encode(
        &mut group,
        "STANDARD_1x1_2048_12bit_CUBIC/300dpi",
        &large,
        &device(300),
    );
    group.finish();
}

/// An RGB image made of three 8-bit tiles, one per channel, interleaved.
fn rgb_tile(seed: u64) -> Image {
    let planes: Vec<Image> = (0..3).map(|c| tile(512, 8, seed * 3 + c)).collect();
    let planes: Vec<&[u8]> = planes.iter().map(|p| p.pixels.as_slice()).collect();
    let pixels = (0..512 * 512)
        .flat_map(|i| planes.iter().map(move |p| p[i]))
        .collect();
    Image {
        rows: 512,
        columns: 512,
        photometric: Photometric::Rgb,
        bits_stored: 8,
        pixel_aspect_ratio: (1, 1),
        pixels: Pixels::new(pixels),
    }
}

criterion::criterion_group!(benches, films);
criterion::criterion_main!(benches);
