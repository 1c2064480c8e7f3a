//! Separable resampling of 8-bit images (1 or 3 interleaved channels) into a rectangle of
//! a larger buffer: the scaler behind Magnification Type (2010,0060).
//!
//! Each axis gets a table of fixed-point weights computed once (the approach of Pillow's
//! `ImagingResample`); the two passes then only multiply and add integers. When shrinking,
//! the filter's support is widened by the scale factor so that every source pixel
//! contributes (area-correct), instead of point sampling that would alias.
//!
//! Input is already tone mapped to 8 bits: map through the `ToneMap` first, then scale.

/// Fractional bits of the fixed-point weights. 8-bit samples times weights summing to at
/// most ~1.3 (Catmull-Rom's lobes) stay well inside an i32.
const PRECISION_BITS: u32 = 22;
const ONE: i32 = 1 << PRECISION_BITS;
const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// The reconstruction filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Pixel replication when enlarging, area average when shrinking.
    Nearest,
    /// Triangle filter.
    Bilinear,
    /// Catmull-Rom cubic (Keys, a = −0.5; Mitchell–Netravali B = 0, C = 0.5).
    CatmullRom,
    /// Mitchell–Netravali cubic, B = C = 1/3.
    Mitchell,
    /// Cubic B-spline (Mitchell–Netravali B = 1, C = 0): approximating, never overshoots.
    BSpline,
}

impl Filter {
    /// Half-width of the filter at scale 1, in source pixels.
    fn support(self) -> f64 {
        match self {
            Filter::Nearest => 0.5,
            Filter::Bilinear => 1.0,
            Filter::CatmullRom | Filter::Mitchell | Filter::BSpline => 2.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        match self {
            // Half-open, so a sample exactly between two pixels takes one, not both.
            Filter::Nearest => {
                if (-0.5..0.5).contains(&x) {
                    1.0
                } else {
                    0.0
                }
            }
            Filter::Bilinear => (1.0 - x.abs()).max(0.0),
            Filter::CatmullRom => {
                const A: f64 = -0.5;
                let x = x.abs();
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
            Filter::Mitchell => mitchell_netravali(x, 1.0 / 3.0, 1.0 / 3.0),
            Filter::BSpline => mitchell_netravali(x, 1.0, 0.0),
        }
    }
}

/// The Mitchell–Netravali family of cubics k(B, C) ("Reconstruction Filters in Computer
/// Graphics", 1988), support 2.
fn mitchell_netravali(x: f64, b: f64, c: f64) -> f64 {
    let x = x.abs();
    let k = if x < 1.0 {
        ((12.0 - 9.0 * b - 6.0 * c) * x + (-18.0 + 12.0 * b + 6.0 * c)) * x * x + (6.0 - 2.0 * b)
    } else if x < 2.0 {
        (((-b - 6.0 * c) * x + (6.0 * b + 30.0 * c)) * x + (-12.0 * b - 48.0 * c)) * x
            + (8.0 * b + 24.0 * c)
    } else {
        0.0
    };
    k / 6.0
}

/// A tightly packed source image: `width * channels` bytes per row.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub pixels: &'a [u8],
    pub width: usize,
    pub height: usize,
    /// 1 (gray) or 3 (RGB interleaved).
    pub channels: usize,
}

/// A destination buffer with its own row stride, in bytes.
#[derive(Debug)]
pub struct Target<'a> {
    pub pixels: &'a mut [u8],
    pub stride: usize,
    /// 1 or 3, as the source.
    pub channels: usize,
}

/// A rectangle of the target, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResampleError {
    #[error("only 1 or 3 channels are supported, and source and target must agree")]
    Channels,
    #[error("source buffer holds {len} bytes, {width}x{height}x{channels} needs more")]
    SourceTooSmall {
        len: usize,
        width: usize,
        height: usize,
        channels: usize,
    },
    #[error("region {0:?} does not fit the target buffer")]
    RegionOutside(Region),
}

/// Scales all of `src` into `region` of `dst` with `filter`.
pub fn resample(
    src: &Source,
    dst: &mut Target,
    region: Region,
    filter: Filter,
) -> Result<(), ResampleError> {
    let channels = src.channels;
    if !(channels == 1 || channels == 3) || dst.channels != channels {
        return Err(ResampleError::Channels);
    }
    let src_row = src.width * channels;
    if src.pixels.len() < src_row * src.height {
        return Err(ResampleError::SourceTooSmall {
            len: src.pixels.len(),
            width: src.width,
            height: src.height,
            channels,
        });
    }
    if region.width == 0 || region.height == 0 || src.width == 0 || src.height == 0 {
        return Ok(());
    }
    let dst_row = region.width * channels;
    let fits = (region.x + region.width) * channels <= dst.stride
        && (region.y + region.height - 1) * dst.stride + region.x * channels + dst_row
            <= dst.pixels.len();
    if !fits {
        return Err(ResampleError::RegionOutside(region));
    }

    let horizontal = Weights::new(src.width, region.width, filter);
    let vertical = Weights::new(src.height, region.height, filter);
    // Do the pass that shrinks the data most first.
    let cost_h_first =
        src.height * region.width * horizontal.taps + region.height * region.width * vertical.taps;
    let cost_v_first =
        region.height * src.width * vertical.taps + region.height * region.width * horizontal.taps;
    let dst_offset = region.y * dst.stride + region.x * channels;
    let out_rows = dst.pixels[dst_offset..]
        .chunks_mut(dst.stride)
        .take(region.height);

    if cost_h_first <= cost_v_first {
        let mut tmp = vec![0u8; src.height * dst_row];
        for (in_row, out_row) in src
            .pixels
            .chunks_exact(src_row)
            .zip(tmp.chunks_exact_mut(dst_row))
        {
            horizontal_pass(in_row, out_row, &horizontal, channels);
        }
        let mut acc = vec![0i32; dst_row];
        for (y, out_row) in out_rows.enumerate() {
            vertical_pass(
                &tmp,
                dst_row,
                &vertical,
                y,
                &mut out_row[..dst_row],
                &mut acc,
            );
        }
    } else {
        let mut tmp = vec![0u8; region.height * src_row];
        let mut acc = vec![0i32; src_row];
        for (y, tmp_row) in tmp.chunks_exact_mut(src_row).enumerate() {
            vertical_pass(src.pixels, src_row, &vertical, y, tmp_row, &mut acc);
        }
        for (in_row, out_row) in tmp.chunks_exact(src_row).zip(out_rows) {
            horizontal_pass(in_row, &mut out_row[..dst_row], &horizontal, channels);
        }
    }
    Ok(())
}

