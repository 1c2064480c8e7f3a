//! Golden films: whole composed pages compared pixel for pixel with reviewed references in
//! tests/data/golden/*.png.
//!
//! Each film is also checked at places whose value follows from the standard alone
//! (exact REPLICATE blocks, borders, empty boxes, the ends of the density range), so a
//! reference can only be blessed when those hold. A composition change that moves any
//! pixel fails here with the first differing pixel and the count of differing pixels;
//! after reviewing the new page (written next to the reference as `*.new.png`), bless it
//! with `FILMD_BLESS=1 cargo test --release --test it golden::`.

use crate::common::harness::{Test, trials};
use filmd::film::compose::compose;
use filmd::film::{
    AreaDensity, Device, DisplayFormat, Film, FilmSize, Image, ImageBox, Magnification, Medium,
    Orientation, Page, Photometric, Pixels, Polarity, PresentationLut,
};
use std::path::PathBuf;

pub fn tests() -> Vec<Test> {
    trials![
        standard_2x2_replicate_checker_ramp_empty_and_monochrome1,
        row_landscape_cubic_with_trim_and_black_border,
        color_columns_with_reverse_polarity,
        lin_od_between_requested_densities,
        slide_film_fills_its_frames,
    ]
}

/// 50 dpi keeps each reference small (8×10 in → 400 × 500 pixels).
const DPI: u32 = 50;

fn device() -> Device {
    Device {
        dpi: DPI,
        min_density: 0,
        max_density: 300,
        margin_mm: 0.0,
        gap_mm: 2.0,
        ..Device::default()
    }
}

fn film(format: &str, size: &str, orientation: Orientation) -> Film {
    Film {
        display_format: DisplayFormat::parse(format, &Default::default()).expect("format"),
        size: FilmSize::from_id(size).expect("size"),
        orientation,
        magnification: Magnification::Replicate,
        border_density: AreaDensity::White,
        empty_image_density: AreaDensity::Black,
        // The device's whole range: value 0 prints 0, the top value 255.
        min_density: 0,
        max_density: 300,
        trim: false,
        medium: Medium::Paper,
        illumination: 150,
        reflected_ambient_light: 0,
        presentation_lut: PresentationLut::Identity,
        color: false,
        image_boxes: vec![],
        annotations: vec![],
    }
}

fn gray8(columns: u32, rows: u32, f: impl Fn(u32, u32) -> u8) -> Image {
    let pixels = (0..rows)
        .flat_map(|y| (0..columns).map(move |x| (x, y)))
        .map(|(x, y)| f(x, y))
        .collect();
    Image {
        rows,
        columns,
        photometric: Photometric::Monochrome2,
        bits_stored: 8,
        pixel_aspect_ratio: (1, 1),
        pixels: Pixels::new(pixels),
    }
}

fn gray12(columns: u32, rows: u32, photometric: Photometric, f: impl Fn(u32, u32) -> u16) -> Image {
    let pixels = (0..rows)
        .flat_map(|y| (0..columns).map(move |x| (x, y)))
        .flat_map(|(x, y)| f(x, y).to_le_bytes())
        .collect();
    Image {
        rows,
        columns,
        photometric,
        bits_stored: 12,
        pixel_aspect_ratio: (1, 1),
        pixels: Pixels::new(pixels),
    }
}

fn rgb(columns: u32, rows: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Image {
    let pixels = (0..rows)
        .flat_map(|y| (0..columns).map(move |x| (x, y)))
        .flat_map(|(x, y)| f(x, y))
        .collect();
    Image {
        rows,
        columns,
        photometric: Photometric::Rgb,
        bits_stored: 8,
        pixel_aspect_ratio: (1, 1),
        pixels: Pixels::new(pixels),
    }
}

fn boxed(position: u32, image: Image) -> ImageBox {
    ImageBox {
        image: Some(image),
        ..ImageBox::empty(position)
    }
}

fn at(page: &Page, x: u32, y: u32) -> &[u8] {
    let c = page.channels as usize;
    let i = (y as usize * page.width_px as usize + x as usize) * c;
    &page.pixels[i..i + c]
}

/// The image boxes of `film` on the golden device, in device pixels.
fn bounds(film: &Film) -> Vec<(usize, usize, usize, usize)> {
    filmd::film::compose::image_box_bounds(film, &device())
}

fn reference(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/golden")
        .join(format!("{name}.png"))
}

fn decode_png(bytes: &[u8]) -> (u32, u32, u8, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    buf.truncate(info.buffer_size());
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::Rgb => 3,
        other => panic!("reference colour type {other:?}"),
    };
    (info.width, info.height, channels, buf)
}

