//! PWG Raster (PWG 5102.4-2012), the one document format every IPP Everywhere printer must
//! accept (PWG 5100.14 §5.1): our own encoder for composed pages.
//!
//! A stream is the sync word `RaS2` followed, for each page, by a 1796-byte page header and
//! the compressed bitmap (PWG 5102.4 §4). Header fields are big-endian; the layout is
//! CUPS's `cups_page_header2_t`, with the fields PWG does not use reserved as zero.
//!
//! Pages are written as `sgray_8` (one byte per pixel, 0 = black, 255 = white: exactly
//! filmd's gray convention) or `srgb_8` (three bytes, R G B), the two contone types
//! printers advertise in `pwg-raster-document-type-supported`.
//!
//! Compression (PWG 5102.4 §4.3): every line starts with a line repeat byte (the line is
//! used 1 + n times), then pixel groups, each a control byte followed by pixels:
//! 0..=127 repeats the next pixel 1 + n times, 129..=255 copies the next 257 − n pixels
//! (2 to 128) as they are. 128 is never written.
//!
//! Copies are an IPP job attribute (`copies`, RFC 8011 §5.2.5): `NumCopies` is always 1
//! and pages are never repeated in the document.

use crate::film::Page;
use std::io::Write;

/// Length of a page header (PWG 5102.4 §4.3).
pub const HEADER_LEN: usize = 1796;

/// The synchronisation word that starts a stream (PWG 5102.4 §4.2.1).
pub const SYNC_WORD: &[u8; 4] = b"RaS2";

/// The MIME type of the format (PWG 5102.4 §4.1).
pub const MIME_TYPE: &str = "image/pwg-raster";

/// Offsets of the header fields filmd writes (PWG 5102.4 Table 1; names as in the spec).
mod offset {
    pub const PWG_RASTER: usize = 0;
    pub const MEDIA_TYPE: usize = 128;
    pub const PRINT_CONTENT_OPTIMIZE: usize = 192;
    pub const HW_RESOLUTION: usize = 276;
    pub const NUM_COPIES: usize = 340;
    pub const PAGE_SIZE: usize = 352;
    pub const WIDTH: usize = 372;
    pub const HEIGHT: usize = 376;
    pub const BITS_PER_COLOR: usize = 384;
    pub const BITS_PER_PIXEL: usize = 388;
    pub const BYTES_PER_LINE: usize = 392;
    pub const COLOR_ORDER: usize = 396;
    pub const COLOR_SPACE: usize = 400;
    pub const NUM_COLORS: usize = 420;
    pub const TOTAL_PAGE_COUNT: usize = 452;
    pub const CROSS_FEED_TRANSFORM: usize = 456;
    pub const FEED_TRANSFORM: usize = 460;
    pub const IMAGE_BOX_LEFT: usize = 464;
    pub const IMAGE_BOX_TOP: usize = 468;
    pub const IMAGE_BOX_RIGHT: usize = 472;
    pub const IMAGE_BOX_BOTTOM: usize = 476;
    pub const PRINT_QUALITY: usize = 484;
    pub const PAGE_SIZE_NAME: usize = 1732;
}

/// ColorSpaceEnum `Sgray` (PWG 5102.4 Table 3).
pub const COLOR_SPACE_SGRAY: u32 = 18;
/// ColorSpaceEnum `Srgb` (PWG 5102.4 Table 3).
pub const COLOR_SPACE_SRGB: u32 = 19;

/// Longest pixel group of the run encoding (PWG 5102.4 §4.3).
const MAX_GROUP: usize = 128;
/// Most lines one line repeat byte can stand for.
const MAX_LINE_REPEAT: usize = 256;
/// Encoded bytes collected before they go to the writer.
const FLUSH_AT: usize = 64 * 1024;

/// PrintQualityEnum (PWG 5102.4 Table 8), from the job's `print-quality`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrintQuality {
    #[default]
    Default,
    Draft,
    Normal,
    High,
}

