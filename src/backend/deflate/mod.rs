//! Lossless compression of page images: PNG-filtered rows (PNG spec §9) deflated
//! (RFC 1951) in independent strips, joined into one zlib stream (RFC 1950). PDF reads it
//! as `/FlateDecode` with `/Predictor 15` (ISO 32000-1 7.4.4.4), PNG as IDAT.
//!
//! A strip is a band of whole rows. Its first row is filtered without the row above (Sub),
//! because that row may still be being composed on another core; every block of a strip
//! is non-final and the strip ends with an empty stored block, so it ends on a byte
//! boundary and strips can be concatenated in any number. [`zlib_from_strips`] puts the
//! zlib header in front, a final empty block and the Adler-32 behind, the checksum
//! combined from the strips' own.
//!
//! The coder is our own and does one thing: per block of ~64 KiB of filtered rows, it
//! counts literals and runs (matches at distance 1, eight bytes or more), builds dynamic
//! Huffman codes for them and writes the block. No match search: on filtered noisy images
//! an LZ77 search costs most of the time and gains little. Figures on the W2 page (4200 ×
//! 5100 gray, 21.4 MB, twenty noisy 12-bit images upscaled CUBIC), one thread, `cargo
//! bench --bench deflate` on the 2-core bench machine, quiet (BENCHMARKS.md, "second
//! pass"; ours includes the filtering, the others get filtered rows):
//!
//! | encoder                       | bytes   | time    |
//! |-------------------------------|---------|---------|
//! | ours, Paeth rows              | 5.66 MB | 34 ms   |
//! | ours, Average / Up            | 5.70 / 6.37 MB | 33 / 37 ms |
//! | zlib-rs 1 / 3, raw pixels     | 11.0 / 7.80 MB | 88 / 192 ms |
//! | zlib-rs 1 / 2 / 3, Paeth rows | 8.99 / 5.65 / 5.33 MB | 60 / 118 / 149 ms |
//! | libdeflate 1, Paeth rows      | 5.36 MB | 72 ms   |
//! | libdeflate 3 / 6, Paeth rows  | 4.88 / 4.88 MB | 248 / 499 ms |
//!
//! Paeth on every row, then: 27% smaller than the former zlib-rs level 3 on raw pixels
//! (7.80 MB) at a sixth of its time, and it splits into strips, which libdeflate cannot
//! (every libdeflate stream ends with a final block).
//!
//! [`compress_strip`] is the building block for encoding while composing (each strip on
//! the core that composed it); [`zlib_predicted`] compresses a finished image on all cores.

mod adler;
mod block;
mod filter;
mod huffman;

pub use adler::{adler32, adler32_combine};
pub use filter::{Filter, filter_row, unfilter_row};

use block::{BitWriter, BlockEncoder};

/// The filter of every row but a strip's first (which has no row above to use).
pub const DEFAULT_FILTER: Filter = Filter::Paeth;
/// Filtered bytes per deflate block: large enough that a block's code table (~60–100
/// bytes) is noise, small enough that codes follow the page from border to image and
/// the block stays in the core's cache.
const BLOCK_BYTES: usize = 64 * 1024;
/// Below this many bytes an image is compressed on the calling thread only.
const PARALLEL_THRESHOLD: usize = 1 << 20;

/// One strip of rows, compressed: raw deflate blocks ending on a byte boundary, none final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressedStrip {
    /// The deflate blocks.
    pub bytes: Vec<u8>,
    /// Bytes the blocks inflate to: the filtered rows, one tag byte per row.
    pub len: usize,
    /// Adler-32 of those bytes.
    pub adler: u32,
}

/// Filters and compresses `rows` (whole rows of `row_bytes` bytes; a partial row at the
/// end is left out) of 8-bit samples with `channels` samples per pixel.
pub fn compress_strip(rows: &[u8], row_bytes: usize, channels: usize) -> CompressedStrip {
    compress_strip_with(rows, row_bytes, channels, DEFAULT_FILTER)
}

