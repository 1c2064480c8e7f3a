//! Unit tests of [`super::to_print_ready`]: values at known places of small frames.

use super::*;
use crate::modality::{ModalityLut, Palette};

fn mono(rows: u32, columns: u32, bits_allocated: u16, bits_stored: u16) -> ImageAttributes {
    ImageAttributes {
        rows,
        columns,
        samples_per_pixel: 1,
        photometric: StoredPhotometric::Monochrome2,
        bits_allocated,
        bits_stored,
        high_bit: bits_stored - 1,
        signed: false,
        planar_configuration: 0,
        frames: 1,
        modality_lut: ModalityLut::IDENTITY,
        windows: Vec::new(),
        voi_function: VoiFunction::Linear,
        voi_luts: Vec::new(),
        palette: None,
        pixel_aspect_ratio: None,
        pixel_spacing: None,
    }
}

fn frame(values: Vec<i32>, photometric: StoredPhotometric) -> StoredFrame {
    StoredFrame {
        values,
        photometric,
        planar_configuration: 0,
    }
}

fn u16s(image: &Image) -> Vec<u16> {
    assert_eq!(image.bits_stored, 12);
    image
        .pixels
        .as_slice()
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect()
}

#[test]
fn print_ready_8_bit_passes_through_byte_identical() {
    let attrs = mono(2, 3, 8, 8);
    let values = vec![0, 1, 127, 128, 254, 255];
    let image = to_print_ready(
        &attrs,
        &frame(values, StoredPhotometric::Monochrome2),
        &ImageOptions::default(),
    )
    .unwrap();
    assert_eq!(image.bits_stored, 8);
    assert_eq!(image.photometric, Photometric::Monochrome2);
    assert_eq!(image.pixels.as_slice(), &[0, 1, 127, 128, 254, 255]);
    assert_eq!((image.rows, image.columns), (2, 3));
    assert_eq!(image.pixel_aspect_ratio, (1, 1));
}
