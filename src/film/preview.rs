//! Previews: a small copy of a composed page for operators and job lists, shrunk so that
//! thin lines and text do not alias away: averaged over boxes of k × k pixels (k a power of
//! two no larger than the shrink factor, at most 64), then brought to size with the
//! area-averaging resampler, which has less than a factor of two left to do (more only for
//! a shrink beyond 128). The last box across and the last band down may be partial and are
//! averaged over what they hold, but the resampler weighs them as whole boxes: the preview
//! may be stretched by less than one of its pixels.
//!
//! Why the boxes: the resampler alone, shrinking a 14×17 in page by ten at 300 dpi, weighs
//! 21 source pixels for each output along each axis; in the W3 run that was an eighth of
//! the server's CPU per film. A box average reads each byte once with one addition.

use super::compose::STRIP_ROWS;
use super::model::{Page, PageShape};
use super::resample::{Filter, Kernels, Resampler};

/// Largest side of the boxes: a divisor of [`STRIP_ROWS`], so that strips hold whole boxes.
const MAX_BOX: usize = 64;
const _: () = assert!(STRIP_ROWS.is_multiple_of(MAX_BOX));

/// The preview of `page` whose longer side is at most `max_side` pixels (never enlarged).
pub fn preview(page: &Page, max_side: u32) -> Page {
    let shape = page.shape();
    let preview = StripPreview::new(&shape, max_side);
    let whole = shape.row_bytes() * shape.height_px as usize;
    match page.pixels.get(..whole) {
        Some(rows) => preview.finish(vec![preview.strip(0, rows)]),
        // Fewer pixels than the page's size: white, as for strips that do not add up.
        None => preview.finish(Vec::new()),
    }
}

/// A preview made from a page's strips while they are composed
/// ([`compose_streamed`](super::compose::compose_streamed)), for a page that is never held
/// whole: each strip's boxes are averaged and get the resampler's horizontal pass where
/// the strip was painted, still in that core's cache ([`StripPreview::strip`]); the
/// vertical pass runs once over all of them ([`StripPreview::finish`]). [`preview`] is
/// the same with the page as one strip, so the pixels are the same.
#[derive(Debug)]
pub struct StripPreview {
    resampler: Resampler,
    page: PageShape,
    /// Side of the boxes averaged first.
    boxed: usize,
    /// Boxes across the page (the last one may be narrower).
    boxes_across: usize,
    /// Preview pixels per page pixel.
    scale: f64,
    width: usize,
    height: usize,
}

impl StripPreview {
    /// The preview of a page of `page`'s shape, its longer side at most `max_side` pixels.
    pub fn new(page: &PageShape, max_side: u32) -> StripPreview {
        let longer = page.width_px.max(page.height_px).max(1);
        let scale = (f64::from(max_side.max(1)) / f64::from(longer)).min(1.0);
        let width = ((f64::from(page.width_px) * scale).round() as usize).max(1);
        let height = ((f64::from(page.height_px) * scale).round() as usize).max(1);
        // The largest power of two not above the shrink factor: what is left to the
        // resampler is a factor below two.
        let shrink = (1.0 / scale).floor().max(1.0) as usize;
        let boxed = (1usize << shrink.ilog2()).min(MAX_BOX);
        let (page_w, page_h) = (page.width_px as usize, page.height_px as usize);
        let (boxes_across, boxes_down) = (page_w.div_ceil(boxed), page_h.div_ceil(boxed));
        let resampler = Resampler::new(
            (boxes_across, boxes_down),
            (width, height),
            usize::from(page.channels),
            Filter::Bilinear,
            Kernels::Detected,
        );
        StripPreview {
            resampler,
            page: *page,
            boxed,
            boxes_across,
            scale,
            width,
            height,
        }
    }

