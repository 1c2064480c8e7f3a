//! PNG output of a composed page: lossless, gray or RGB at 8 bits, with the resolution in
//! the pHYs chunk so that viewers show the film at its physical size.
//!
//! The file is written here chunk by chunk (PNG spec §5: signature, IHDR, pHYs, IDAT,
//! IEND, each with its CRC-32): the IDAT data is the zlib stream of PNG-filtered rows that
//! [`super::deflate`] makes for PDF pages too, so a page compressed while it was composed
//! becomes a PNG without being compressed again.

use super::deflate::zlib_predicted;
use crate::film::{Page, PageShape};

#[derive(Debug, thiserror::Error)]
pub enum PngError {
    #[error("page with {0} channels cannot be written as PNG")]
    Channels(u8),
    #[error("page of {width}x{height} pixels cannot be written as PNG")]
    Size { width: u32, height: u32 },
}

/// PNG file signature (PNG spec §5.2).
const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
/// IDAT chunks of at most this many bytes: any size up to 2^31 − 1 is valid (§5.3),
/// moderate ones suit streaming decoders.
const IDAT_BYTES: usize = 1 << 20;

/// Encodes `page` as a PNG file's bytes.
pub fn encode_png(page: &Page) -> Result<Vec<u8>, PngError> {
    let row_bytes = page.width_px as usize * usize::from(page.channels);
    let image = zlib_predicted(&page.pixels, row_bytes, usize::from(page.channels));
    png_from_zlib(&page.shape(), &image)
}

/// A PNG file of `page`'s size, colour and resolution whose image data is `image`: the zlib
/// stream of the page's PNG-filtered rows ([`super::deflate`]), for a page that may never
/// have been held whole.
pub fn png_from_zlib(page: &PageShape, image: &[u8]) -> Result<Vec<u8>, PngError> {
    // Colour type 0 (gray) or 2 (RGB), PNG spec §11.2.2.
    let color_type = match page.channels {
        1 => 0u8,
        3 => 2,
        c => return Err(PngError::Channels(c)),
    };
    let (width, height) = (page.width_px, page.height_px);
    // Dimensions are 1 to 2^31 − 1 (§11.2.2).
    if width == 0 || height == 0 || width > i32::MAX as u32 || height > i32::MAX as u32 {
        return Err(PngError::Size { width, height });
    }
    let mut out = Vec::with_capacity(image.len() + image.len() / IDAT_BYTES * 12 + 128);
    out.extend_from_slice(&SIGNATURE);
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type, deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, color_type, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // Pixels per metre, unit 1 = metre (§11.3.5.3).
    let ppm = (f64::from(page.dpi) / 0.0254).round() as u32;
    let mut phys = Vec::with_capacity(9);
    phys.extend_from_slice(&ppm.to_be_bytes());
    phys.extend_from_slice(&ppm.to_be_bytes());
    phys.push(1);
    chunk(&mut out, b"pHYs", &phys);
    for part in image.chunks(IDAT_BYTES) {
        chunk(&mut out, b"IDAT", part);
    }
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

/// One chunk: length, type, data, CRC-32 of type and data (§5.3).
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gray_and_rgb_round_trip() {
        for channels in [1u8, 3] {
            let pixels: Vec<u8> = (0..6 * 4 * channels as usize)
                .map(|i| (i * 7) as u8)
                .collect();
            let page = Page {
                width_px: 6,
                height_px: 4,
                width_pt: 1.0,
                height_pt: 1.0,
                dpi: 300,
                channels,
                pixels: pixels.clone(),
            };
            let bytes = encode_png(&page).unwrap();
            let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
            let mut reader = decoder.read_info().unwrap();
            let dims = reader.info().pixel_dims.expect("pHYs");
            assert_eq!(
                (dims.xppu, dims.yppu, dims.unit),
                (11_811, 11_811, png::Unit::Meter)
            );
            let mut buf = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut buf).unwrap();
            assert_eq!((info.width, info.height), (6, 4));
            assert_eq!(&buf[..info.buffer_size()], &pixels[..]);
        }
    }

    /// A page larger than one IDAT chunk, decoded by the png crate (which checks every
    /// chunk's CRC and the zlib Adler-32).
    #[test]
    fn a_large_page_spans_several_idat_chunks() {
        let (width, height) = (3000u32, 1000u32);
        let mut state = 7u32;
        let pixels: Vec<u8> = (0..width * height * 3)
            .map(|i| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                ((i / 3 % width) as u8).wrapping_add((state >> 28) as u8)
            })
            .collect();
        let page = Page {
            width_px: width,
            height_px: height,
            width_pt: 1.0,
            height_pt: 1.0,
            dpi: 300,
            channels: 3,
            pixels: pixels.clone(),
        };
        let bytes = encode_png(&page).unwrap();
        let idat = bytes.windows(4).filter(|w| w == b"IDAT").count();
        assert!(idat >= 2, "{idat} IDAT chunks");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        assert_eq!(buf, pixels);
        let mut two = page.clone();
        two.channels = 2;
        assert!(matches!(encode_png(&two), Err(PngError::Channels(2))));
    }
}
