//! AVX2 kernels (x86_64, chosen at run time by `is_x86_feature_detected!`): the same
//! integer sums as [`super::scalar`], 16 lanes of 16 bits at a time with
//! `_mm256_madd_epi16` (two products added into each i32 lane). Products and sums never
//! overflow an i32 (see the bounds in the parent module), so the result is bit-identical.
//!
//! - The vertical pass interleaves two source rows (`unpacklo/hi_epi16`) and multiplies
//!   them by a broadcast pair of weights: 16 outputs per step, no shuffles across lanes.
//! - The horizontal pass, when every 4 neighbouring outputs read inside one 16-byte load
//!   (enlarging, or shrinking by a little), gathers each output's tap pairs from that load
//!   with a precomputed `pshufb` mask per 4 outputs and pair of taps: 8 outputs per step.
//!   Otherwise (shrinking a lot: long windows) it multiplies 8 taps of one output at a
//!   time and adds the lanes.
//!
//! Loads never reach past a slice: the outputs whose loads would are left to the scalar
//! kernel.

use super::{H_ROUND, H_SHIFT, INTER_MAX, INTER_MIN, V_ROUND, V_SHIFT, Weights, scalar};
use std::arch::x86_64::*;

/// Zero bytes the caller appends to a row so that the loads of the last outputs stay
/// inside it: one load, or most padded windows.
pub(super) const PADDING: usize = 32;

/// How the horizontal pass of one axis runs, precomputed from its weights.
#[derive(Debug)]
pub(super) enum HorizontalPlan {
    /// Blocks of 8 outputs gathered with `pshufb` from two 16-byte loads.
    Shuffle {
        /// Leading blocks whose loads stay inside the row; the rest is scalar.
        blocks: usize,
        /// Tap pairs per output (the longest window, halved and rounded up).
        pairs: usize,
        /// Source offset of each block's two loads (outputs 0–3 and 4–7).
        bases: Vec<[usize; 2]>,
        /// Per block and pair: the byte of each tap in its load (0x80: none).
        masks: Vec<[u8; 32]>,
        /// Per block and pair: the weights, in the masks' order.
        weights: Vec<[i16; 16]>,
    },
    /// One output at a time, 8 taps per step.
    Long,
}

impl HorizontalPlan {
    pub(super) fn new(weights: &Weights, in_len: usize) -> HorizontalPlan {
        let out_len = weights.start.len();
        let longest = weights.len.iter().copied().max().unwrap_or(0);
        let pairs = longest.div_ceil(2);
        let groups = out_len / 4;
        let fits = |g: usize| {
            let base = weights.start[4 * g];
            (4 * g..4 * g + 4).all(|o| weights.start[o] - base + 2 * pairs <= 16)
        };
        if pairs == 0 || !(0..groups).all(fits) {
            return HorizontalPlan::Long;
        }
        let mut plan_bases = Vec::new();
        let mut masks = Vec::new();
        let mut plan_weights = Vec::new();
        for block in 0..out_len / 8 {
            let bases = [weights.start[8 * block], weights.start[8 * block + 4]];
            if bases[1] + 16 > in_len {
                break;
            }
            plan_bases.push(bases);
            for pair in 0..pairs {
                let mut mask = [0x80u8; 32];
                let mut w = [0i16; 16];
                for half in 0..2 {
                    for slot in 0..4 {
                        let out = 8 * block + 4 * half + slot;
                        let (start, coeffs) = weights.window(out);
                        for t in 0..2 {
                            let tap = 2 * pair + t;
                            if tap < coeffs.len() {
                                mask[16 * half + 4 * slot + 2 * t] =
                                    (start - bases[half] + tap) as u8;
                                w[8 * half + 2 * slot + t] = coeffs[tap];
                            }
                        }
                    }
                }
                masks.push(mask);
                plan_weights.push(w);
            }
        }
        HorizontalPlan::Shuffle {
            blocks: plan_bases.len(),
            pairs,
            bases: plan_bases,
            masks,
            weights: plan_weights,
        }
    }
}