/// Compares `page` with its reference, or writes the reference under FILMD_BLESS=1.
fn assert_golden(name: &str, page: &Page) {
    let path = reference(name);
    let encoded = filmd::backend::png::encode_png(page).expect("png");
    if std::env::var_os("FILMD_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &encoded).unwrap();
        eprintln!("blessed {}", path.display());
        return;
    }
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; compose it with FILMD_BLESS=1 after review",
            path.display()
        )
    });
    let (w, h, c, pixels) = decode_png(&bytes);
    let mismatch = || {
        let new = path.with_extension("new.png");
        std::fs::write(&new, &encoded).unwrap();
        new.display().to_string()
    };
    assert_eq!(
        (w, h, c),
        (page.width_px, page.height_px, page.channels),
        "{name}: page size or channels differ (new page: {})",
        mismatch()
    );
    if pixels != page.pixels {
        let c = usize::from(c);
        let first = pixels
            .iter()
            .zip(&page.pixels)
            .position(|(a, b)| a != b)
            .unwrap();
        let differing = pixels
            .chunks_exact(c)
            .zip(page.pixels.chunks_exact(c))
            .filter(|(a, b)| a != b)
            .count();
        let p = first / c;
        panic!(
            "{name}: {differing} pixels differ, first at ({}, {}): reference {:?}, now {:?} (new page: {})",
            p % w as usize,
            p / w as usize,
            &pixels[p * c..p * c + c],
            &page.pixels[p * c..p * c + c],
            mismatch()
        );
    }
}

fn standard_2x2_replicate_checker_ramp_empty_and_monochrome1() {
    let mut f = film("STANDARD\\2,2", "8INX10IN", Orientation::Portrait);
    f.image_boxes = vec![
        boxed(
            1,
            gray8(8, 8, |x, y| if (x + y) % 2 == 0 { 0 } else { 255 }),
        ),
        boxed(2, gray8(16, 16, |x, _| (x * 17) as u8)),
        ImageBox::empty(3),
        boxed(
            4,
            gray12(16, 16, Photometric::Monochrome1, |_, y| (y * 273) as u16),
        ),
    ];
    let page = compose(&f, &device());
    assert_eq!(
        (page.width_px, page.height_px, page.channels),
        (400, 500, 1)
    );

    // Independent checks. Box 1: an 8×8 checker replicated by the largest integer factor
    // that fits, centred: exact square blocks of 0 and 255.
    let b = bounds(&f);
    let (x0, y0, x1, y1) = b[0];
    let factor = ((x1 - x0) / 8).min((y1 - y0) / 8) as u32;
    assert!(factor >= 2);
    let left = (x0 + (x1 - x0 - 8 * factor as usize) / 2) as u32;
    let top = (y0 + (y1 - y0 - 8 * factor as usize) / 2) as u32;
    for by in 0..8 {
        for bx in 0..8 {
            let want = if (bx + by) % 2 == 0 { 0 } else { 255 };
            for dy in 0..factor {
                for dx in 0..factor {
                    let got = at(&page, left + bx * factor + dx, top + by * factor + dy)[0];
                    assert_eq!(got, want, "checker block ({bx}, {by})");
                }
            }
        }
    }
    // The border is WHITE, box 3 is an empty box at BLACK.
    assert_eq!(at(&page, 0, 0), &[255]);
    let (x0, y0, x1, y1) = b[2];
    assert_eq!(
        at(&page, ((x0 + x1) / 2) as u32, ((y0 + y1) / 2) as u32),
        &[0]
    );
    // Box 4: MONOCHROME1, so its first row (value 0) prints white and the last dark.
    let (x0, y0, x1, y1) = b[3];
    let cx = ((x0 + x1) / 2) as u32;
    let column: Vec<u8> = (y0 as u32..y1 as u32)
        .map(|y| at(&page, cx, y)[0])
        .collect();
    let image_rows: Vec<u8> = column.into_iter().filter(|&v| v != 255).collect();
    assert!(!image_rows.is_empty());
    assert!(
        image_rows.windows(2).all(|w| w[1] <= w[0]),
        "darker downwards"
    );
    assert_golden("standard_2x2_replicate", &page);
}

