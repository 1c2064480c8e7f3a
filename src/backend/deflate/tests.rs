//! Round trips through an independent inflater (flate2 / zlib-rs), which also checks the
//! Adler-32, and the PNG un-filter.

use super::*;
use proptest::prelude::*;
use std::io::Read;

fn inflate(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .read_to_end(&mut out)
        .expect("a valid zlib stream with a matching Adler-32");
    out
}

/// The pixels back from filtered rows of `row_bytes` + 1 bytes.
fn unfilter(filtered: &[u8], row_bytes: usize, channels: usize) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(filtered.len());
    let zeros = vec![0u8; row_bytes];
    for (r, row) in filtered.chunks(row_bytes + 1).enumerate() {
        let above = if r == 0 {
            zeros.clone()
        } else {
            out[(r - 1) * row_bytes..r * row_bytes].to_vec()
        };
        unfilter_row(row, channels, &above, &mut out).expect("a known filter tag");
    }
    out
}

/// Compresses `pixels` in strips of `strip_rows` rows and checks the stream decodes to
/// them.
fn round_trip(pixels: &[u8], row_bytes: usize, channels: usize, strip_rows: usize, filter: Filter) {
    let strips: Vec<CompressedStrip> = pixels
        .chunks((strip_rows * row_bytes).max(1))
        .map(|rows| compress_strip_with(rows, row_bytes, channels, filter))
        .collect();
    let z = zlib_from_strips(&strips);
    assert_eq!((u16::from(z[0]) * 256 + u16::from(z[1])) % 31, 0, "FCHECK");
    let filtered = inflate(&z);
    assert_eq!(filtered.len(), strips.iter().map(|s| s.len).sum::<usize>());
    assert_eq!(
        u32::from_be_bytes(z[z.len() - 4..].try_into().expect("4 bytes")),
        adler32(&filtered)
    );
    assert_eq!(unfilter(&filtered, row_bytes, channels), pixels);
}

/// A film-like page: black border, smooth bright discs with noise, an empty box.
fn image_like(width: usize, height: usize, channels: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(width * height * channels);
    for y in 0..height {
        for x in 0..width {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let border = x < width / 10 || y < height / 10 || x > width * 7 / 10;
            let v = if border {
                0
            } else {
                let (dx, dy) = (
                    x as f64 / width as f64 - 0.4,
                    y as f64 / height as f64 - 0.5,
                );
                let body = 200.0 - 400.0 * (dx * dx + dy * dy);
                (body + (state % 7) as f64).clamp(0.0, 255.0) as u8
            };
            for c in 0..channels {
                out.push(v.wrapping_add(c as u8 * 40));
            }
        }
    }
    out
}

fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}

#[test]
fn every_strip_size_round_trips_gray_and_rgb() {
    for channels in [1usize, 3] {
        let (width, height) = (37, 23);
        let row_bytes = width * channels;
        for pixels in [
            image_like(width, height, channels, 3),
            random(row_bytes * height, 5),
        ] {
            for strip_rows in [1, 2, 3, 7, 22, 23, 64] {
                for filter in [
                    Filter::None,
                    Filter::Sub,
                    Filter::Up,
                    Filter::Average,
                    Filter::Paeth,
                ] {
                    round_trip(&pixels, row_bytes, channels, strip_rows, filter);
                }
            }
        }
    }
}

#[test]
fn large_pages_span_many_blocks_and_cores() {
    let (width, height) = (1500, 700);
    for channels in [1usize, 3] {
        let pixels = image_like(width, height, channels, 9);
        let z = zlib_predicted(&pixels, width * channels, channels);
        assert!(
            z.len() < pixels.len() / 3,
            "{} of {}",
            z.len(),
            pixels.len()
        );
        assert_eq!(unfilter(&inflate(&z), width * channels, channels), pixels);
        round_trip(&pixels, width * channels, channels, 64, DEFAULT_FILTER);
    }
    // Incompressible data falls back to stored blocks: little more than its size.
    let noise = random(3_000_000, 11);
    let z = zlib_predicted(&noise, 3000, 1);
    assert!(z.len() < noise.len() + noise.len() / 100, "{}", z.len());
    assert_eq!(unfilter(&inflate(&z), 3000, 1), noise);
}

#[test]
fn long_runs_and_uniform_pages_shrink_to_almost_nothing() {
    let black = vec![0u8; 4200 * 300];
    let z = zlib_predicted(&black, 4200, 1);
    assert!(z.len() < 4_000, "{}", z.len());
    assert_eq!(unfilter(&inflate(&z), 4200, 1), black);
    let white = vec![255u8; 4200 * 3 * 20];
    round_trip(&white, 4200 * 3, 3, 7, DEFAULT_FILTER);
}

#[test]
fn empty_input_is_an_empty_valid_stream() {
    assert_eq!(inflate(&zlib_predicted(&[], 10, 1)), Vec::<u8>::new());
    assert_eq!(inflate(&zlib_from_strips(&[])), Vec::<u8>::new());
    let empty = compress_strip(&[], 10, 1);
    assert_eq!((empty.len, empty.adler), (0, 1));
    assert_eq!(inflate(&zlib_predicted(&[7], 1, 1)), vec![1, 7]);
}

#[test]
fn a_strip_never_reads_the_row_above_it() {
    // The same rows after different rows above compress to the same bytes.
    let rows = image_like(50, 12, 1, 4);
    let a = compress_strip(&rows[50 * 6..], 50, 1);
    let mut changed = rows.clone();
    changed[..50 * 6].fill(99);
    let b = compress_strip(&changed[50 * 6..], 50, 1);
    assert_eq!(a, b);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_rows_round_trip(
        width in 1usize..80,
        height in 0usize..40,
        channels in prop_oneof![Just(1usize), Just(3)],
        strip_rows in 1usize..20,
        seed in any::<u64>(),
        runs in any::<bool>(),
    ) {
        let row_bytes = width * channels;
        let pixels = if runs {
            // Few values, so that runs and skewed codes are frequent.
            random(row_bytes * height, seed).iter().map(|b| b & 0x81).collect()
        } else {
            random(row_bytes * height, seed)
        };
        round_trip(&pixels, row_bytes, channels, strip_rows, DEFAULT_FILTER);
        round_trip(&pixels, row_bytes, channels, strip_rows, Filter::Average);
        // The coder chosen for this CPU writes the portable coder's bytes.
        let strip = &pixels[..(strip_rows * row_bytes).min(pixels.len())];
        prop_assert_eq!(
            compress_strip_with(strip, row_bytes, channels, DEFAULT_FILTER),
            compress_strip_portable(strip, row_bytes, channels, DEFAULT_FILTER)
        );
    }
}

#[test]
fn runs_of_every_length_at_every_alignment_round_trip() {
    // Runs are found eight bytes at a time: lengths about the shortest run taken, the
    // longest match (258) and beyond, starting at each offset in a word, between noise.
    let noise = random(4096, 11);
    for len in [1, 3, 7, 8, 9, 15, 16, 17, 257, 258, 259, 266, 600] {
        for offset in 0..9 {
            let mut row = noise[..offset + 1].to_vec();
            let value = row[offset];
            row.extend(std::iter::repeat_n(value, len));
            row.extend_from_slice(&noise[100..140]);
            // `Filter::None` keeps the run as it is; Sub turns it into zeros.
            round_trip(&row, row.len(), 1, 1, Filter::None);
            round_trip(&row, row.len(), 1, 1, Filter::Sub);
            assert_eq!(
                compress_strip_with(&row, row.len(), 1, Filter::None),
                compress_strip_portable(&row, row.len(), 1, Filter::None)
            );
        }
    }
}
