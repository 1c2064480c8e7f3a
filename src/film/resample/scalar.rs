//! The portable kernels: the definition of the result every SIMD kernel must reproduce
//! bit for bit, and the tails the SIMD kernels leave (row ends too short for a full load).

use super::{H_ROUND, H_SHIFT, INTER_MAX, INTER_MIN, V_ROUND, V_SHIFT, Weights};

/// One intermediate value from a horizontal accumulator (weights × u8 samples).
#[inline]
pub(super) fn narrow(acc: i32) -> i16 {
    ((acc + H_ROUND) >> H_SHIFT).clamp(INTER_MIN, INTER_MAX) as i16
}

/// One output sample from a vertical accumulator (weights × intermediate values).
#[inline]
pub(super) fn finish(acc: i32) -> u8 {
    ((acc + V_ROUND) >> V_SHIFT).clamp(0, 255) as u8
}

/// Output pixel `x` of the horizontal pass over one plane's `row`.
#[inline]
pub(super) fn horizontal_one(row: &[u8], weights: &Weights, x: usize) -> i16 {
    let (start, coeffs) = weights.window(x);
    let acc = coeffs
        .iter()
        .zip(&row[start..start + coeffs.len()])
        .map(|(&c, &p)| i32::from(c) * i32::from(p))
        .sum();
    narrow(acc)
}

/// The horizontal pass over one plane's `row`, for `out[from..]`.
pub(super) fn horizontal(row: &[u8], weights: &Weights, out: &mut [i16], from: usize) {
    for (x, slot) in out.iter_mut().enumerate().skip(from) {
        *slot = horizontal_one(row, weights, x);
    }
}

/// The vertical pass for `out[from..]`: tap `k` reads the row that starts at
/// `(first + k) * stride` in `input`.
pub(super) fn vertical(
    input: &[i16],
    stride: usize,
    first: usize,
    coeffs: &[i16],
    out: &mut [u8],
    from: usize,
) {
    // Accumulate a chunk of the row at a time: the loops over x stay simple enough for the
    // compiler to unroll, and the accumulators stay in L1.
    const CHUNK: usize = 256;
    let mut acc = [0i32; CHUNK];
    let mut x0 = from;
    while x0 < out.len() {
        let n = CHUNK.min(out.len() - x0);
        let acc = &mut acc[..n];
        acc.fill(0);
        for (k, &c) in coeffs.iter().enumerate() {
            let at = (first + k) * stride + x0;
            for (a, &v) in acc.iter_mut().zip(&input[at..at + n]) {
                *a += i32::from(c) * i32::from(v);
            }
        }
        for (o, &a) in out[x0..x0 + n].iter_mut().zip(acc.iter()) {
            *o = finish(a);
        }
        x0 += n;
    }
}