impl PrintQuality {
    fn value(self) -> u32 {
        match self {
            PrintQuality::Default => 0,
            PrintQuality::Draft => 3,
            PrintQuality::Normal => 4,
            PrintQuality::High => 5,
        }
    }
}

/// Where the content lies on the page, in pixels, right and bottom inclusive
/// (PWG 5102.4 ImageBoxLeft/Top/Right/Bottom; inclusive as PAPPL and ipptransform read
/// them, so that Right < Width always holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageBox {
    pub left: u32,
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
}

/// Per-page header values that do not come from the [`Page`] itself.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PwgPage {
    /// PageSizeName: the PWG self-describing media name (PWG 5101.1), e.g.
    /// `na_letter_8.5x11in`.
    pub page_size_name: String,
    /// MediaType: a `media-type` keyword (PWG 5100.7), empty for the printer's default.
    pub media_type: String,
    /// PrintContentOptimize: a `print-content-optimize` keyword (PWG 5100.7), e.g. `photo`.
    pub print_content_optimize: String,
    pub print_quality: PrintQuality,
    /// TotalPageCount: pages in the document, 0 when not known in advance.
    pub total_page_count: u32,
    /// The content area; `None` means the whole page.
    pub image_box: Option<ImageBox>,
}

#[derive(Debug, thiserror::Error)]
pub enum PwgError {
    #[error("writing PWG raster: {0}")]
    Io(#[from] std::io::Error),
    #[error("page with {0} channels: PWG raster pages are written as sgray_8 or srgb_8")]
    Channels(u8),
    #[error("page of {width}x{height} px at {dpi} dpi cannot be encoded")]
    Size { width: u32, height: u32, dpi: u32 },
    #[error("page buffer holds {actual} bytes, {expected} expected")]
    PixelBuffer { expected: usize, actual: usize },
    #[error("header field {0} must be ASCII of at most 63 characters")]
    Text(&'static str),
    #[error("image box {0:?} lies outside the page")]
    ImageBox(ImageBox),
}

/// One encoded page: a page header and its compressed lines, without the stream's sync
/// word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPage(Vec<u8>);

impl EncodedPage {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Writes a PWG raster stream page by page, so that a multi-film job never needs all its
/// encoded pages in memory at once.
pub struct PwgWriter<W: Write> {
    writer: W,
    /// Reused encode buffer: no allocation per line or pixel.
    buf: Vec<u8>,
    pages: u32,
}

impl<W: Write> PwgWriter<W> {
    /// Starts a stream: writes the sync word.
    pub fn new(mut writer: W) -> Result<Self, PwgError> {
        writer.write_all(SYNC_WORD)?;
        Ok(PwgWriter {
            writer,
            buf: Vec::with_capacity(FLUSH_AT + 8 * 1024),
            pages: 0,
        })
    }

    /// Appends one page: its header, then its compressed lines.
    pub fn add_page(&mut self, page: &Page, settings: &PwgPage) -> Result<(), PwgError> {
        let header = page_header(page, settings)?;
        self.writer.write_all(&header)?;
        let bytes_per_pixel = usize::from(page.channels);
        let bytes_per_line = page.width_px as usize * bytes_per_pixel;
        let lines: &[u8] = &page.pixels;
        let height = page.height_px as usize;
        let mut y = 0;
        self.buf.clear();
        while y < height {
            let line = &lines[y * bytes_per_line..(y + 1) * bytes_per_line];
            let mut repeat = 1;
            while repeat < MAX_LINE_REPEAT
                && y + repeat < height
                && lines[(y + repeat) * bytes_per_line..(y + repeat + 1) * bytes_per_line] == *line
            {
                repeat += 1;
            }
            self.buf.push((repeat - 1) as u8);
            if bytes_per_pixel == 1 {
                encode_line::<1>(line, &mut self.buf);
            } else {
                encode_line::<3>(line, &mut self.buf);
            }
            if self.buf.len() >= FLUSH_AT {
                self.writer.write_all(&self.buf)?;
                self.buf.clear();
            }
            y += repeat;
        }
        self.writer.write_all(&self.buf)?;
        self.buf.clear();
        self.pages += 1;
        Ok(())
    }

    /// One page as [`PwgWriter::add_page`] writes it (header and compressed lines), to be
    /// written any number of times with [`PwgWriter::add_encoded_page`]: collated copies
    /// are encoded once.
    pub fn encode_page(page: &Page, settings: &PwgPage) -> Result<EncodedPage, PwgError> {
        let mut w = PwgWriter {
            writer: Vec::new(),
            buf: Vec::with_capacity(FLUSH_AT + 8 * 1024),
            pages: 0,
        };
        w.add_page(page, settings)?;
        Ok(EncodedPage(w.writer))
    }

    /// Appends a page made by [`PwgWriter::encode_page`].
    pub fn add_encoded_page(&mut self, page: &EncodedPage) -> Result<(), PwgError> {
        self.writer.write_all(&page.0)?;
        self.pages += 1;
        Ok(())
    }

    /// Pages written so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Ends the stream (PWG raster has no trailer) and hands the writer back; a buffered
    /// writer still needs its flush.
    pub fn finish(self) -> W {
        self.writer
    }
}

/// Encodes whole pages into one document, every page with `settings` and TotalPageCount
/// set to the number of pages.
pub fn encode_pwg(pages: &[Page], settings: &PwgPage) -> Result<Vec<u8>, PwgError> {
    let settings = PwgPage {
        total_page_count: u32::try_from(pages.len()).unwrap_or(u32::MAX),
        ..settings.clone()
    };
    let raw: usize = pages.iter().map(|p| p.pixels.len()).sum();
    // Noisy films compress to about half; flat ones far better.
    let mut writer = PwgWriter::new(Vec::with_capacity(raw / 2 + 4))?;
    for page in pages {
        writer.add_page(page, &settings)?;
    }
    Ok(writer.finish())
}

/// Builds and checks the page header (PWG 5102.4 §4.3, Table 1).
fn page_header(page: &Page, settings: &PwgPage) -> Result<[u8; HEADER_LEN], PwgError> {
    let (bits_per_pixel, color_space, num_colors) = match page.channels {
        1 => (8u32, COLOR_SPACE_SGRAY, 1u32),
        3 => (24, COLOR_SPACE_SRGB, 3),
        c => return Err(PwgError::Channels(c)),
    };
    let size_error = || PwgError::Size {
        width: page.width_px,
        height: page.height_px,
        dpi: page.dpi,
    };
    if page.width_px == 0 || page.height_px == 0 || page.dpi == 0 {
        return Err(size_error());
    }
    let bytes_per_line = page
        .width_px
        .checked_mul(u32::from(page.channels))
        .ok_or_else(size_error)?;
    let expected = (bytes_per_line as usize)
        .checked_mul(page.height_px as usize)
        .ok_or_else(size_error)?;
    if page.pixels.len() != expected {
        return Err(PwgError::PixelBuffer {
            expected,
            actual: page.pixels.len(),
        });
    }
    let image_box = settings.image_box.unwrap_or(ImageBox {
        left: 0,
        top: 0,
        right: page.width_px - 1,
        bottom: page.height_px - 1,
    });
    if image_box.left > image_box.right
        || image_box.top > image_box.bottom
        || image_box.right >= page.width_px
        || image_box.bottom >= page.height_px
    {
        return Err(PwgError::ImageBox(image_box));
    }
    // PageSize is in points, as an unsigned integer.
    let points = |pt: f64| {
        if pt.is_finite() && pt > 0.0 && pt < f64::from(u32::MAX) {
            Ok(pt.round() as u32)
        } else {
            Err(size_error())
        }
    };
    let (width_pt, height_pt) = (points(page.width_pt)?, points(page.height_pt)?);

    let mut h = [0u8; HEADER_LEN];
    put_text(&mut h, offset::PWG_RASTER, "PwgRaster", "PwgRaster")?;
    put_text(
        &mut h,
        offset::MEDIA_TYPE,
        &settings.media_type,
        "MediaType",
    )?;
    put_text(
        &mut h,
        offset::PRINT_CONTENT_OPTIMIZE,
        &settings.print_content_optimize,
        "PrintContentOptimize",
    )?;
    put_u32(&mut h, offset::HW_RESOLUTION, page.dpi);
    put_u32(&mut h, offset::HW_RESOLUTION + 4, page.dpi);
    put_u32(&mut h, offset::NUM_COPIES, 1);
    put_u32(&mut h, offset::PAGE_SIZE, width_pt);
    put_u32(&mut h, offset::PAGE_SIZE + 4, height_pt);
    put_u32(&mut h, offset::WIDTH, page.width_px);
    put_u32(&mut h, offset::HEIGHT, page.height_px);
    put_u32(&mut h, offset::BITS_PER_COLOR, 8);
    put_u32(&mut h, offset::BITS_PER_PIXEL, bits_per_pixel);
    put_u32(&mut h, offset::BYTES_PER_LINE, bytes_per_line);
    put_u32(&mut h, offset::COLOR_ORDER, 0); // Chunky
    put_u32(&mut h, offset::COLOR_SPACE, color_space);
    put_u32(&mut h, offset::NUM_COLORS, num_colors);
    put_u32(&mut h, offset::TOTAL_PAGE_COUNT, settings.total_page_count);
    // 1 and 1: no flip of the back side (there is none: films are one-sided).
    put_u32(&mut h, offset::CROSS_FEED_TRANSFORM, 1);
    put_u32(&mut h, offset::FEED_TRANSFORM, 1);
    put_u32(&mut h, offset::IMAGE_BOX_LEFT, image_box.left);
    put_u32(&mut h, offset::IMAGE_BOX_TOP, image_box.top);
    put_u32(&mut h, offset::IMAGE_BOX_RIGHT, image_box.right);
    put_u32(&mut h, offset::IMAGE_BOX_BOTTOM, image_box.bottom);
    put_u32(
        &mut h,
        offset::PRINT_QUALITY,
        settings.print_quality.value(),
    );
    put_text(
        &mut h,
        offset::PAGE_SIZE_NAME,
        &settings.page_size_name,
        "PageSizeName",
    )?;
    Ok(h)
}

fn put_u32(header: &mut [u8; HEADER_LEN], at: usize, value: u32) {
    header[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

/// CString fields: up to 63 US-ASCII characters and a NUL in 64 bytes (PWG 5102.4 §4.3.1.2).
fn put_text(
    header: &mut [u8; HEADER_LEN],
    at: usize,
    text: &str,
    field: &'static str,
) -> Result<(), PwgError> {
    if text.len() > 63 || !text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(PwgError::Text(field));
    }
    header[at..at + text.len()].copy_from_slice(text.as_bytes());
    Ok(())
}

/// Run-encodes one line of `B`-byte pixels (PWG 5102.4 §4.3).
///
/// A run becomes a repeat group once it is long enough to pay for itself: a repeat group
/// costs a control byte and one pixel, and the literal group it interrupts needs a new
/// control byte after it. For gray (1 byte) a pair inside a literal costs as much as a
/// repeat group, so runs start at 3 pixels; for RGB at 2. A lone pixel is a repeat group of
/// one (a literal group holds at least two). The scans are slice searches rather than
/// per-pixel index arithmetic, so that the compiler can drop the bounds checks.
fn encode_line<const B: usize>(line: &[u8], out: &mut Vec<u8>) {
    let min_run = if B == 1 { 3 } else { 2 };
    let n = line.len() / B;
    let mut i = 0;
    while i < n {
        let limit = (i + MAX_GROUP).min(n);
        let first = &line[i * B..(i + 1) * B];
        let run = 1 + line[(i + 1) * B..limit * B]
            .chunks_exact(B)
            .position(|p| p != first)
            .unwrap_or(limit - i - 1);
        let count = if run >= min_run {
            run
        } else {
            // The literal group ends where the next run of `min_run` pixels starts, or at
            // the group limit.
            let scan_end = (limit + min_run - 1).min(n);
            1 + line[(i + 1) * B..scan_end * B]
                .windows(min_run * B)
                .step_by(B)
                .position(|w| w.chunks_exact(B).all(|p| p == &w[..B]))
                .unwrap_or(limit - i - 1)
        };
        if count <= run {
            out.push((run - 1) as u8);
            out.extend_from_slice(first);
            i += run;
        } else {
            out.push((257 - count) as u8);
            out.extend_from_slice(&line[i * B..(i + count) * B]);
            i += count;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn page(width: u32, height: u32, channels: u8, pixels: Vec<u8>) -> Page {
        Page {
            width_px: width,
            height_px: height,
            width_pt: f64::from(width) * 72.0 / 300.0,
            height_pt: f64::from(height) * 72.0 / 300.0,
            dpi: 300,
            channels,
            pixels,
        }
    }

    /// The compressed lines of a one-page document (after sync word and header).
    fn body(p: &Page) -> Vec<u8> {
        let doc = encode_pwg(std::slice::from_ref(p), &PwgPage::default()).unwrap();
        doc[4 + HEADER_LEN..].to_vec()
    }

    fn be(doc: &[u8], at: usize) -> u32 {
        // Offsets in the spec count from the header start, after the 4-byte sync word.
        u32::from_be_bytes(doc[4 + at..4 + at + 4].try_into().unwrap())
    }

    fn text(doc: &[u8], at: usize) -> &str {
        let field = &doc[4 + at..4 + at + 64];
        let end = field.iter().position(|&b| b == 0).unwrap();
        assert!(field[end..].iter().all(|&b| b == 0), "padding is NULs");
        std::str::from_utf8(&field[..end]).unwrap()
    }

    /// Decoded pages (header values and pixels) through the independent `pwgraster` crate.
    struct Decoded {
        width: u32,
        height: u32,
        bits_per_pixel: u32,
        page_size_name: String,
        pixels: Vec<u8>,
    }

    fn decode(doc: &[u8]) -> Vec<Decoded> {
        let mut reader = pwgraster::PWGReader::new(std::io::Cursor::new(doc), true).unwrap();
        let mut pages = Vec::new();
        while let Some(p) = reader
            .next_page(|page| {
                let h = page.header();
                h.validate_withreserved()
                    .expect("every reserved field is zero");
                let mut decoded = Decoded {
                    width: h.Width()?,
                    height: h.Height()?,
                    bits_per_pixel: h.BitsPerPixel()?,
                    page_size_name: h.PageSizeName()?.0.to_string(),
                    pixels: Vec::new(),
                };
                let mut pixels = Vec::new();
                page.unpack(&mut pixels)?;
                decoded.pixels = pixels;
                Ok(decoded)
            })
            .unwrap()
        {
            pages.push(p);
        }
        pages
    }

    #[test]
    fn header_fields_sit_at_their_pwg_offsets() {
        let p = Page {
            width_pt: 612.0,
            height_pt: 792.0,
            ..page(7, 3, 1, vec![200; 21])
        };
        let settings = PwgPage {
            page_size_name: "na_letter_8.5x11in".into(),
            media_type: "stationery".into(),
            print_content_optimize: "photo".into(),
            print_quality: PrintQuality::High,
            total_page_count: 0,
            image_box: Some(ImageBox {
                left: 1,
                top: 0,
                right: 5,
                bottom: 2,
            }),
        };
        let doc = encode_pwg(&[p.clone(), p], &settings).unwrap();
        assert_eq!(&doc[..4], b"RaS2");
        assert_eq!(text(&doc, 0), "PwgRaster");
        assert_eq!(text(&doc, 64), "", "MediaColor");
        assert_eq!(text(&doc, 128), "stationery");
        assert_eq!(text(&doc, 192), "photo");
        assert_eq!(text(&doc, 1668), "", "RenderingIntent");
        assert_eq!(text(&doc, 1732), "na_letter_8.5x11in");
        let expect = [
            (276, 300, "HWResolution cross-feed"),
            (280, 300, "HWResolution feed"),
            (340, 1, "NumCopies"),
            (344, 0, "Orientation portrait"),
            (352, 612, "PageSize width pt"),
            (356, 792, "PageSize height pt"),
            (372, 7, "Width"),
            (376, 3, "Height"),
            (384, 8, "BitsPerColor"),
            (388, 8, "BitsPerPixel"),
            (392, 7, "BytesPerLine"),
            (396, 0, "ColorOrder chunky"),
            (400, 18, "ColorSpace sGray"),
            (420, 1, "NumColors"),
            (452, 2, "TotalPageCount = pages of encode_pwg"),
            (456, 1, "CrossFeedTransform"),
            (460, 1, "FeedTransform"),
            (464, 1, "ImageBoxLeft"),
            (468, 0, "ImageBoxTop"),
            (472, 5, "ImageBoxRight"),
            (476, 2, "ImageBoxBottom"),
            (484, 5, "PrintQuality high"),
        ];
        for (at, value, name) in expect {
            assert_eq!(be(&doc, at), value, "{name} at {at}");
        }
        // The body of page 1: all 3 lines equal, one run of 7.
        assert_eq!(&doc[4 + HEADER_LEN..4 + HEADER_LEN + 3], &[2, 6, 200]);
        // Page 2 follows with the same header.
        let second = 4 + HEADER_LEN + 3;
        assert_eq!(&doc[second..second + HEADER_LEN], &doc[4..4 + HEADER_LEN]);
        assert_eq!(doc.len(), second + HEADER_LEN + 3);
    }

    #[test]
    fn rgb_header_is_srgb_8_and_image_box_defaults_to_the_page() {
        let p = page(10, 4, 3, vec![9; 120]);
        let doc = encode_pwg(&[p], &PwgPage::default()).unwrap();
        assert_eq!(be(&doc, 388), 24, "BitsPerPixel");
        assert_eq!(be(&doc, 392), 30, "BytesPerLine");
        assert_eq!(be(&doc, 400), 19, "ColorSpace sRGB");
        assert_eq!(be(&doc, 420), 3, "NumColors");
        assert_eq!(be(&doc, 352), 2, "10 px at 300 dpi = 2.4 pt, rounded");
        assert_eq!(
            [be(&doc, 464), be(&doc, 468), be(&doc, 472), be(&doc, 476)],
            [0, 0, 9, 3]
        );
    }

    #[test]
    fn runs_of_one_value_split_at_128_pixels() {
        assert_eq!(body(&page(5, 1, 1, vec![42; 5])), [0, 4, 42]);
        assert_eq!(
            body(&page(300, 1, 1, vec![7; 300])),
            [0, 127, 7, 127, 7, 43, 7]
        );
        assert_eq!(body(&page(129, 1, 1, vec![7; 129])), [0, 127, 7, 0, 7]);
    }

    #[test]
    fn alternating_pixels_are_one_literal_group() {
        assert_eq!(
            body(&page(4, 1, 1, vec![0, 255, 0, 255])),
            [0, 253, 0, 255, 0, 255]
        );
        // In gray a pair stays inside the literal group, three equal pixels start a run;
        // a lone pixel is a run of one (a literal group holds two or more).
        assert_eq!(body(&page(4, 1, 1, vec![1, 2, 2, 3])), [0, 253, 1, 2, 2, 3]);
        assert_eq!(body(&page(3, 1, 1, vec![1, 2, 2])), [0, 254, 1, 2, 2]);
        assert_eq!(
            body(&page(6, 1, 1, vec![1, 2, 3, 3, 3, 4])),
            [0, 255, 1, 2, 2, 3, 0, 4]
        );
    }

    #[test]
    fn literal_groups_split_at_128_pixels() {
        let pixels: Vec<u8> = (0..130).map(|i| i as u8).collect();
        let got = body(&page(130, 1, 1, pixels.clone()));
        let mut want = vec![0, 129];
        want.extend_from_slice(&pixels[..128]);
        want.extend_from_slice(&[255, 128, 129]);
        assert_eq!(got, want);
    }

    #[test]
    fn repeated_lines_use_the_line_repeat_byte_up_to_256() {
        assert_eq!(body(&page(2, 300, 1, vec![5; 600])), [255, 1, 5, 43, 1, 5]);
        // Different lines are not merged.
        assert_eq!(
            body(&page(2, 3, 1, vec![5, 5, 6, 6, 6, 6])),
            [0, 1, 5, 1, 1, 6]
        );
    }

    #[test]
    fn rgb_runs_compare_whole_pixels() {
        let pixels = vec![1, 2, 3, 1, 2, 3, 1, 2, 3, 4, 5, 6, 1, 2, 4];
        assert_eq!(
            body(&page(5, 1, 3, pixels)),
            [0, 2, 1, 2, 3, 255, 4, 5, 6, 1, 2, 4]
        );
        // In RGB a pair already ends a literal group.
        let pixels = vec![1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3];
        assert_eq!(
            body(&page(4, 1, 3, pixels)),
            [0, 0, 1, 1, 1, 1, 2, 2, 2, 0, 3, 3, 3]
        );
    }

    #[test]
    fn decodes_with_pwgraster_to_the_same_pixels() {
        // Width not a multiple of 128, noise, flat areas, repeated lines, gray and RGB.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut noise = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        };
        let (w, h) = (1000u32, 40u32);
        let gray: Vec<u8> = (0..w * h)
            .map(|i| match (i / w) % 4 {
                0 => noise(),
                1 => (i % w / 7) as u8,
                _ => 255,
            })
            .collect();
        let rgb: Vec<u8> = (0..w * h * 3)
            .map(|i| if i % 5 == 0 { noise() } else { 30 })
            .collect();
        let pages = [
            page(w, h, 1, gray),
            page(w, h, 3, rgb),
            page(1, 1, 1, vec![0]),
        ];
        let settings = PwgPage {
            page_size_name: "iso_a4_210x297mm".into(),
            ..PwgPage::default()
        };
        let doc = encode_pwg(&pages, &settings).unwrap();
        let decoded = decode(&doc);
        assert_eq!(decoded.len(), 3);
        for (p, d) in pages.iter().zip(&decoded) {
            assert_eq!((d.width, d.height), (p.width_px, p.height_px));
            assert_eq!(d.bits_per_pixel, 8 * u32::from(p.channels));
            assert_eq!(d.page_size_name, "iso_a4_210x297mm");
            assert!(d.pixels == p.pixels, "pixels differ");
        }
    }

    #[test]
    fn the_streaming_writer_equals_encode_pwg() {
        let pages = [
            page(3, 2, 1, vec![1, 2, 3, 4, 5, 6]),
            page(1, 2, 3, vec![7; 6]),
        ];
        let settings = PwgPage {
            total_page_count: 2,
            ..PwgPage::default()
        };
        let mut writer = PwgWriter::new(Vec::new()).unwrap();
        for p in &pages {
            writer.add_page(p, &settings).unwrap();
        }
        assert_eq!(writer.pages(), 2);
        assert_eq!(
            writer.finish(),
            encode_pwg(&pages, &PwgPage::default()).unwrap()
        );
    }

    #[test]
    fn bad_pages_are_errors() {
        let enc = |p: Page, s: &PwgPage| encode_pwg(&[p], s).map(|_| ());
        let ok = PwgPage::default();
        assert!(matches!(
            enc(page(2, 2, 2, vec![0; 8]), &ok),
            Err(PwgError::Channels(2))
        ));
        assert!(matches!(
            enc(page(2, 2, 1, vec![0; 5]), &ok),
            Err(PwgError::PixelBuffer {
                expected: 4,
                actual: 5
            })
        ));
        assert!(matches!(
            enc(page(0, 2, 1, vec![]), &ok),
            Err(PwgError::Size { .. })
        ));
        assert!(matches!(
            enc(
                Page {
                    dpi: 0,
                    ..page(1, 1, 1, vec![0])
                },
                &ok
            ),
            Err(PwgError::Size { .. })
        ));
        let long = PwgPage {
            page_size_name: "x".repeat(64),
            ..PwgPage::default()
        };
        assert!(matches!(
            enc(page(1, 1, 1, vec![0]), &long),
            Err(PwgError::Text("PageSizeName"))
        ));
        let outside = PwgPage {
            image_box: Some(ImageBox {
                left: 0,
                top: 0,
                right: 1,
                bottom: 0,
            }),
            ..PwgPage::default()
        };
        assert!(matches!(
            enc(page(1, 1, 1, vec![0]), &outside),
            Err(PwgError::ImageBox(_))
        ));
    }

    proptest! {
        #[test]
        fn any_page_round_trips(
            width in 1u32..300,
            height in 1u32..12,
            rgb in any::<bool>(),
            alphabet in 1u8..6,
            seed in any::<u64>(),
        ) {
            let channels = if rgb { 3 } else { 1 };
            let mut state = seed | 1;
            let pixels: Vec<u8> = (0..width * height * u32::from(channels))
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % u64::from(alphabet)) as u8 * 50
                })
                .collect();
            let p = page(width, height, channels, pixels);
            let doc = encode_pwg(std::slice::from_ref(&p), &PwgPage::default()).unwrap();
            let decoded = decode(&doc);
            prop_assert_eq!(decoded.len(), 1);
            prop_assert!(decoded[0].pixels == p.pixels);
        }
    }

    /// `cargo test --release --lib backend::pwg::tests::speed -- --ignored --nocapture`
    #[test]
    #[ignore = "timing, run by hand"]
    fn speed_of_a_14x17_film_at_300_dpi() {
        let (w, h) = (4200u32, 5100u32);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        // A film: white border, a smooth anatomy-like gradient with noise, black background.
        let pixels: Vec<u8> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                if !(100..w - 100).contains(&x) || !(100..h - 100).contains(&y) {
                    255
                } else if x < 600 {
                    0
                } else {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    ((x + y) / 40) as u8 ^ (state as u8 & 3)
                }
            })
            .collect();
        for channels in [1u8, 3] {
            let p = if channels == 1 {
                page(w, h, 1, pixels.clone())
            } else {
                page(w, h, 3, pixels.iter().flat_map(|&v| [v, v, v]).collect())
            };
            // CPU time of this thread (Linux schedstat), not wall time: the build machine is
            // shared, and only the CPU time says what the encoder costs.
            let cpu_ns = || {
                std::fs::read_to_string("/proc/thread-self/schedstat")
                    .ok()
                    .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            let (start, cpu) = (std::time::Instant::now(), cpu_ns());
            let doc = encode_pwg(std::slice::from_ref(&p), &PwgPage::default()).unwrap();
            let (took, cpu) = (start.elapsed(), cpu_ns() - cpu);
            eprintln!(
                "{w}x{h} channels {channels}: {} MB -> {} MB, {:.1} ms CPU ({:.1} ms wall)",
                p.pixels.len() / 1_000_000,
                doc.len() / 1_000_000,
                cpu as f64 / 1e6,
                took.as_secs_f64() * 1000.0
            );
        }
    }
}