    /// The boxes of `rows` (whole rows of the page, the first of them page row
    /// `first_row`, a multiple of [`STRIP_ROWS`]; a partial row at the end is left out),
    /// averaged and through the horizontal pass: what [`finish`](Self::finish) takes, in
    /// page order.
    pub fn strip(&self, first_row: usize, rows: &[u8]) -> Vec<i16> {
        let row_bytes = self.page.row_bytes();
        let channels = usize::from(self.page.channels);
        let inter = self.resampler.intermediate_row_len();
        let mut out = Vec::new();
        if row_bytes == 0 || channels == 0 || !first_row.is_multiple_of(self.boxed) {
            return out;
        }
        let rows = &rows[..rows.len() / row_bytes * row_bytes];
        let band_bytes = self.boxed * row_bytes;
        out.resize(rows.len().div_ceil(band_bytes) * inter, 0);
        // Column sums of a band of `boxed` rows: at most 64 × 255, a u16.
        let mut sums = vec![0u16; row_bytes];
        let mut boxes = vec![0u8; self.boxes_across * channels];
        let mut scratch = Vec::new();
        for (band, inter_row) in rows.chunks(band_bytes).zip(out.chunks_exact_mut(inter)) {
            column_sums(band, row_bytes, &mut sums);
            let band_rows = band.len() / row_bytes;
            // Whole bands of whole boxes, all but the last band and the last box
            // across: a box size known to the compiler, so that its sums unroll.
            let whole = if band_rows == self.boxed {
                match self.boxed {
                    1 => whole_boxes::<1>(&sums, channels, &mut boxes),
                    2 => whole_boxes::<2>(&sums, channels, &mut boxes),
                    4 => whole_boxes::<4>(&sums, channels, &mut boxes),
                    8 => whole_boxes::<8>(&sums, channels, &mut boxes),
                    16 => whole_boxes::<16>(&sums, channels, &mut boxes),
                    32 => whole_boxes::<32>(&sums, channels, &mut boxes),
                    _ => whole_boxes::<64>(&sums, channels, &mut boxes),
                }
            } else {
                0
            };
            let band_rows = band_rows as u32;
            for (column, pixel) in sums
                .chunks(self.boxed * channels)
                .zip(boxes.chunks_exact_mut(channels))
                .skip(whole)
            {
                // The last box across may be narrower, the last band shorter; every other
                // box counts boxed² pixels, a power of two: a shift, not a division.
                let count = band_rows * (column.len() / channels) as u32;
                let average = |total: u32| {
                    if count.is_power_of_two() {
                        (total + count / 2) >> count.trailing_zeros()
                    } else {
                        (total + count / 2) / count
                    }
                };
                if channels == 1 {
                    pixel[0] = average(column.iter().map(|&s| u32::from(s)).sum()) as u8;
                } else {
                    let mut totals = [0u32; 3];
                    for sample in column.chunks_exact(channels) {
                        for (t, &s) in totals.iter_mut().zip(sample) {
                            *t += u32::from(s);
                        }
                    }
                    for (value, &total) in pixel.iter_mut().zip(&totals) {
                        *value = average(total) as u8;
                    }
                }
            }
            self.resampler.horizontal(&boxes, inter_row, &mut scratch);
        }
        out
    }

    /// The preview from what [`strip`](Self::strip) made of every strip of the page, top
    /// to bottom. Should they not add up to the page (they always do when they come from
    /// its strips), the preview is white.
    pub fn finish(&self, strips: Vec<Vec<i16>>) -> Page {
        let channels = usize::from(self.page.channels);
        let stride = self.width * channels;
        let mut pixels = vec![255u8; stride * self.height];
        let intermediate: Vec<i16> = if strips.len() == 1 {
            strips.into_iter().next().unwrap_or_default()
        } else {
            strips.concat()
        };
        let whole = self.resampler.intermediate_len();
        if intermediate.len() == whole && whole > 0 && matches!(channels, 1 | 3) {
            let mut scratch = Vec::new();
            for (y, out) in pixels.chunks_exact_mut(stride).enumerate() {
                self.resampler.vertical(&intermediate, y, out, &mut scratch);
            }
        }
        Page {
            width_px: self.width as u32,
            height_px: self.height as u32,
            width_pt: self.page.width_pt,
            height_pt: self.page.height_pt,
            dpi: ((f64::from(self.page.dpi) * self.scale).round() as u32).max(1),
            channels: self.page.channels,
            pixels,
        }
    }
}

/// `sums[x]`: the sum of byte `x` of each row of `band` (whole rows of `row_bytes`, at
/// most [`MAX_BOX`] of them, so that a u16 holds 64 × 255). Column blocks of [`LANES`]
/// bytes, each summed down the band in registers and stored once: a widening add the
/// compiler vectorizes, compiled a second time for AVX2 (twice as wide) and chosen at
/// run time, as the deflate coder is.
fn column_sums(band: &[u8], row_bytes: usize, sums: &mut [u16]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just reported AVX2.
        return unsafe { column_sums_avx2(band, row_bytes, sums) };
    }
    column_sums_portable(band, row_bytes, sums)
}