/// The horizontal pass over one plane's `row` (the source width) into `out` (the output
/// width).
#[target_feature(enable = "avx2")]
pub(super) fn horizontal(row: &[u8], weights: &Weights, plan: &HorizontalPlan, out: &mut [i16]) {
    let done = match plan {
        HorizontalPlan::Shuffle {
            blocks,
            pairs,
            bases,
            masks,
            weights: block_weights,
        } => {
            let round = _mm256_set1_epi32(H_ROUND);
            let (low, high) = (
                _mm_set1_epi16(INTER_MIN as i16),
                _mm_set1_epi16(INTER_MAX as i16),
            );
            let blocks = (*blocks).min(out.len() / 8);
            for block in 0..blocks {
                let [b0, b1] = bases[block];
                let (lo, hi) = (&row[b0..b0 + 16], &row[b1..b1 + 16]);
                // SAFETY: both slices are 16 bytes long.
                let source = unsafe { _mm256_loadu2_m128i(hi.as_ptr().cast(), lo.as_ptr().cast()) };
                let mut acc = _mm256_setzero_si256();
                for pair in block * pairs..(block + 1) * pairs {
                    // SAFETY: a mask is 32 bytes, a weight set 16 i16.
                    let (mask, w) = unsafe {
                        (
                            _mm256_loadu_si256(masks[pair].as_ptr().cast()),
                            _mm256_loadu_si256(block_weights[pair].as_ptr().cast()),
                        )
                    };
                    let taps = _mm256_shuffle_epi8(source, mask);
                    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(taps, w));
                }
                let acc = _mm256_srai_epi32::<{ H_SHIFT as i32 }>(_mm256_add_epi32(acc, round));
                let packed = _mm256_permute4x64_epi64::<0b1000>(_mm256_packs_epi32(acc, acc));
                let values =
                    _mm_min_epi16(_mm_max_epi16(_mm256_castsi256_si128(packed), low), high);
                let slot = &mut out[8 * block..8 * block + 8];
                // SAFETY: `slot` holds 8 i16.
                unsafe { _mm_storeu_si128(slot.as_mut_ptr().cast(), values) };
            }
            8 * blocks
        }
        HorizontalPlan::Long => {
            let mut done = 0;
            for (x, slot) in out.iter_mut().enumerate() {
                let (start, coeffs) = weights.padded(x);
                let Some(window) = row.get(start..start + coeffs.len()) else {
                    break;
                };
                let mut wide = _mm256_setzero_si256();
                let (pixels16, rest) = window.split_at(window.len() / 16 * 16);
                let (weights16, rest_weights) = coeffs.split_at(pixels16.len());
                for (pixels, w) in pixels16.chunks_exact(16).zip(weights16.chunks_exact(16)) {
                    // SAFETY: 16 bytes and 16 i16 are read, the length of both chunks.
                    let (pixels, w) = unsafe {
                        (
                            _mm_loadu_si128(pixels.as_ptr().cast()),
                            _mm256_loadu_si256(w.as_ptr().cast()),
                        )
                    };
                    let products = _mm256_madd_epi16(_mm256_cvtepu8_epi16(pixels), w);
                    wide = _mm256_add_epi32(wide, products);
                }
                let mut acc = _mm_add_epi32(
                    _mm256_castsi256_si128(wide),
                    _mm256_extracti128_si256::<1>(wide),
                );
                for (pixels, w) in rest.chunks_exact(8).zip(rest_weights.chunks_exact(8)) {
                    // SAFETY: 8 bytes and 8 i16 are read, the length of both chunks.
                    let (pixels, w) = unsafe {
                        (
                            _mm_loadl_epi64(pixels.as_ptr().cast()),
                            _mm_loadu_si128(w.as_ptr().cast()),
                        )
                    };
                    acc = _mm_add_epi32(acc, _mm_madd_epi16(_mm_cvtepu8_epi16(pixels), w));
                }
                let acc = _mm_add_epi32(acc, _mm_shuffle_epi32::<0b01_00_11_10>(acc));
                let acc = _mm_add_epi32(acc, _mm_shuffle_epi32::<0b10_11_00_01>(acc));
                *slot = scalar::narrow(_mm_cvtsi128_si32(acc));
                done = x + 1;
            }
            done
        }
    };
    scalar::horizontal(row, weights, out, done);
}

/// The vertical pass: tap `k` reads the row that starts at `(first + k) * stride` in
/// `input`; `out` is as long as a row.
#[target_feature(enable = "avx2")]
pub(super) fn vertical(input: &[i16], stride: usize, first: usize, coeffs: &[i16], out: &mut [u8]) {
    let width = out.len();
    let inside = !coeffs.is_empty() && (first + coeffs.len() - 1) * stride + width <= input.len();
    if !inside {
        return scalar::vertical(input, stride, first, coeffs, out, 0);
    }
    let round = _mm256_set1_epi32(V_ROUND);
    let row = |k: usize, x: usize| -> __m256i {
        let at = (first + k) * stride + x;
        let values = &input[at..at + 16];
        // SAFETY: `values` holds 16 i16.
        unsafe { _mm256_loadu_si256(values.as_ptr().cast()) }
    };
    let pair = |a: i16, b: i16| _mm256_set1_epi32((i32::from(b) << 16) | i32::from(a as u16));
    let mut x = 0;
    while x + 16 <= width {
        let (mut lo, mut hi) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let mut k = 0;
        while k < coeffs.len() {
            let a = row(k, x);
            let (b, w) = if k + 1 < coeffs.len() {
                (row(k + 1, x), pair(coeffs[k], coeffs[k + 1]))
            } else {
                (_mm256_setzero_si256(), pair(coeffs[k], 0))
            };
            lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), w));
            hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), w));
            k += 2;
        }
        let lo = _mm256_srai_epi32::<{ V_SHIFT as i32 }>(_mm256_add_epi32(lo, round));
        let hi = _mm256_srai_epi32::<{ V_SHIFT as i32 }>(_mm256_add_epi32(hi, round));
        // In-lane unpacking and packing undo each other: the 16 values are in order.
        let words = _mm256_packs_epi32(lo, hi);
        let bytes = _mm256_permute4x64_epi64::<0b1000>(_mm256_packus_epi16(words, words));
        let slot = &mut out[x..x + 16];
        // SAFETY: `slot` holds 16 bytes.
        unsafe { _mm_storeu_si128(slot.as_mut_ptr().cast(), _mm256_castsi256_si128(bytes)) };
        x += 16;
    }
    scalar::vertical(input, stride, first, coeffs, out, x);
}
