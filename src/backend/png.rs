//! PNG output of a composed page: lossless, gray or RGB at 8 bits, with the resolution in
//! the pHYs chunk so that viewers show the film at its physical size.

use crate::film::Page;

#[derive(Debug, thiserror::Error)]
pub enum PngError {
    #[error("PNG encoding: {0}")]
    Encode(#[from] png::EncodingError),
    #[error("page with {0} channels cannot be written as PNG")]
    Channels(u8),
}

/// Encodes `page` as a PNG file's bytes.
pub fn encode_png(page: &Page) -> Result<Vec<u8>, PngError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, page.width_px, page.height_px);
        encoder.set_color(match page.channels {
            1 => png::ColorType::Grayscale,
            3 => png::ColorType::Rgb,
            c => return Err(PngError::Channels(c)),
        });
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let ppm = (f64::from(page.dpi) / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: ppm,
            yppu: ppm,
            unit: png::Unit::Meter,
        }));
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&page.pixels)?;
        writer.finish()?;
    }
    Ok(out)
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
            let mut buf = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut buf).unwrap();
            assert_eq!((info.width, info.height), (6, 4));
            assert_eq!(&buf[..info.buffer_size()], &pixels[..]);
        }
    }
}
