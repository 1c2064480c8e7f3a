//! zlib streams (RFC 1950) deflated in parallel: large inputs are cut into strips
//! compressed on separate threads as raw deflate ending in a sync flush (byte aligned,
//! not final), concatenated behind one zlib header, with the Adler-32 of the whole
//! combined from the strips' (zlib's `adler32_combine`). Used for the PDF page images.

use super::pdf::PdfError;
use flate2::{Compress, Compression, FlushCompress, Status};

/// Below this many bytes an input is compressed on the calling thread only.
const PARALLEL_THRESHOLD: usize = 1 << 20;

/// A zlib stream (RFC 1950) of `data`, deflated in parallel strips when it is large.
pub fn zlib_compress(data: &[u8], level: u32) -> Result<Vec<u8>, PdfError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let strips = if data.len() < PARALLEL_THRESHOLD {
        1
    } else {
        threads.min(16)
    };
    let strip_len = data.len().div_ceil(strips).max(1);
    let chunks: Vec<&[u8]> = data.chunks(strip_len).collect();
    let last = chunks.len().saturating_sub(1);
    let parts: Vec<Result<(Vec<u8>, u32), PdfError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .enumerate()
            .map(|(i, &chunk)| {
                scope.spawn(move || Ok((deflate_strip(chunk, level, i == last)?, adler32(chunk))))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(PdfError::Compress("compression thread panicked".into()))
                })
            })
            .collect()
    });

    let mut out = Vec::with_capacity(data.len() / 4 + 64);
    out.extend_from_slice(&zlib_header(level));
    let mut adler = 1u32;
    for (part, chunk) in parts.into_iter().zip(&chunks) {
        let (deflated, strip_adler) = part?;
        out.extend_from_slice(&deflated);
        adler = adler32_combine(adler, strip_adler, chunk.len());
    }
    if chunks.is_empty() {
        out.extend_from_slice(&deflate_strip(&[], level, true)?);
    }
    out.extend_from_slice(&adler.to_be_bytes());
    Ok(out)
}

/// Raw deflate of one strip: a final block for the last strip, otherwise a sync flush so
/// the next strip can follow on a byte boundary.
fn deflate_strip(input: &[u8], level: u32, last: bool) -> Result<Vec<u8>, PdfError> {
    let mut compress = Compress::new(Compression::new(level), false);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(input.len() / 3 + 1024);
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let consumed = compress.total_in() as usize;
        let status = compress
            .compress_vec(&input[consumed..], &mut out, flush)
            .map_err(|e| PdfError::Compress(e.to_string()))?;
        let all_in = compress.total_in() as usize == input.len();
        match status {
            Status::StreamEnd => return Ok(out),
            // A sync flush is complete once all input is in and output space is left over.
            Status::Ok | Status::BufError if !last && all_in && out.len() < out.capacity() => {
                return Ok(out);
            }
            Status::Ok | Status::BufError => {}
        }
    }
}

/// CMF and FLG for a 32 KiB window with FLEVEL matching `level` (RFC 1950 2.2).
fn zlib_header(level: u32) -> [u8; 2] {
    let flevel: u16 = match level {
        0 | 1 => 0,
        2..=5 => 1,
        6 => 2,
        _ => 3,
    };
    let cmf: u16 = 0x78;
    let flg = flevel << 6;
    let check = 31 - (cmf * 256 + flg) % 31;
    [cmf as u8, (flg + check % 31) as u8]
}

const ADLER_MOD: u32 = 65_521;

/// Adler-32 (RFC 1950 8.2), arranged so the compiler can vectorise it: over a block of N
/// bytes, a grows by Σx and b by N·a + Σ(N − j)·x_j. Per lane j, `sums` holds Σx_j and
/// `prefix` the sum of `sums` at each block start, from which b is rebuilt per chunk.
fn adler32(data: &[u8]) -> u32 {
    const LANES: usize = 32;
    // prefix[j] ≤ 255·BLOCKS²/2 must stay below 2^32.
    const BLOCKS: usize = 4096;
    let m = u64::from(ADLER_MOD);
    let (mut a, mut b) = (1u64, 0u64);
    for chunk in data.chunks(LANES * BLOCKS) {
        let blocks = chunk.chunks_exact(LANES);
        let tail = blocks.remainder();
        let count = blocks.len() as u64;
        let mut sums = [0u32; LANES];
        let mut prefix = [0u32; LANES];
        for block in blocks {
            for ((p, s), &x) in prefix.iter_mut().zip(sums.iter_mut()).zip(block) {
                *p += *s;
                *s += u32::from(x);
            }
        }
        let lanes = LANES as u64;
        let sum: u64 = sums.iter().map(|&s| u64::from(s)).sum();
        let prefix_sum: u64 = prefix.iter().map(|&p| u64::from(p)).sum();
        let weighted: u64 = sums
            .iter()
            .zip((1..=lanes).rev())
            .map(|(&s, w)| u64::from(s) * w)
            .sum();
        b = (b + count * lanes % m * a + lanes * (prefix_sum % m) + weighted) % m;
        a = (a + sum) % m;
        for &x in tail {
            a = (a + u64::from(x)) % m;
            b = (b + a) % m;
        }
    }
    ((b << 16) | a) as u32
}

/// Adler-32 of A followed by B from the checksums of each and B's length (zlib).
fn adler32_combine(adler_a: u32, adler_b: u32, len_b: usize) -> u32 {
    let m = u64::from(ADLER_MOD);
    let rem = (len_b as u64) % m;
    let a1 = u64::from(adler_a & 0xffff);
    let b1 = u64::from(adler_a >> 16);
    let a2 = u64::from(adler_b & 0xffff);
    let b2 = u64::from(adler_b >> 16);
    let sum_a = (a1 + a2 + m - 1) % m;
    let sum_b = (rem * a1 % m + b1 + b2 + m - rem) % m;
    ((sum_b << 16) | sum_a) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn inflate(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(data)
            .read_to_end(&mut out)
            .expect("valid zlib");
        out
    }

    #[test]
    fn parallel_strips_make_one_valid_zlib_stream() {
        let data: Vec<u8> = (0..3_000_000u32)
            .map(|i| ((i / 3) ^ (i >> 9)) as u8)
            .collect();
        for level in [0, 1, 3, 6, 9] {
            let z = zlib_compress(&data, level).expect("compress");
            assert_eq!((u16::from(z[0]) * 256 + u16::from(z[1])) % 31, 0);
            assert_eq!(inflate(&z), data, "level {level}");
        }
        assert_eq!(
            inflate(&zlib_compress(&[], 1).expect("compress")),
            Vec::<u8>::new()
        );
        assert_eq!(inflate(&zlib_compress(b"x", 1).expect("compress")), b"x");
    }

    #[test]
    fn adler32_matches_known_values_and_combines() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
        // Long runs of 0xff are the worst case for overflow between reductions.
        let ones = vec![0xffu8; 300_007];
        let bytewise = ones.iter().fold((1u64, 0u64), |(a, b), &x| {
            let a = (a + u64::from(x)) % 65_521;
            (a, (b + a) % 65_521)
        });
        assert_eq!(adler32(&ones), ((bytewise.1 << 16) | bytewise.0) as u32);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 256) as u8).collect();
        let (a, b) = data.split_at(70_001);
        assert_eq!(
            adler32_combine(adler32(a), adler32(b), b.len()),
            adler32(&data)
        );
        assert_eq!(
            adler32_combine(1, adler32(&data), data.len()),
            adler32(&data)
        );
    }
}