/// [`column_sums_portable`] compiled with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn column_sums_avx2(band: &[u8], row_bytes: usize, sums: &mut [u16]) {
    column_sums_portable(band, row_bytes, sums)
}

/// Bytes of a column block of [`column_sums`]: two AVX2 registers of u16 sums.
const LANES: usize = 32;

#[inline(always)]
fn column_sums_portable(band: &[u8], row_bytes: usize, sums: &mut [u16]) {
    debug_assert!(row_bytes > 0, "strip() returns before an empty row");
    let sums = &mut sums[..row_bytes];
    let rows = band.len() / row_bytes;
    let band = &band[..rows * row_bytes];
    let (blocks, rest) = sums.as_chunks_mut::<LANES>();
    for (i, block) in blocks.iter_mut().enumerate() {
        let mut acc = [0u16; LANES];
        for row in band.chunks_exact(row_bytes) {
            let bytes: &[u8; LANES] = row[i * LANES..][..LANES]
                .try_into()
                .expect("a block lies within its row");
            for (a, &v) in acc.iter_mut().zip(bytes) {
                *a += u16::from(v);
            }
        }
        *block = acc;
    }
    let done = blocks.len() * LANES;
    rest.fill(0);
    for row in band.chunks_exact(row_bytes) {
        for (s, &v) in rest.iter_mut().zip(&row[done..]) {
            *s += u16::from(v);
        }
    }
}

