//! Separable resampling of 8-bit images (1 or 3 interleaved channels) into a rectangle of
//! a larger buffer: the scaler behind Magnification Type (2010,0060).
//!
//! Each axis gets a table of fixed-point weights computed once (the approach of Pillow's
//! `ImagingResample`); the two passes then only multiply and add integers. When shrinking,
//! the filter's support is widened by the scale factor so that every source pixel
//! contributes (area-correct), instead of point sampling that would alias.
//!
//! The arithmetic is 16-bit so that SIMD units multiply 16 lanes at a time: weights are
//! i16 with [`WEIGHT_BITS`] fractional bits, the horizontal pass (always first) writes an
//! i16 intermediate with [`INTER_BITS`] fractional bits, clamped to 0..=255 gray levels as
//! the earlier u8 intermediate was (cubic overshoot of the first pass is clipped, so a
//! sharp edge rings as it always printed), and the vertical pass rounds and clamps once
//! more. Every product and every sum fits an i32, so the order of the additions does not
//! matter and
//! the x86_64 AVX2 kernels ([`x86`]) give exactly the portable kernels' ([`scalar`]) result.
//! Colour is resampled as three planes with the gray kernels.
//!
//! Input is already tone mapped to 8 bits: map through the `ToneMap` first, then scale.

mod scalar;
#[cfg(test)]
mod tests;
#[cfg(target_arch = "x86_64")]
mod x86;

/// Fractional bits of the weights: a weight up to ~2 (normalised window edges) fits an
/// i16, and a weight's rounding error (2⁻¹⁵) times 255 over a dozen taps stays far below
/// one gray level.
pub const WEIGHT_BITS: u32 = 14;
/// Fractional bits of the intermediate between the passes: 1/64 gray level (255 levels
/// in an i16 with room to spare).
pub const INTER_BITS: u32 = 6;
const ONE: i32 = 1 << WEIGHT_BITS;
/// Bounds of the intermediate: 0 to 255 gray levels. Keeping the first pass's overshoot
/// instead would give the exact separable filter, but ring harder at sharp 2-D edges (a
/// corner's two overshoots multiply) than films printed so far: up to 15 levels apart
/// on the golden pages.
const INTER_MIN: i32 = 0;
const INTER_MAX: i32 = 255 << INTER_BITS;
/// Shift and rounding of the horizontal pass (u8 × weight → intermediate).
const H_SHIFT: u32 = WEIGHT_BITS - INTER_BITS;
const H_ROUND: i32 = 1 << (H_SHIFT - 1);
/// Shift and rounding of the vertical pass (intermediate × weight → u8).
const V_SHIFT: u32 = WEIGHT_BITS + INTER_BITS;
const V_ROUND: i32 = 1 << (V_SHIFT - 1);

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

/// Which kernels run the passes. Both give bit-identical results; [`Kernels::Scalar`] is
/// there for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// The portable kernels, whatever the CPU offers.
    Scalar,
    /// The fastest kernels this CPU runs (AVX2 on x86_64 when present), else the scalar ones.
    #[default]
    Detected,
}

/// Scales all of `src` into `region` of `dst` with `filter`.
pub fn resample(
    src: &Source,
    dst: &mut Target,
    region: Region,
    filter: Filter,
) -> Result<(), ResampleError> {
    resample_with(src, dst, region, filter, Kernels::Detected)
}

/// [`resample`] with a choice of kernels.
pub fn resample_with(
    src: &Source,
    dst: &mut Target,
    region: Region,
    filter: Filter,
    kernels: Kernels,
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

    let resampler = Resampler::new(
        (src.width, src.height),
        (region.width, region.height),
        channels,
        filter,
        kernels,
    );
    let mut intermediate = vec![0i16; resampler.intermediate_len()];
    let mut scratch = Vec::new();
    for (in_row, inter_row) in src
        .pixels
        .chunks_exact(src_row)
        .zip(intermediate.chunks_exact_mut(resampler.intermediate_row_len()))
    {
        resampler.horizontal(in_row, inter_row, &mut scratch);
    }
    let dst_offset = region.y * dst.stride + region.x * channels;
    for (y, out_row) in dst.pixels[dst_offset..]
        .chunks_mut(dst.stride)
        .take(region.height)
        .enumerate()
    {
        resampler.vertical(&intermediate, y, &mut out_row[..dst_row], &mut scratch);
    }
    Ok(())
}

/// One scaling of a `from` image to `to` pixels, split in its two passes so a caller can
/// run them apart: the horizontal pass row by row of the source into an intermediate of
/// [`Resampler::intermediate_len`] values, then the vertical pass row by row of the
/// output, in any order and on any thread.
#[derive(Debug)]
pub struct Resampler {
    horizontal: Weights,
    vertical: Weights,
    in_width: usize,
    out_width: usize,
    channels: usize,
    simd: Simd,
}