/// [`compress_strip`] with another filter for the rows after the first.
///
/// On an x86-64 CPU with AVX2 and BMI2 the whole coder is compiled a second time for them
/// and chosen at run time: the filters and the checksum vectorise twice as wide, and the
/// bit packing of the innermost loop shifts by a register without moving the count to
/// CL (`shlx`, `shrx`). The bytes written are the same (tested).
pub fn compress_strip_with(
    rows: &[u8],
    row_bytes: usize,
    channels: usize,
    filter: Filter,
) -> CompressedStrip {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("bmi2") {
        // SAFETY: the CPU has just reported AVX2 and BMI2.
        return unsafe { compress_strip_avx2(rows, row_bytes, channels, filter) };
    }
    compress_strip_portable(rows, row_bytes, channels, filter)
}

/// [`compress_strip_portable`] compiled for AVX2 and BMI2: everything it calls on the hot
/// path is `#[inline(always)]`, so that it is compiled here again with those features.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi2")]
unsafe fn compress_strip_avx2(
    rows: &[u8],
    row_bytes: usize,
    channels: usize,
    filter: Filter,
) -> CompressedStrip {
    compress_strip_portable(rows, row_bytes, channels, filter)
}

/// The coder for any CPU: what [`compress_strip_with`] runs when it has no better.
#[inline(always)]
fn compress_strip_portable(
    rows: &[u8],
    row_bytes: usize,
    channels: usize,
    filter: Filter,
) -> CompressedStrip {
    let height = rows.len().checked_div(row_bytes).unwrap_or(0);
    if height == 0 {
        return CompressedStrip {
            bytes: Vec::new(),
            len: 0,
            adler: 1,
        };
    }
    let filtered_row = row_bytes + 1;
    let blocks = (height * filtered_row).div_ceil(BLOCK_BYTES);
    let rows_per_block = height.div_ceil(blocks);
    let mut writer = BitWriter::with_capacity(rows.len() / 3 + 64);
    let mut encoder = BlockEncoder::default();
    let mut filtered = Vec::with_capacity(rows_per_block * filtered_row);
    let mut adler = 1u32;
    let mut previous = None;
    for first in (0..height).step_by(rows_per_block) {
        filtered.clear();
        for r in first..(first + rows_per_block).min(height) {
            let row = &rows[r * row_bytes..(r + 1) * row_bytes];
            let above = r
                .checked_sub(1)
                .map(|a| &rows[a * row_bytes..r * row_bytes]);
            filter_row(filter, channels, above, row, &mut filtered);
        }
        adler = adler32_combine(adler, adler32(&filtered), filtered.len());
        encoder.write(&mut writer, &filtered, previous);
        previous = filtered.last().copied();
    }
    writer.sync_flush();
    CompressedStrip {
        bytes: writer.out,
        len: height * filtered_row,
        adler,
    }
}

/// The zlib stream (RFC 1950) of `strips` in order: header, the strips' blocks, a final
/// empty block and the Adler-32 of everything they inflate to.
pub fn zlib_from_strips(strips: &[CompressedStrip]) -> Vec<u8> {
    let total: usize = strips.iter().map(|s| s.bytes.len()).sum();
    let mut out = Vec::with_capacity(total + 8);
    // CM 8, 32 KiB window, FLEVEL 0 (fastest); 0x7801 is a multiple of 31 (FCHECK).
    out.extend_from_slice(&[0x78, 0x01]);
    let mut adler = 1u32;
    for strip in strips {
        out.extend_from_slice(&strip.bytes);
        adler = adler32_combine(adler, strip.adler, strip.len);
    }
    // A final fixed-Huffman block holding only the end-of-block code (RFC 1951 3.2.6).
    out.extend_from_slice(&[0x03, 0x00]);
    out.extend_from_slice(&adler.to_be_bytes());
    out
}

/// The filtered, compressed zlib stream of a whole image, in strips on every core when it
/// is large: for callers holding a finished page.
pub fn zlib_predicted(pixels: &[u8], row_bytes: usize, channels: usize) -> Vec<u8> {
    let height = pixels.len().checked_div(row_bytes).unwrap_or(0);
    let threads = crate::os::cores().min(16);
    let strips = if pixels.len() < PARALLEL_THRESHOLD {
        1
    } else {
        threads
    };
    let rows_per_strip = height.div_ceil(strips).max(1);
    let chunk = rows_per_strip * row_bytes.max(1);
    let parts: Vec<CompressedStrip> = if strips == 1 {
        vec![compress_strip(pixels, row_bytes, channels)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = pixels
                .chunks(chunk)
                .map(|rows| scope.spawn(move || compress_strip(rows, row_bytes, channels)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    };
    zlib_from_strips(&parts)
}

#[cfg(test)]
mod tests;