/// The averages of the whole K × K boxes of a band of K rows whose column sums are
/// `sums` (`channels` interleaved samples per pixel), into `boxes`; returns how many
/// boxes it wrote (a narrower last box is left to the caller). K² is a power of two: the
/// average is a rounded shift, as for any other box.
fn whole_boxes<const K: usize>(sums: &[u16], channels: usize, boxes: &mut [u8]) -> usize {
    let shift = 2 * K.trailing_zeros();
    let half = (K * K / 2) as u32;
    let average = |total: u32| ((total + half) >> shift) as u8;
    match channels {
        // Up to 16 × 16 boxes the K sums of a box are added as four 16-bit lanes of a
        // u64, K/4 words of them, and the lanes then added by one multiplication: its top
        // 16 bits are l0 + l1 + l2 + l3 when no partial sum carries, and none does, since
        // the whole box sums to at most 16 × 16 × 255 < 2^16. A loop over the K sums of
        // each box would load them one by one.
        1 if K.is_multiple_of(4) && K <= 16 => {
            let (columns, _) = sums.as_chunks::<K>();
            for (column, pixel) in columns.iter().zip(boxes.iter_mut()) {
                let lanes: u64 = column
                    .as_chunks::<4>()
                    .0
                    .iter()
                    .map(|w| {
                        u64::from(w[0])
                            | u64::from(w[1]) << 16
                            | u64::from(w[2]) << 32
                            | u64::from(w[3]) << 48
                    })
                    .sum();
                *pixel = average((lanes.wrapping_mul(0x0001_0001_0001_0001) >> 48) as u32);
            }
            columns.len().min(boxes.len())
        }
        1 => {
            let (columns, _) = sums.as_chunks::<K>();
            for (column, pixel) in columns.iter().zip(boxes.iter_mut()) {
                *pixel = average(column.iter().map(|&s| u32::from(s)).sum());
            }
            columns.len().min(boxes.len())
        }
        3 => {
            let columns = sums.chunks_exact(3 * K);
            let n = columns.len().min(boxes.len() / 3);
            for (column, pixel) in columns.zip(boxes.chunks_exact_mut(3)) {
                let mut totals = [0u32; 3];
                for sample in column[..3 * K].as_chunks::<3>().0 {
                    for (t, &s) in totals.iter_mut().zip(sample) {
                        *t += u32::from(s);
                    }
                }
                for (value, &total) in pixel.iter_mut().zip(&totals) {
                    *value = average(total);
                }
            }
            n
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next number of a xorshift64 sequence: test data that is the same at every run.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Every box size against the plain average of its pixels, on band sums as large as
    /// they get (the first box all K rows of 255, the largest total the u64 lanes carry,
    /// and every fifth sum) and random elsewhere, gray and RGB, with a narrower last box
    /// that `whole_boxes` must leave alone.
    #[test]
    fn whole_boxes_average_like_the_plain_sum() {
        fn check<const K: usize>(channels: usize) {
            let mut state = 0x2545_f491_4f6c_dd1du64 ^ (K * channels) as u64;
            let boxes_across = 37;
            let row_bytes = (boxes_across * K - K / 2).max(1) * channels;
            let sums: Vec<u16> = (0..row_bytes)
                .map(|i| {
                    let random = xorshift(&mut state);
                    if i < K * channels || i % 5 == 0 {
                        (K * 255) as u16
                    } else {
                        (random % (K as u64 * 255 + 1)) as u16
                    }
                })
                .collect();
            let mut boxes = vec![0u8; boxes_across * channels];
            let whole = whole_boxes::<K>(&sums, channels, &mut boxes);
            let expected_whole = row_bytes / (K * channels);
            assert_eq!(whole, expected_whole, "K={K} channels={channels}");
            for b in 0..whole {
                for c in 0..channels {
                    let total: u32 = (0..K)
                        .map(|i| u32::from(sums[(b * K + i) * channels + c]))
                        .sum();
                    let count = (K * K) as u32;
                    let want = ((total + count / 2) / count) as u8;
                    assert_eq!(boxes[b * channels + c], want, "K={K} box {b} channel {c}");
                }
            }
            assert!(boxes[whole * channels..].iter().all(|&v| v == 0));
        }
        for channels in [1, 3] {
            check::<1>(channels);
            check::<2>(channels);
            check::<4>(channels);
            check::<8>(channels);
            check::<16>(channels);
            check::<32>(channels);
            check::<64>(channels);
        }
    }

    /// Whole strips against a plain reference: each box averaged from its pixels (the
    /// last box across narrower, the last band shorter), then the same horizontal pass.
    /// Random pages whose width and height are no multiple of the box, with boxes of 4,
    /// 8 and 16 gray and 8 in RGB, given as one strip and as strips of STRIP_ROWS.
    #[test]
    fn strips_average_boxes_like_a_plain_reference() {
        for (channels, max_side, boxed) in [(1, 200, 4), (1, 100, 8), (1, 50, 16), (3, 100, 8)] {
            let (width, height) = (1003usize, 801usize);
            let shape = PageShape {
                width_px: width as u32,
                height_px: height as u32,
                width_pt: 1.0,
                height_pt: 1.0,
                dpi: 300,
                channels: channels as u8,
            };
            let preview = StripPreview::new(&shape, max_side);
            assert_eq!(preview.boxed, boxed);
            let mut state = 0x9e37_79b9_7f4a_7c15u64;
            let pixels: Vec<u8> = (0..width * height * channels)
                .map(|_| (xorshift(&mut state) >> 24) as u8)
                .collect();
            let inter = preview.resampler.intermediate_row_len();
            let mut expected = Vec::new();
            let mut scratch = Vec::new();
            for band in (0..height).step_by(boxed) {
                let rows = band..(band + boxed).min(height);
                let boxes: Vec<u8> = (0..width.div_ceil(boxed) * channels)
                    .map(|i| {
                        let (column, c) = (i / channels * boxed, i % channels);
                        let columns = column..(column + boxed).min(width);
                        let count = (rows.len() * columns.len()) as u32;
                        let total: u32 = rows
                            .clone()
                            .flat_map(|y| columns.clone().map(move |x| (y, x)))
                            .map(|(y, x)| u32::from(pixels[(y * width + x) * channels + c]))
                            .sum();
                        ((total + count / 2) / count) as u8
                    })
                    .collect();
                let mut row = vec![0i16; inter];
                preview.resampler.horizontal(&boxes, &mut row, &mut scratch);
                expected.extend(row);
            }
            let row_bytes = width * channels;
            assert_eq!(
                preview.strip(0, &pixels),
                expected,
                "one strip, box {boxed}"
            );
            let strips: Vec<i16> = pixels
                .chunks(STRIP_ROWS * row_bytes)
                .enumerate()
                .flat_map(|(n, strip)| preview.strip(n * STRIP_ROWS, strip))
                .collect();
            assert_eq!(strips, expected, "strips of {STRIP_ROWS} rows, box {boxed}");
        }
    }

    /// The column sums, blocks and tail, against a plain sum per column.
    #[test]
    fn column_sums_add_each_column_down_the_band() {
        for (row_bytes, rows) in [(1, 1), (31, 4), (32, 64), (2400, 4), (4203, 8), (100, 0)] {
            let band: Vec<u8> = (0..row_bytes * rows)
                .map(|i| (i * 7 + i / 13) as u8)
                .collect();
            let mut sums = vec![1u16; row_bytes];
            column_sums(&band, row_bytes, &mut sums);
            for (x, &s) in sums.iter().enumerate() {
                let want: u16 = (0..rows).map(|r| u16::from(band[r * row_bytes + x])).sum();
                assert_eq!(s, want, "row_bytes {row_bytes} rows {rows} column {x}");
            }
        }
    }

    #[test]
    fn preview_keeps_aspect_and_averages() {
        let mut pixels = vec![0u8; 400 * 200];
        for row in pixels.chunks_mut(400) {
            row[200..].fill(200);
        }
        let page = Page {
            width_px: 400,
            height_px: 200,
            width_pt: 1.0,
            height_pt: 1.0,
            dpi: 300,
            channels: 1,
            pixels,
        };
        let p = preview(&page, 100);
        assert_eq!((p.width_px, p.height_px), (100, 50));
        assert_eq!(p.pixels[25 * 100 + 10], 0);
        assert_eq!(p.pixels[25 * 100 + 90], 200);
        assert_eq!(preview(&p, 1000).width_px, 100, "never enlarged");
    }

    #[test]
    fn strips_that_do_not_add_up_to_the_page_give_a_white_preview() {
        let page = Page {
            width_px: 40,
            height_px: 20,
            width_pt: 1.0,
            height_pt: 1.0,
            dpi: 300,
            channels: 1,
            pixels: vec![0; 40 * 20],
        };
        let strips = StripPreview::new(&page.shape(), 10);
        let half = strips.strip(0, &page.pixels[..40 * 10]);
        let p = strips.finish(vec![half]);
        assert_eq!((p.width_px, p.height_px, p.dpi), (10, 5, 75));
        assert!(p.pixels.iter().all(|&v| v == 255));
        let short = Page {
            pixels: vec![0; 40 * 19 + 3],
            ..page.clone()
        };
        assert!(preview(&short, 10).pixels.iter().all(|&v| v == 255));
        assert!(preview(&page, 10).pixels.iter().all(|&v| v == 0));
    }

    fn uniform(width: u32, height: u32, pixel: &[u8]) -> Page {
        Page {
            width_px: width,
            height_px: height,
            width_pt: 1.0,
            height_pt: 1.0,
            dpi: 300,
            channels: pixel.len() as u8,
            pixels: pixel.repeat(width as usize * height as usize),
        }
    }

    #[test]
    fn uniform_pages_keep_their_value_whatever_the_boxes_left_over() {
        // 1001 × 777 to 512: boxes of 1, then the last box across and the last band down
        // are partial; colour keeps each channel.
        for (w, h, side) in [
            (1001, 777, 512),
            (4200, 5100, 512),
            (8400, 10_200, 512),
            (7, 5, 3),
        ] {
            let gray = preview(&uniform(w, h, &[123]), side);
            assert!(gray.pixels.iter().all(|&v| v == 123), "{w}x{h}");
            let colour = preview(&uniform(w, h, &[10, 200, 77]), side);
            assert!(
                colour.pixels.chunks_exact(3).all(|p| p == [10, 200, 77]),
                "{w}x{h}"
            );
        }
    }

    #[test]
    fn a_one_pixel_line_survives_a_tenfold_shrink() {
        // A thin line of text or a frame on a 300 dpi page must not vanish (alias away)
        // from the preview: it averages to a gray of about a tenth of its contrast.
        let mut page = uniform(4200, 5100, &[255]);
        for row in page.pixels.chunks_exact_mut(4200) {
            row[2101] = 0;
        }
        let p = preview(&page, 512);
        let darkest = (0..p.width_px as usize)
            .map(|x| p.pixels[100 * p.width_px as usize + x])
            .min()
            .unwrap_or(255);
        assert!((200..=245).contains(&darkest), "{darkest}");
    }
}
