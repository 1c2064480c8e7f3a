//! Behaviour of the resampler, and the SIMD kernels against the scalar ones and an f64
//! reference.

use super::*;

fn scale(
    pixels: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    out: (usize, usize),
    filter: Filter,
) -> Vec<u8> {
    let mut buf = vec![0u8; out.0 * out.1 * channels];
    let src = Source {
        pixels,
        width,
        height,
        channels,
    };
    let mut dst = Target {
        pixels: &mut buf,
        stride: out.0 * channels,
        channels,
    };
    let region = Region {
        x: 0,
        y: 0,
        width: out.0,
        height: out.1,
    };
    resample(&src, &mut dst, region, filter).expect("resample");
    buf
}

const FILTERS: [Filter; 5] = [
    Filter::Nearest,
    Filter::Bilinear,
    Filter::CatmullRom,
    Filter::Mitchell,
    Filter::BSpline,
];

#[test]
fn mitchell_netravali_with_b0_c_half_is_catmull_rom() {
    for i in -25..=25 {
        let x = f64::from(i) / 10.0;
        let k = mitchell_netravali(x, 0.0, 0.5);
        assert!((k - Filter::CatmullRom.weight(x)).abs() < 1e-12, "{x}");
    }
    // Partition of unity: the weights at integer offsets sum to 1 for every phase.
    for filter in [Filter::Mitchell, Filter::BSpline] {
        for phase in [0.0, 0.25, 0.5, 0.8] {
            let sum: f64 = (-2..=2).map(|i| filter.weight(f64::from(i) + phase)).sum();
            assert!((sum - 1.0).abs() < 1e-12, "{filter:?} {phase}");
        }
    }
}

#[test]
fn smoother_kernels_overshoot_less_at_an_edge() {
    let src = [0u8, 0, 0, 200, 200, 200];
    let peak = |filter| {
        *scale(&src, 6, 1, 1, (60, 1), filter)
            .iter()
            .max()
            .unwrap_or(&0)
    };
    assert!(
        peak(Filter::CatmullRom) > peak(Filter::Mitchell),
        "Mitchell rings less"
    );
    assert_eq!(peak(Filter::BSpline), 200, "the B-spline never overshoots");
}

#[test]
fn a_constant_image_stays_constant() {
    let src = vec![137u8; 17 * 11 * 3];
    for filter in FILTERS {
        for out in [(40, 25), (5, 3), (17, 11), (1, 1), (100, 2)] {
            let got = scale(&src, 17, 11, 3, out, filter);
            assert_eq!(got.len(), out.0 * out.1 * 3, "{filter:?} {out:?}");
            assert!(got.iter().all(|&v| v == 137), "{filter:?} {out:?}");
        }
    }
}

#[test]
fn doubling_with_nearest_replicates_2x2_blocks() {
    let src: Vec<u8> = (0..12).map(|v| v * 20).collect();
    let got = scale(&src, 4, 3, 1, (8, 6), Filter::Nearest);
    for y in 0..6 {
        for x in 0..8 {
            assert_eq!(got[y * 8 + x], src[(y / 2) * 4 + x / 2], "({x},{y})");
        }
    }
}

#[test]
fn bilinear_two_pixel_ramp_is_monotonic() {
    let got = scale(&[0, 255], 2, 1, 1, (50, 1), Filter::Bilinear);
    assert!(got.windows(2).all(|w| w[0] <= w[1]), "{got:?}");
    assert_eq!((got[0], got[49]), (0, 255));
    assert!(got[20] > 0 && got[20] < 255);
}

#[test]
fn catmull_rom_overshoot_is_clamped() {
    let src = [0u8, 0, 255, 255, 0, 0];
    let got = scale(&src, 6, 1, 1, (60, 1), Filter::CatmullRom);
    assert_eq!(got.len(), 60);
    assert!(got.contains(&255) && got.contains(&0));
}

#[test]
fn shrinking_averages_areas_instead_of_point_sampling() {
    // A one-pixel checkerboard shrunk 4× is mid gray, whatever the filter.
    let src: Vec<u8> = (0..64 * 64)
        .map(|i| if (i % 64 + i / 64) % 2 == 0 { 0 } else { 255 })
        .collect();
    for filter in FILTERS {
        let got = scale(&src, 64, 64, 1, (16, 16), filter);
        assert!(
            got.iter().all(|&v| (120..=135).contains(&v)),
            "{filter:?}: {got:?}"
        );
    }
}