/// Per-output-pixel source windows and their weights along one axis.
struct Weights {
    /// First source index of each output pixel's window.
    start: Vec<usize>,
    /// Window length of each output pixel (≤ taps).
    len: Vec<usize>,
    /// Maximum window length; `coeffs` holds `taps` entries per output pixel.
    taps: usize,
    coeffs: Vec<i32>,
}

impl Weights {
    fn new(in_len: usize, out_len: usize, filter: Filter) -> Weights {
        let scale = in_len as f64 / out_len as f64;
        let widen = scale.max(1.0);
        let support = filter.support() * widen;
        let taps = ((support.ceil() as usize) * 2 + 1).min(in_len.max(1));
        let mut weights = Weights {
            start: Vec::with_capacity(out_len),
            len: Vec::with_capacity(out_len),
            taps,
            coeffs: vec![0; out_len * taps],
        };
        let mut w = vec![0.0f64; taps];
        for out in 0..out_len {
            let center = (out as f64 + 0.5) * scale;
            let lo = ((center - support + 0.5).floor().max(0.0) as usize).min(in_len - 1);
            let hi = ((center + support + 0.5).floor() as usize)
                .clamp(lo + 1, in_len)
                .min(lo + taps);
            let mut total = 0.0;
            for (i, wi) in w.iter_mut().enumerate().take(hi - lo) {
                *wi = filter.weight(((lo + i) as f64 + 0.5 - center) / widen);
                total += *wi;
            }
            let coeffs = &mut weights.coeffs[out * taps..out * taps + (hi - lo)];
            if total.abs() < 1e-12 {
                // Cannot happen for these filters, but never divide by zero: take the
                // nearest pixel.
                let nearest = (center as usize).clamp(lo, hi - 1) - lo;
                coeffs[nearest] = ONE;
            } else {
                for (c, wi) in coeffs.iter_mut().zip(&w) {
                    *c = (wi / total * f64::from(ONE)).round() as i32;
                }
                // Make the weights sum to exactly one so flat areas stay flat.
                let error = ONE - coeffs.iter().sum::<i32>();
                if let Some(largest) = coeffs.iter_mut().max_by_key(|c| c.abs()) {
                    *largest += error;
                }
            }
            weights.start.push(lo);
            weights.len.push(hi - lo);
        }
        weights
    }

    fn window(&self, out: usize) -> (usize, &[i32]) {
        let start = self.start[out];
        let taps = &self.coeffs[out * self.taps..out * self.taps + self.len[out]];
        (start, taps)
    }
}

#[inline]
fn clamp_u8(acc: i32) -> u8 {
    ((acc + HALF) >> PRECISION_BITS).clamp(0, 255) as u8
}

fn horizontal_pass(in_row: &[u8], out_row: &mut [u8], weights: &Weights, channels: usize) {
    if channels == 3 {
        horizontal_pass_n::<3>(in_row, out_row, weights);
    } else {
        horizontal_pass_n::<1>(in_row, out_row, weights);
    }
}

fn horizontal_pass_n<const C: usize>(in_row: &[u8], out_row: &mut [u8], weights: &Weights) {
    for (x, out) in out_row.chunks_exact_mut(C).enumerate() {
        let (start, taps) = weights.window(x);
        let window = &in_row[start * C..(start + taps.len()) * C];
        let mut acc = [0i32; C];
        for (&w, px) in taps.iter().zip(window.chunks_exact(C)) {
            for c in 0..C {
                acc[c] += w * i32::from(px[c]);
            }
        }
        for c in 0..C {
            out[c] = clamp_u8(acc[c]);
        }
    }
}

/// Computes output row `y` from the rows of `input` (each `row_len` bytes, `row_len`
/// apart) inside its vertical window.
fn vertical_pass(
    input: &[u8],
    row_len: usize,
    weights: &Weights,
    y: usize,
    out_row: &mut [u8],
    acc: &mut [i32],
) {
    let (start, taps) = weights.window(y);
    acc.fill(0);
    for (k, &w) in taps.iter().enumerate() {
        let offset = (start + k) * row_len;
        let row = &input[offset..offset + row_len];
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += w * i32::from(v);
        }
    }
    for (o, &a) in out_row.iter_mut().zip(acc.iter()) {
        *o = clamp_u8(a);
    }
}

#[cfg(test)]
mod tests {
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
}