fn row_landscape_cubic_with_trim_and_black_border() {
    let mut f = film("ROW\\1,2", "10INX12IN", Orientation::Landscape);
    f.magnification = Magnification::Cubic;
    f.trim = true;
    f.border_density = AreaDensity::Black;
    f.empty_image_density = AreaDensity::White;
    let disc = |x: u32, y: u32| {
        let (dx, dy) = (x as f64 - 31.5, y as f64 - 31.5);
        if dx * dx + dy * dy < 400.0 {
            4095
        } else {
            1024
        }
    };
    f.image_boxes = vec![
        boxed(1, gray12(64, 64, Photometric::Monochrome2, disc)),
        boxed(2, gray8(32, 48, |x, y| ((x * 8) ^ (y * 5)) as u8)),
        ImageBox::empty(3),
    ];
    let page = compose(&f, &device());
    assert_eq!(
        (page.width_px, page.height_px),
        (600, 500),
        "landscape 12×10 in"
    );
    assert_eq!(at(&page, 0, 0), &[0], "BLACK border");
    let b = bounds(&f);
    assert_eq!(b.len(), 3);
    let (x0, y0, x1, y1) = b[2];
    assert_eq!(
        at(&page, ((x0 + x1) / 2) as u32, ((y0 + y1) / 2) as u32),
        &[255],
        "WHITE empty box"
    );
    // Box 1's disc centre is the top value: Min Density 0, paper white.
    let (x0, y0, x1, y1) = b[0];
    assert_eq!(
        at(&page, ((x0 + x1) / 2) as u32, ((y0 + y1) / 2) as u32),
        &[255]
    );
    assert_golden("row_landscape_cubic_trim", &page);
}

fn color_columns_with_reverse_polarity() {
    let mut f = film("COL\\1,2", "8INX10IN", Orientation::Portrait);
    f.color = true;
    f.magnification = Magnification::Bilinear;
    let bars = |x: u32, _| match x / 8 {
        0 => [255, 0, 0],
        1 => [0, 255, 0],
        2 => [0, 0, 255],
        _ => [255, 255, 255],
    };
    f.image_boxes = vec![
        boxed(1, rgb(32, 32, bars)),
        ImageBox {
            polarity: Polarity::Reverse,
            ..boxed(2, rgb(32, 32, bars))
        },
        boxed(3, gray8(8, 8, |_, _| 255)),
    ];
    let page = compose(&f, &device());
    assert_eq!(page.channels, 3);
    let b = bounds(&f);
    // Box 3 is grayscale on a colour page: neutral paper white.
    let (x0, y0, x1, y1) = b[2];
    assert_eq!(
        at(&page, ((x0 + x1) / 2) as u32, ((y0 + y1) / 2) as u32),
        &[255, 255, 255]
    );
    assert_golden("color_columns_reverse", &page);
}

fn lin_od_between_requested_densities() {
    let mut f = film("STANDARD\\1,1", "8INX10IN", Orientation::Portrait);
    f.presentation_lut = PresentationLut::LinOd;
    f.min_density = 50;
    f.max_density = 200;
    f.magnification = Magnification::Bilinear;
    f.image_boxes = vec![boxed(
        1,
        gray12(64, 64, Photometric::Monochrome2, |x, _| (x * 65) as u16),
    )];
    let page = compose(&f, &device());
    let (x0, y0, x1, y1) = bounds(&f)[0];
    let cy = ((y0 + y1) / 2) as u32;
    let row: Vec<u8> = (x0 as u32..x1 as u32)
        .map(|x| at(&page, x, cy)[0])
        .collect();
    // LIN OD: value 0 prints Max Density 2.00 OD and the top value Min Density 0.50 OD,
    // neither the device's black (0) nor its white (255).
    let (lo, hi) = (*row.iter().min().unwrap(), *row.iter().max().unwrap());
    let dark = filmd::film::density::density_gray(2.0, &device());
    let light = filmd::film::density::density_gray(0.5, &device());
    assert_eq!((lo, hi), (dark, light));
    assert!(row.windows(2).all(|w| w[1] >= w[0]), "lighter to the right");
    assert_golden("lin_od_densities", &page);
}

fn slide_film_fills_its_frames() {
    let mut f = film("SLIDE", "8INX10IN", Orientation::Portrait);
    let count = f
        .display_format
        .box_count(&filmd::film::compose::image_area(&f, &device()));
    assert!(count > 0);
    f.image_boxes = (1..=count)
        .map(|p| boxed(p, gray8(24, 36, move |_, _| (p * 7 % 256) as u8)))
        .collect();
    let page = compose(&f, &device());
    for (i, (x0, y0, x1, y1)) in bounds(&f).into_iter().enumerate() {
        let v = at(&page, ((x0 + x1) / 2) as u32, ((y0 + y1) / 2) as u32)[0];
        let image = &f.image_boxes[i];
        let tone = filmd::film::density::ToneMap::new(
            &filmd::film::density::ToneParams::for_image_box(
                &f,
                image,
                image.image.as_ref().unwrap(),
            ),
            &device(),
        );
        assert_eq!(
            v,
            tone.map(((i as u32 + 1) * 7 % 256) as u16),
            "frame {}",
            i + 1
        );
    }
    assert_golden("slide", &page);
}