#[test]
fn rgb_channels_stay_apart() {
    let src = [255u8, 0, 0, 0, 0, 255];
    let got = scale(&src, 2, 1, 3, (4, 2), Filter::Nearest);
    assert_eq!(&got[..12], &[255, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 255]);
    let got = scale(&src, 2, 1, 3, (7, 3), Filter::Bilinear);
    assert!(
        got.chunks_exact(3)
            .all(|px| px[1] == 0 && u16::from(px[0]) + u16::from(px[2]) >= 250)
    );
}

#[test]
fn writes_only_inside_the_region_of_a_strided_target() {
    let mut buf = vec![9u8; 10 * 8];
    let src = [200u8; 4];
    let mut dst = Target {
        pixels: &mut buf,
        stride: 10,
        channels: 1,
    };
    let region = Region {
        x: 3,
        y: 2,
        width: 5,
        height: 4,
    };
    resample(
        &Source {
            pixels: &src,
            width: 2,
            height: 2,
            channels: 1,
        },
        &mut dst,
        region,
        Filter::CatmullRom,
    )
    .expect("resample");
    for y in 0..8 {
        for x in 0..10 {
            let inside = (3..8).contains(&x) && (2..6).contains(&y);
            assert_eq!(buf[y * 10 + x], if inside { 200 } else { 9 }, "({x},{y})");
        }
    }
}

#[test]
fn bad_buffers_are_errors_not_panics() {
    let mut buf = vec![0u8; 16];
    let mut dst = Target {
        pixels: &mut buf,
        stride: 4,
        channels: 1,
    };
    let src = Source {
        pixels: &[1, 2, 3],
        width: 2,
        height: 2,
        channels: 1,
    };
    let region = Region {
        x: 0,
        y: 0,
        width: 4,
        height: 4,
    };
    assert!(matches!(
        resample(&src, &mut dst, region, Filter::Bilinear),
        Err(ResampleError::SourceTooSmall { .. })
    ));
    let src = Source {
        pixels: &[1, 2, 3, 4],
        ..src
    };
    let outside = Region { x: 1, ..region };
    assert_eq!(
        resample(&src, &mut dst, outside, Filter::Bilinear),
        Err(ResampleError::RegionOutside(outside))
    );
    let rgb = Source { channels: 3, ..src };
    assert_eq!(
        resample(&rgb, &mut dst, region, Filter::Bilinear),
        Err(ResampleError::Channels)
    );
}

/// A reproducible image of `len` random bytes (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Sizes that enlarge, shrink a little and a lot, mix both, and have odd widths.
const SIZES: [((usize, usize), (usize, usize)); 9] = [
    ((37, 29), (101, 83)),
    ((101, 7), (20, 5)),
    ((64, 64), (123, 123)),
    ((50, 41), (47, 39)),
    ((203, 97), (61, 19)),
    ((300, 20), (29, 77)),
    ((17, 200), (150, 33)),
    ((1, 9), (7, 3)),
    ((255, 3), (255, 3)),
];

fn scale_with(
    pixels: &[u8],
    (width, height): (usize, usize),
    channels: usize,
    out: (usize, usize),
    filter: Filter,
    kernels: Kernels,
) -> Vec<u8> {
    // A strided target with a margin, so the kernels write at an offset.
    let stride = (out.0 + 3) * channels;
    let mut buf = vec![7u8; stride * (out.1 + 2)];
    let src = Source {
        pixels,
        width,
        height,
        channels,
    };
    let mut dst = Target {
        pixels: &mut buf,
        stride,
        channels,
    };
    let region = Region {
        x: 2,
        y: 1,
        width: out.0,
        height: out.1,
    };
    resample_with(&src, &mut dst, region, filter, kernels).expect("resample");
    buf
}

#[test]
fn simd_kernels_give_the_scalar_result_bit_for_bit() {
    for (seed, &(size, out)) in SIZES.iter().enumerate() {
        for channels in [1, 3] {
            let pixels = noise(size.0 * size.1 * channels, seed as u64 + 11);
            for filter in FILTERS {
                let scalar = scale_with(&pixels, size, channels, out, filter, Kernels::Scalar);
                let best = scale_with(&pixels, size, channels, out, filter, Kernels::Detected);
                assert!(
                    scalar == best,
                    "{filter:?} {size:?} -> {out:?} × {channels}"
                );
            }
        }
    }
}

