//! Films and devices shared by the benchmarks: realistic pages built from synthetic,
//! image-like tiles made by a fixed-seed generator, so runs and machines compare.
//!
//! Each bench binary uses part of this module, hence `dead_code` is allowed.
#![allow(dead_code)]

use filmd::backend::pdf::DocumentInfo;
use filmd::film::{
    AreaDensity, Device, DisplayFormat, Film, FilmSize, Image, ImageBox, Magnification, Medium,
    Orientation, Photometric, Pixels, PresentationLut,
};
use std::time::SystemTime;

/// The W2 film: 14INX17IN portrait, `STANDARD\4,5`, twenty 512² 12-bit images.
pub const W2_COLUMNS: u32 = 4;
pub const W2_ROWS: u32 = 5;
pub const W2_IMAGE_SIZE: u32 = 512;
pub const W2_BITS: u8 = 12;

/// A PDF/paper device at `dpi` with a 5 mm margin and 2 mm gaps between image boxes.
pub fn device(dpi: u32) -> Device {
    Device {
        dpi,
        min_density: 10,
        max_density: 250,
        margin_mm: 5.0,
        gap_mm: 2.0,
        ..Device::default()
    }
}

/// An image-like tile: a bright disc with soft edges, slow ripples, and noise.
/// 12-bit samples are little-endian u16, as [`Image`] stores them.
pub fn tile(size: u32, bits: u8, seed: u64) -> Image {
    let max = f64::from((1u32 << bits) - 1);
    let mut state = seed | 1;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1000) as f64 / 1000.0 - 0.5
    };
    let n = f64::from(size);
    let mut bytes = Vec::with_capacity((size * size) as usize * if bits > 8 { 2 } else { 1 });
    for y in 0..size {
        for x in 0..size {
            let (dx, dy) = (f64::from(x) / n - 0.5, f64::from(y) / n - 0.5);
            let r = (dx * dx + dy * dy).sqrt();
            let body = (1.0 - ((r - 0.35) * 12.0).tanh()) * 0.35;
            let ripple = 0.1 * (f64::from(x) / 23.0).sin() * (f64::from(y) / 31.0).cos();
            let v = ((body + ripple + 0.1 + noise() * 0.03).clamp(0.0, 1.0) * max).round() as u16;
            if bits > 8 {
                bytes.extend_from_slice(&v.to_le_bytes());
            } else {
                bytes.push(v as u8);
            }
        }
    }
    Image {
        rows: size,
        columns: size,
        photometric: Photometric::Monochrome2,
        bits_stored: bits,
        pixel_aspect_ratio: (1, 1),
        pixels: Pixels::new(bytes),
    }
}

/// `count` tiles seeded 1..=count: the same picture under different noise, so no two
/// image boxes share pixels.
pub fn tiles(count: u32, size: u32, bits: u8) -> Vec<Image> {
    (1..=u64::from(count))
        .map(|seed| tile(size, bits, seed))
        .collect()
}

/// A 14INX17IN portrait `STANDARD\columns,rows` film; image box `i` holds
/// `images[i % images.len()]`.
pub fn film(columns: u32, rows: u32, images: &[Image], magnification: Magnification) -> Film {
    let image_boxes = (1..=columns * rows)
        .map(|position| ImageBox {
            image: Some(images[(position as usize - 1) % images.len()].clone()),
            ..ImageBox::empty(position)
        })
        .collect();
    Film {
        display_format: DisplayFormat::Standard { columns, rows },
        size: FilmSize::from_id("14INX17IN").expect("14INX17IN is a standard film size"),
        orientation: Orientation::Portrait,
        magnification,
        border_density: AreaDensity::Black,
        empty_image_density: AreaDensity::Black,
        min_density: 10,
        max_density: 250,
        trim: false,
        medium: Medium::ClearFilm,
        illumination: 2000,
        reflected_ambient_light: 10,
        presentation_lut: PresentationLut::Identity,
        color: false,
        image_boxes,
        annotations: vec![],
    }
}

/// The W2 film: twenty different 512² 12-bit images, CUBIC.
pub fn w2_film() -> Film {
    let images = tiles(W2_COLUMNS * W2_ROWS, W2_IMAGE_SIZE, W2_BITS);
    film(W2_COLUMNS, W2_ROWS, &images, Magnification::Cubic)
}

/// Document metadata for benchmark PDFs.
pub fn document_info(subject: &str) -> DocumentInfo {
    DocumentInfo {
        title: "bench".into(),
        author: "filmd".into(),
        subject: subject.into(),
        creator: "filmd benches".into(),
        created: SystemTime::now(),
        ..DocumentInfo::default()
    }
}

/// `gray` (a 12-bit or 8-bit tile) as an 8-bit RGB image with a warm tint, for colour pages.
pub fn rgb_tile(gray: &Image) -> Image {
    let shift = gray.bits_stored.saturating_sub(8);
    let samples: Vec<u8> = if gray.bits_stored > 8 {
        gray.pixels
            .as_slice()
            .chunks_exact(2)
            .map(|b| (u16::from_le_bytes([b[0], b[1]]) >> shift) as u8)
            .collect()
    } else {
        gray.pixels.as_slice().to_vec()
    };
    let pixels = samples
        .iter()
        .flat_map(|&v| {
            [
                v,
                (u16::from(v) * 7 / 8) as u8,
                (u16::from(v) * 5 / 8) as u8,
            ]
        })
        .collect();
    Image {
        photometric: Photometric::Rgb,
        bits_stored: 8,
        pixels: Pixels::new(pixels),
        ..gray.clone()
    }
}

/// The W2 film in colour: the same layout with the twenty tiles as RGB images on an RGB
/// page (a colour film session).
pub fn w2_color_film(images: &[Image]) -> Film {
    let rgb: Vec<Image> = images.iter().map(rgb_tile).collect();
    Film {
        color: true,
        ..film(W2_COLUMNS, W2_ROWS, &rgb, Magnification::Cubic)
    }
}
