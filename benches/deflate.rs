//! Criterion benchmarks of the page-image encoder (`filmd::backend::deflate`) against
//! zlib-rs (through flate2) and libdeflate, on the W2 page: 14INX17IN `STANDARD\4,5`,
//! twenty different 512² 12-bit images, CUBIC, 300 dpi (4200 × 5100 gray, 21.4 MB).
//!
//!     cargo bench --bench deflate
//!
//! Before timing, it prints the compressed size of each contender. "raw" compresses the
//! pixels as they are; "paeth"/"avg"/"up" compress PNG-filtered rows (one tag byte per
//! row), as PDF's `/Predictor 15` and PNG read them. libdeflate is here for comparison
//! only: it cannot end a stream on a byte boundary without a final block, so it cannot
//! compress one page in strips on several cores. Under `cargo test --benches` criterion
//! runs each benchmark once, as a smoke test.

mod common;

use common::{device, w2_film};
use criterion::{Criterion, SamplingMode, Throughput};
use filmd::backend::deflate::{
    Filter, compress_strip_with, filter_row, zlib_from_strips, zlib_predicted,
};
use filmd::film::compose::{STRIP_ROWS, compose};
use std::hint::black_box;
use std::io::Write;
use std::time::Duration;

/// The rows of `pixels` PNG-filtered with `filter` (the first row with Sub), as one buffer.
fn filtered(pixels: &[u8], row_bytes: usize, filter: Filter) -> Vec<u8> {
    let mut out = Vec::with_capacity(pixels.len() + pixels.len() / row_bytes);
    for (r, row) in pixels.chunks(row_bytes).enumerate() {
        let above = r
            .checked_sub(1)
            .map(|a| &pixels[a * row_bytes..r * row_bytes]);
        filter_row(filter, 1, above, row, &mut out);
    }
    out
}

fn zlib_rs(data: &[u8], level: u32) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2),
        flate2::Compression::new(level),
    );
    z.write_all(data).expect("in-memory write");
    z.finish().expect("in-memory write")
}

fn libdeflate(data: &[u8], level: i32) -> Vec<u8> {
    let level = libdeflater::CompressionLvl::new(level).expect("a valid level");
    let mut c = libdeflater::Compressor::new(level);
    let mut out = vec![0; c.zlib_compress_bound(data.len())];
    let n = c.zlib_compress(data, &mut out).expect("bound is enough");
    out.truncate(n);
    out
}

/// Ours on one thread, in the strips composition hands out.
fn ours_single(pixels: &[u8], row_bytes: usize, filter: Filter) -> Vec<u8> {
    let strips: Vec<_> = pixels
        .chunks(STRIP_ROWS * row_bytes)
        .map(|rows| compress_strip_with(rows, row_bytes, 1, filter))
        .collect();
    zlib_from_strips(&strips)
}

fn encoders(c: &mut Criterion) {
    let page = compose(&w2_film(), &device(300));
    let pixels = &page.pixels;
    let row_bytes = page.width_px as usize;
    let paeth = filtered(pixels, row_bytes, Filter::Paeth);
    let up = filtered(pixels, row_bytes, Filter::Up);

    let sizes: Vec<(String, usize)> = vec![
        (
            "ours paeth".into(),
            ours_single(pixels, row_bytes, Filter::Paeth).len(),
        ),
        (
            "ours avg".into(),
            ours_single(pixels, row_bytes, Filter::Average).len(),
        ),
        (
            "ours up".into(),
            ours_single(pixels, row_bytes, Filter::Up).len(),
        ),
        (
            "ours sub".into(),
            ours_single(pixels, row_bytes, Filter::Sub).len(),
        ),
        ("zlib-rs 1 raw".into(), zlib_rs(pixels, 1).len()),
        ("zlib-rs 3 raw".into(), zlib_rs(pixels, 3).len()),
        ("zlib-rs 1 paeth".into(), zlib_rs(&paeth, 1).len()),
        ("zlib-rs 2 paeth".into(), zlib_rs(&paeth, 2).len()),
        ("zlib-rs 3 paeth".into(), zlib_rs(&paeth, 3).len()),
        ("libdeflate 1 paeth".into(), libdeflate(&paeth, 1).len()),
        ("libdeflate 1 up".into(), libdeflate(&up, 1).len()),
        ("libdeflate 3 paeth".into(), libdeflate(&paeth, 3).len()),
        ("libdeflate 6 paeth".into(), libdeflate(&paeth, 6).len()),
    ];
    println!(
        "W2 page {}x{} gray, {} bytes",
        page.width_px,
        page.height_px,
        pixels.len()
    );
    for (name, bytes) in &sizes {
        println!("  {name:<20} {bytes:>9} bytes");
    }

    let mut group = c.benchmark_group("deflate/w2_300dpi");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Bytes(pixels.len() as u64));
    for (name, filter) in [
        ("paeth", Filter::Paeth),
        ("avg", Filter::Average),
        ("up", Filter::Up),
    ] {
        group.bench_function(format!("ours/{name}/1 thread"), |b| {
            b.iter(|| ours_single(black_box(pixels), row_bytes, filter))
        });
    }
    group.bench_function("ours/paeth/all cores", |b| {
        b.iter(|| zlib_predicted(black_box(pixels), row_bytes, 1))
    });
    for level in 1..=3 {
        group.bench_function(format!("zlib-rs {level}/raw/1 thread"), |b| {
            b.iter(|| zlib_rs(black_box(pixels), level))
        });
        group.bench_function(format!("zlib-rs {level}/paeth rows/1 thread"), |b| {
            b.iter(|| zlib_rs(black_box(&paeth), level))
        });
    }
    for level in [1, 3, 6] {
        group.bench_function(format!("libdeflate {level}/paeth rows/1 thread"), |b| {
            b.iter(|| libdeflate(black_box(&paeth), level))
        });
    }
    group.finish();
}

criterion::criterion_group!(benches, encoders);
criterion::criterion_main!(benches);