#[test]
fn simd_kernels_cover_the_w2_scales() {
    // 512² to the W2 box at 300 dpi (enlarging) and a large image shrunk: both horizontal
    // plans, long rows for the vertical kernel.
    for (size, out) in [((512, 16), (978, 9)), ((2048, 12), (1000, 5))] {
        let pixels = noise(size.0 * size.1, 5);
        for filter in [Filter::CatmullRom, Filter::Nearest] {
            let scalar = scale_with(&pixels, size, 1, out, filter, Kernels::Scalar);
            let best = scale_with(&pixels, size, 1, out, filter, Kernels::Detected);
            assert!(scalar == best, "{filter:?} {size:?} -> {out:?}");
        }
    }
}

/// The f64 reference: the same windows, unquantised weights, no rounding between the
/// passes, the intermediate clamped to 0..=255 as the fixed-point one is; rounded and
/// clamped at the end.
fn reference(
    pixels: &[u8],
    (width, height): (usize, usize),
    channels: usize,
    (out_w, out_h): (usize, usize),
    filter: Filter,
) -> Vec<u8> {
    let (_, horizontal) = windows(width, out_w, filter);
    let (_, vertical) = windows(height, out_h, filter);
    let mut tmp = vec![0f64; height * out_w * channels];
    for y in 0..height {
        for (x, (start, w)) in horizontal.iter().enumerate() {
            for c in 0..channels {
                tmp[(y * out_w + x) * channels + c] = w
                    .iter()
                    .enumerate()
                    .map(|(k, w)| w * f64::from(pixels[((y * width) + start + k) * channels + c]))
                    .sum::<f64>()
                    .clamp(0.0, 255.0);
            }
        }
    }
    let mut out = vec![0u8; out_w * out_h * channels];
    for (y, (start, w)) in vertical.iter().enumerate() {
        for i in 0..out_w * channels {
            let v: f64 = w
                .iter()
                .enumerate()
                .map(|(k, w)| w * tmp[(start + k) * out_w * channels + i])
                .sum();
            out[y * out_w * channels + i] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

#[test]
fn fixed_point_stays_within_one_gray_level_of_f64() {
    for (seed, &(size, out)) in SIZES.iter().enumerate() {
        for channels in [1, 3] {
            let pixels = noise(size.0 * size.1 * channels, seed as u64 + 101);
            for filter in FILTERS {
                let got = scale(&pixels, size.0, size.1, channels, out, filter);
                let want = reference(&pixels, size, channels, out, filter);
                let worst = got
                    .iter()
                    .zip(&want)
                    .map(|(&a, &b)| a.abs_diff(b))
                    .max()
                    .unwrap_or(0);
                assert!(
                    worst <= 1,
                    "{filter:?} {size:?} -> {out:?} × {channels}: {worst}"
                );
            }
        }
    }
}

#[test]
fn cubic_overshoot_is_clipped_between_the_passes_and_clamped_at_the_end() {
    // A bright dot on black: Catmull-Rom rings below zero in both passes. Clipped between
    // the passes, the rings never multiply into a positive halo on the diagonals.
    let mut pixels = vec![0u8; 9 * 9];
    pixels[4 * 9 + 4] = 255;
    let got = scale(&pixels, 9, 9, 1, (45, 45), Filter::CatmullRom);
    let want = reference(&pixels, (9, 9), 1, (45, 45), Filter::CatmullRom);
    assert!(got.iter().zip(&want).all(|(a, b)| a.abs_diff(*b) <= 1));
    let corner = |image: &[u8]| image[2 * 45 + 2];
    assert_eq!(corner(&got), 0, "no halo where the rings cross");
    assert_eq!(
        *got.iter().max().unwrap_or(&0),
        255,
        "the peak is clamped, not wrapped"
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
fn enlarging_uses_the_shuffle_plan_and_shrinking_a_lot_the_long_one() {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return;
    }
    let plan =
        |from, to| Resampler::new((from, 4), (to, 4), 1, Filter::CatmullRom, Kernels::Detected);
    match &plan(512, 978).simd {
        Simd::Avx2(x86::HorizontalPlan::Shuffle { blocks, .. }) => {
            assert_eq!(
                *blocks,
                978 / 8,
                "every block, the last ones from the padded row"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        plan(2048, 1000).simd,
        Simd::Avx2(x86::HorizontalPlan::Long)
    ));
    assert!(matches!(
        Resampler::new((512, 4), (978, 4), 1, Filter::CatmullRom, Kernels::Scalar).simd,
        Simd::None
    ));
}
