//! Criterion benchmarks of the resampler: the portable kernels against the SIMD ones
//! (AVX2 where the CPU has it), on the two scales that matter for films.
//!
//!     cargo bench --bench resample
//!
//! - 512² → 978², Catmull-Rom: one W2 image into its box at 300 dpi (enlarging);
//! - 2048² → 1000², Catmull-Rom: a large image shrunk (area-averaging windows of 11 taps);
//! - 512² → 978² RGB: a colour image, resampled as three planes.
//!
//! And the previews every archived film gets (`film::preview`, 512 px on the longer
//! side): an 8INX10IN page at 300 dpi (2400 × 3000, the W3 film), a 14INX17IN page
//! (4200 × 5100, the W2 film), and the same on an RGB page. As composition makes them:
//! strip by strip (`StripPreview`), each strip of `STRIP_ROWS` rows in the cache of the
//! core that painted it, here one strip's buffer used for every strip of the page.
//!
//! Under `cargo test --benches` criterion runs each benchmark once, as a smoke test.

use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, measurement::WallTime};
use filmd::film::PageShape;
use filmd::film::compose::STRIP_ROWS;
use filmd::film::preview::StripPreview;
use filmd::film::resample::{Filter, Kernels, Region, Source, Target, resample_with};
use std::hint::black_box;
use std::time::Duration;

/// A reproducible image-like source: a smooth ramp under xorshift noise.
fn image(width: usize, height: usize, channels: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..width * height * channels)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let (x, y) = ((i / channels) % width, i / channels / width);
            ((x * 255 / width + y * 255 / height) / 2 + (state % 16) as usize) as u8
        })
        .collect()
}

/// A group of few, short samples: the whole bench takes well under a minute on two cores.
fn short_group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    group
}

fn scaling(c: &mut Criterion) {
    let mut group = short_group(c, "resample");
    let cases = [
        ("512_to_978_cubic", (512, 512), (978, 978), 1),
        ("2048_to_1000_cubic", (2048, 2048), (1000, 1000), 1),
        ("512_to_978_cubic_rgb", (512, 512), (978, 978), 3),
    ];
    for (name, (width, height), (out_w, out_h), channels) in cases {
        let pixels = image(width, height, channels);
        let mut out = vec![0u8; out_w * out_h * channels];
        group.throughput(Throughput::Elements((out_w * out_h) as u64));
        for (kernels, label) in [(Kernels::Scalar, "scalar"), (Kernels::Detected, "simd")] {
            group.bench_function(format!("{name}/{label}"), |b| {
                b.iter(|| {
                    let src = Source {
                        pixels: black_box(&pixels),
                        width,
                        height,
                        channels,
                    };
                    let mut dst = Target {
                        pixels: &mut out,
                        stride: out_w * channels,
                        channels,
                    };
                    let region = Region {
                        x: 0,
                        y: 0,
                        width: out_w,
                        height: out_h,
                    };
                    resample_with(&src, &mut dst, region, Filter::CatmullRom, kernels)
                        .expect("resample of a consistent source and target")
                })
            });
        }
    }
    group.finish();
}

fn previews(c: &mut Criterion) {
    let mut group = short_group(c, "preview");
    let cases = [
        ("8x10_300dpi", (2400, 3000), 1),
        ("14x17_300dpi", (4200, 5100), 1),
        ("14x17_300dpi_rgb", (4200, 5100), 3),
    ];
    for (name, (width, height), channels) in cases {
        let shape = PageShape {
            width_px: width as u32,
            height_px: height as u32,
            width_pt: width as f64 * 72.0 / 300.0,
            height_pt: height as f64 * 72.0 / 300.0,
            dpi: 300,
            channels: channels as u8,
        };
        let strip = image(width, STRIP_ROWS, channels);
        group.throughput(Throughput::Elements((width * height) as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let preview = StripPreview::new(&shape, 512);
                let strips = (0..height)
                    .step_by(STRIP_ROWS)
                    .map(|first| {
                        let rows = STRIP_ROWS.min(height - first);
                        preview.strip(first, black_box(&strip[..rows * width * channels]))
                    })
                    .collect();
                preview.finish(strips)
            })
        });
    }
    group.finish();
}

criterion::criterion_group!(benches, scaling, previews);
criterion::criterion_main!(benches);