/// The kernels chosen for one [`Resampler`].
#[derive(Debug)]
enum Simd {
    None,
    #[cfg(target_arch = "x86_64")]
    Avx2(x86::HorizontalPlan),
}

impl Resampler {
    /// `channels` is 1 or 3 (other values are treated as 1: callers check them).
    pub fn new(
        (in_width, in_height): (usize, usize),
        (out_width, out_height): (usize, usize),
        channels: usize,
        filter: Filter,
        kernels: Kernels,
    ) -> Resampler {
        let horizontal = Weights::new(in_width, out_width, filter);
        let vertical = Weights::new(in_height, out_height, filter);
        let simd = match kernels {
            Kernels::Scalar => Simd::None,
            Kernels::Detected => Self::detect(&horizontal, in_width),
        };
        Resampler {
            horizontal,
            vertical,
            in_width,
            out_width,
            channels: if channels == 3 { 3 } else { 1 },
            simd,
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn detect(horizontal: &Weights, in_width: usize) -> Simd {
        if std::arch::is_x86_feature_detected!("avx2") {
            Simd::Avx2(x86::HorizontalPlan::new(
                horizontal,
                in_width + x86::PADDING,
            ))
        } else {
            Simd::None
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn detect(_: &Weights, _: usize) -> Simd {
        Simd::None
    }

    /// Values of one intermediate row: the output width, plane after plane.
    pub fn intermediate_row_len(&self) -> usize {
        self.out_width * self.channels
    }

    /// Values of the whole intermediate: one row per source row.
    pub fn intermediate_len(&self) -> usize {
        self.intermediate_row_len() * self.vertical.in_len
    }

    /// The horizontal pass of one source row (`in_width × channels` interleaved samples)
    /// into its intermediate row. `scratch` is reused between calls.
    pub fn horizontal(&self, in_row: &[u8], inter_row: &mut [i16], scratch: &mut Vec<u8>) {
        let (n, width) = (self.in_width, self.out_width);
        // The SIMD loads of the last outputs reach past the row: the planes are copied with
        // zeros after them (zero weights) so that those outputs run in SIMD too.
        let padding = match self.simd {
            Simd::None => 0,
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2(_) => x86::PADDING,
        };
        if self.channels == 1 && padding == 0 {
            self.horizontal_plane(&in_row[..n], &mut inter_row[..width]);
            return;
        }
        let plane_len = n + padding;
        scratch.clear();
        scratch.resize(self.channels * plane_len, 0);
        if self.channels == 1 {
            scratch[..n].copy_from_slice(&in_row[..n]);
        } else {
            let (r, rest) = scratch.split_at_mut(plane_len);
            let (g, b) = rest.split_at_mut(plane_len);
            for (((px, r), g), b) in in_row.chunks_exact(3).zip(r).zip(g).zip(b.iter_mut()) {
                (*r, *g, *b) = (px[0], px[1], px[2]);
            }
        }
        for (plane, out) in scratch
            .chunks_exact(plane_len)
            .zip(inter_row.chunks_exact_mut(width))
        {
            self.horizontal_plane(plane, out);
        }
    }

    fn horizontal_plane(&self, row: &[u8], out: &mut [i16]) {
        match &self.simd {
            Simd::None => scalar::horizontal(row, &self.horizontal, out, 0),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Simd::Avx2` is only chosen when the CPU reports AVX2.
            Simd::Avx2(plan) => unsafe { x86::horizontal(row, &self.horizontal, plan, out) },
        }
    }

    /// The vertical pass: output row `y` (`out_width × channels` interleaved samples) from
    /// the `intermediate` the horizontal pass filled. `scratch` is reused between calls.
    pub fn vertical(&self, intermediate: &[i16], y: usize, out: &mut [u8], scratch: &mut Vec<u8>) {
        let (first, coeffs) = self.vertical.window(y);
        let stride = self.intermediate_row_len();
        let width = self.out_width;
        if self.channels == 1 {
            self.vertical_plane(intermediate, stride, first, coeffs, &mut out[..width]);
            return;
        }
        scratch.resize(3 * width, 0);
        for (plane, buf) in scratch.chunks_exact_mut(width).enumerate() {
            self.vertical_plane(&intermediate[plane * width..], stride, first, coeffs, buf);
        }
        let (r, rest) = scratch.split_at(width);
        let (g, b) = rest.split_at(width);
        for (((px, &r), &g), &b) in out.chunks_exact_mut(3).zip(r).zip(g).zip(b) {
            px.copy_from_slice(&[r, g, b]);
        }
    }

    fn vertical_plane(
        &self,
        input: &[i16],
        stride: usize,
        first: usize,
        coeffs: &[i16],
        out: &mut [u8],
    ) {
        match &self.simd {
            Simd::None => scalar::vertical(input, stride, first, coeffs, out, 0),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Simd::Avx2` is only chosen when the CPU reports AVX2.
            Simd::Avx2(_) => unsafe { x86::vertical(input, stride, first, coeffs, out) },
        }
    }
}

/// The normalised f64 weights of each output pixel along one axis: its first source index
/// and one weight per source pixel of its window ([`Span::window`], as [`Weights`] takes
/// them), for the tests' f64 reference.
#[cfg(test)]
fn windows(in_len: usize, out_len: usize, filter: Filter) -> (usize, Vec<(usize, Vec<f64>)>) {
    let span = Span::new(in_len, out_len, filter);
    let windows = (0..out_len)
        .map(|out| {
            let mut w = Vec::new();
            let lo = span.window(out, &mut w);
            (lo, w)
        })
        .collect();
    (span.taps, windows)
}

/// The geometry shared by every window of one resampling along one axis.
struct Span {
    in_len: usize,
    filter: Filter,
    scale: f64,
    widen: f64,
    support: f64,
    taps: usize,
}

impl Span {
    /// For `in_len` > 0 and `out_len` > 0.
    fn new(in_len: usize, out_len: usize, filter: Filter) -> Span {
        let scale = in_len as f64 / out_len as f64;
        let widen = scale.max(1.0);
        let support = filter.support() * widen;
        let taps = ((support.ceil() as usize) * 2 + 1).min(in_len.max(1));
        Span {
            in_len,
            filter,
            scale,
            widen,
            support,
            taps,
        }
    }

    /// The normalized weights of output pixel `out` into `w` (cleared first: one buffer
    /// serves every window, not an allocation each), and its first source index.
    fn window(&self, out: usize, w: &mut Vec<f64>) -> usize {
        let (in_len, support) = (self.in_len, self.support);
        let center = (out as f64 + 0.5) * self.scale;
        let lo = ((center - support + 0.5).floor().max(0.0) as usize).min(in_len - 1);
        let hi = ((center + support + 0.5).floor() as usize)
            .clamp(lo + 1, in_len)
            .min(lo + self.taps);
        w.clear();
        w.extend((lo..hi).map(|i| self.filter.weight((i as f64 + 0.5 - center) / self.widen)));
        let total: f64 = w.iter().sum();
        if total.abs() < 1e-12 {
            // Cannot happen for these filters, but never divide by zero: take the
            // nearest pixel.
            let nearest = (center as usize).clamp(lo, hi - 1) - lo;
            w.fill(0.0);
            w[nearest] = 1.0;
        } else {
            w.iter_mut().for_each(|v| *v /= total);
        }
        lo
    }
}

/// Per-output-pixel source windows and their fixed-point weights along one axis.
#[derive(Debug)]
struct Weights {
    /// Source length along the axis.
    in_len: usize,
    /// First source index of each output pixel's window.
    start: Vec<usize>,
    /// Window length of each output pixel (≤ taps).
    len: Vec<usize>,
    /// Coefficients per output pixel in `coeffs`: the longest window rounded up to 8 (the
    /// width of one SIMD load), zero beyond each window's length.
    stride: usize,
    coeffs: Vec<i16>,
}

impl Weights {
    fn new(in_len: usize, out_len: usize, filter: Filter) -> Weights {
        if in_len == 0 || out_len == 0 {
            return Weights {
                in_len,
                start: vec![0; out_len],
                len: vec![0; out_len],
                stride: 8,
                coeffs: vec![0; out_len * 8],
            };
        }
        let span = Span::new(in_len, out_len, filter);
        let stride = span.taps.next_multiple_of(8);
        let mut weights = Weights {
            in_len,
            start: Vec::with_capacity(out_len),
            len: Vec::with_capacity(out_len),
            stride,
            coeffs: vec![0; out_len * stride],
        };
        let (mut w, mut fixed) = (Vec::with_capacity(span.taps), Vec::with_capacity(span.taps));
        for out in 0..out_len {
            let lo = span.window(out, &mut w);
            let coeffs = &mut weights.coeffs[out * stride..out * stride + w.len()];
            fixed.clear();
            fixed.extend(w.iter().map(|v| (v * f64::from(ONE)).round() as i32));
            // Make the weights sum to exactly one so flat areas stay flat.
            let error = ONE - fixed.iter().sum::<i32>();
            if let Some(largest) = fixed.iter_mut().max_by_key(|c| c.abs()) {
                *largest += error;
            }
            for (c, &f) in coeffs.iter_mut().zip(&fixed) {
                *c = f.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
            }
            weights.start.push(lo);
            weights.len.push(w.len());
        }
        weights
    }

    /// The first source index and the weights of output pixel `out`.
    fn window(&self, out: usize) -> (usize, &[i16]) {
        let at = out * self.stride;
        (self.start[out], &self.coeffs[at..at + self.len[out]])
    }

    /// As [`Weights::window`], with the zero weights up to `stride`.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    fn padded(&self, out: usize) -> (usize, &[i16]) {
        let at = out * self.stride;
        (self.start[out], &self.coeffs[at..at + self.stride])
    }
}
