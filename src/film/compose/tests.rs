//! Composition: what lands where on the page, and the same page from any number of threads.

use super::*;
use crate::film::density::density_gray;
use crate::film::density::{ToneMap, ToneParams};
use crate::film::layout::DisplayFormat;
use crate::film::model::{AreaDensity, DecimateCrop, Medium, Pixels, PresentationLut};
use crate::film::model::{Photometric, Polarity, Smoothing};
use crate::film::size::{FilmSize, Orientation};

fn device() -> Device {
    Device {
        dpi: 30,
        min_density: 10,
        max_density: 250,
        margin_mm: 0.0,
        gap_mm: 0.0,
        ..Device::default()
    }
}

fn film(format: DisplayFormat) -> Film {
    Film {
        display_format: format,
        size: FilmSize::from_id("8INX10IN").expect("film size"),
        orientation: Orientation::Portrait,
        magnification: Magnification::Bilinear,
        border_density: AreaDensity::White,
        empty_image_density: AreaDensity::Black,
        min_density: 10,
        max_density: 250,
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

fn gray_image(columns: u32, rows: u32, value: u8) -> Image {
    Image {
        rows,
        columns,
        photometric: Photometric::Monochrome2,
        bits_stored: 8,
        pixel_aspect_ratio: (1, 1),
        pixels: Pixels::new(vec![value; (rows * columns) as usize]),
    }
}

fn with_image(position: u32, image: Image) -> ImageBox {
    ImageBox {
        image: Some(image),
        ..ImageBox::empty(position)
    }
}

fn at(page: &Page, x: usize, y: usize) -> &[u8] {
    let c = usize::from(page.channels);
    let i = (y * page.width_px as usize + x) * c;
    &page.pixels[i..i + c]
}

fn tone(film: &Film, value: u16) -> u8 {
    let image_box = film.image_boxes.first().expect("an image box");
    let image = image_box.image.as_ref().expect("an image");
    ToneMap::new(
        &ToneParams::for_image_box(film, image_box, image),
        &device(),
    )
    .map(value)
}

#[test]
fn uniform_image_prints_its_tone_mapped_value_at_the_box_centre() {
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    f.image_boxes.push(with_image(1, gray_image(64, 64, 100)));
    let page = compose(&f, &device());
    assert_eq!(
        (page.width_px, page.height_px, page.channels),
        (240, 300, 1)
    );
    assert_eq!(page.pixels.len(), 240 * 300);
    let expected = tone(&f, 100);
    assert!(expected > 0 && expected < 255);
    assert_eq!(at(&page, 120, 150), &[expected]);
    // The square image leaves border density above and below.
    assert_eq!(at(&page, 120, 2), &[255]);
}

#[test]
fn border_density_fills_the_page_outside_the_boxes() {
    let mut dev = device();
    dev.margin_mm = 10.0;
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    f.empty_image_density = AreaDensity::Hundredths(100);
    let page = compose(&f, &dev);
    assert_eq!(at(&page, 0, 0), &[255]);
    assert_eq!(at(&page, 120, 150), &[density_gray(1.0, &dev)]);
    f.border_density = AreaDensity::Black;
    let page = compose(&f, &dev);
    assert_eq!(at(&page, 0, 0), &[0]);
    assert_eq!(at(&page, 239, 299), &[0]);
}

#[test]
fn empty_boxes_get_empty_image_density() {
    let mut f = film(DisplayFormat::Standard {
        columns: 2,
        rows: 1,
    });
    f.empty_image_density = AreaDensity::White;
    f.border_density = AreaDensity::Black;
    f.image_boxes.push(ImageBox::empty(1));
    let page = compose(&f, &device());
    assert_eq!(
        at(&page, 60, 150),
        &[255],
        "box 1 has an image box without image"
    );
    assert_eq!(at(&page, 180, 150), &[255], "box 2 has no image box at all");
}

#[test]
fn landscape_swaps_page_dimensions() {
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    f.orientation = Orientation::Landscape;
    let page = compose(&f, &device());
    assert_eq!((page.width_px, page.height_px), (300, 240));
    assert!((page.width_pt - 720.0).abs() < 1e-9 && (page.height_pt - 576.0).abs() < 1e-9);
}

#[test]
fn standard_2x2_positions_count_row_by_row() {
    let mut f = film(DisplayFormat::Standard {
        columns: 2,
        rows: 2,
    });
    for (position, value) in [(1, 40), (2, 100), (3, 160), (4, 220)] {
        f.image_boxes
            .push(with_image(position, gray_image(8, 8, value)));
    }
    let page = compose(&f, &device());
    let centres = [(60, 75), (180, 75), (60, 225), (180, 225)];
    let grays: Vec<u8> = centres.iter().map(|&(x, y)| at(&page, x, y)[0]).collect();
    assert!(grays.windows(2).all(|w| w[0] < w[1]), "{grays:?}");
    assert_eq!(grays[0], tone(&f, 40));
}

#[test]
fn wide_image_keeps_its_aspect_ratio_in_a_square_box() {
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    f.size = FilmSize::from_id("14INX14IN").expect("film size");
    f.border_density = AreaDensity::White;
    f.image_boxes.push(with_image(1, gray_image(100, 50, 0)));
    let page = compose(&f, &device()); // 420 × 420 px
    assert_eq!(at(&page, 210, 210), &[0]);
    assert_eq!(at(&page, 210, 100), &[255], "border above");
    assert_eq!(at(&page, 210, 320), &[255], "border below");
    assert_eq!(at(&page, 210, 106), &[0], "image from row 105");
    assert_eq!(at(&page, 1, 210), &[0], "full width");
    // The same image with pixels twice as tall as wide is square.
    f.image_boxes[0]
        .image
        .as_mut()
        .expect("image")
        .pixel_aspect_ratio = (2, 1);
    let page = compose(&f, &device());
    assert_eq!(at(&page, 210, 2), &[0]);
}

#[test]
fn magnification_none_prints_one_pixel_per_device_pixel() {
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    f.magnification = Magnification::None;
    f.image_boxes.push(with_image(1, gray_image(10, 20, 0)));
    let page = compose(&f, &device());
    let black: usize = page.pixels.iter().filter(|&&v| v == 0).count();
    assert_eq!(black, 200);
    assert_eq!(at(&page, 115, 140), &[0]);
    assert_eq!(at(&page, 114, 140), &[255]);
}

#[test]
fn colour_page_keeps_rgb_and_reverse_inverts_it() {
    let mut f = film(DisplayFormat::Standard {
        columns: 2,
        rows: 1,
    });
    f.color = true;
    let rgb = Image {
        rows: 4,
        columns: 4,
        photometric: Photometric::Rgb,
        bits_stored: 8,
        pixel_aspect_ratio: (1, 1),
        pixels: Pixels::new([200u8, 30, 90].repeat(16)),
    };
    f.image_boxes.push(with_image(1, rgb.clone()));
    f.image_boxes.push(ImageBox {
        polarity: Polarity::Reverse,
        ..with_image(2, rgb)
    });
    let page = compose(&f, &device());
    assert_eq!(page.channels, 3);
    assert_eq!(page.pixels.len(), 240 * 300 * 3);
    assert_eq!(at(&page, 60, 150), &[200, 30, 90]);
    assert_eq!(at(&page, 180, 150), &[55, 225, 165]);
    assert_eq!(at(&page, 0, 0), &[255, 255, 255]);
}

#[test]
fn grayscale_on_colour_is_neutral_and_rgb_on_grayscale_is_luma() {
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    f.color = true;
    f.image_boxes.push(with_image(1, gray_image(4, 4, 128)));
    let g = tone(&f, 128);
    assert_eq!(at(&compose(&f, &device()), 120, 150), &[g, g, g]);
    f.magnification = Magnification::None;
    let page = compose(&f, &device());
    assert_eq!(at(&page, 120, 150), &[g, g, g]);
    assert_eq!(page.pixels.iter().filter(|&&v| v == g).count(), 4 * 4 * 3);

    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    f.image_boxes.push(with_image(
        1,
        Image {
            rows: 2,
            columns: 2,
            photometric: Photometric::Rgb,
            bits_stored: 8,
            pixel_aspect_ratio: (1, 1),
            pixels: Pixels::new([255u8, 0, 0].repeat(4)),
        },
    ));
    // Pure red keeps its relative luminance 0.2126: sRGB-encoded, gray 127.
    assert_eq!(at(&compose(&f, &device()), 120, 150), &[127]);
    assert_eq!(luminance_gray(&[255, 255, 255]), 255);
    assert_eq!(luminance_gray(&[0, 0, 0]), 0);
    for v in 0..=255u8 {
        assert_eq!(luminance_gray(&[v, v, v]), v, "neutrals keep their value");
    }
    assert_eq!(luminance_gray(&[0, 255, 0]), 220);
    assert_eq!(luminance_gray(&[0, 0, 255]), 76);
}

#[test]
fn a_colour_film_on_a_gray_only_device_prints_gray() {
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    f.color = true;
    f.image_boxes.push(with_image(
        1,
        Image {
            rows: 2,
            columns: 2,
            photometric: Photometric::Rgb,
            bits_stored: 8,
            pixel_aspect_ratio: (1, 1),
            pixels: Pixels::new([255u8, 0, 0].repeat(4)),
        },
    ));
    let gray_only = Device {
        gray_only: true,
        ..device()
    };
    let page = compose(&f, &gray_only);
    assert_eq!(page.channels, 1);
    assert_eq!(page.pixels.len(), 240 * 300);
    assert_eq!(at(&page, 120, 150), &[127]);
    assert_eq!(compose(&f, &device()).channels, 3);
}

#[test]
fn monochrome1_prints_inverted() {
    let mut f = film(DisplayFormat::Standard {
        columns: 2,
        rows: 1,
    });
    let mut mono1 = gray_image(4, 4, 0);
    mono1.photometric = Photometric::Monochrome1;
    f.image_boxes.push(with_image(1, gray_image(4, 4, 0)));
    f.image_boxes.push(with_image(2, mono1));
    let page = compose(&f, &device());
    assert_eq!(at(&page, 60, 150), &[0]);
    assert_eq!(at(&page, 180, 150), &[255]);
}

#[test]
fn twelve_bit_images_map_through_4096_entries() {
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    let image = Image {
        rows: 2,
        columns: 2,
        photometric: Photometric::Monochrome2,
        bits_stored: 12,
        pixel_aspect_ratio: (1, 1),
        pixels: Pixels::new(2048u16.to_le_bytes().repeat(4)),
    };
    f.image_boxes.push(with_image(1, image));
    let expected = tone(&f, 2048);
    assert_eq!(at(&compose(&f, &device()), 120, 150), &[expected]);
}

#[test]
fn short_pixel_data_leaves_the_box_empty_instead_of_panicking() {
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    f.empty_image_density = AreaDensity::Hundredths(120);
    let mut image = gray_image(64, 64, 100);
    image.pixels = Pixels::new(vec![1; 10]);
    f.image_boxes.push(with_image(1, image));
    let page = compose(&f, &device());
    assert_eq!(at(&page, 120, 150), &[density_gray(1.2, &device())]);
}

#[test]
fn trim_frames_each_image() {
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    f.trim = true;
    f.image_boxes.push(with_image(1, gray_image(10, 10, 255)));
    let page = compose(&f, &device()); // image 240 × 240 at y 30..270
    assert_eq!(at(&page, 120, 29), &[0], "frame above");
    assert_eq!(at(&page, 120, 270), &[0], "frame below");
    assert_eq!(
        at(&page, 0, 150),
        &[0],
        "frame on the image edge at the box side"
    );
    assert_eq!(at(&page, 120, 28), &[255]);
    assert_eq!(at(&page, 120, 150), &[255]);
}

#[test]
fn replicate_prints_exact_k_by_k_blocks() {
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    f.magnification = Magnification::Replicate;
    let values: Vec<u8> = vec![0, 60, 120, 180, 240, 30, 90, 150, 210, 250, 20, 100];
    let mut image = gray_image(4, 3, 0);
    image.pixels = Pixels::new(values.clone());
    f.image_boxes.push(with_image(1, image));
    // 240 × 300 box: factor min(240 / 4, 300 / 3) = 60, the image 240 × 180 at y 60.
    let page = compose(&f, &device());
    for (i, &v) in values.iter().enumerate() {
        let (bx, by) = (i % 4 * 60, 60 + i / 4 * 60);
        let expected = tone(&f, u16::from(v));
        for y in by..by + 60 {
            for x in bx..bx + 60 {
                assert_eq!(at(&page, x, y), &[expected], "pixel ({x},{y}) of block {i}");
            }
        }
    }
    assert_eq!(at(&page, 120, 59), &[255], "border above the image");
    assert_eq!(at(&page, 120, 240), &[255], "border below the image");
}

#[test]
fn cubic_smoothing_types_choose_their_kernel() {
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    f.magnification = Magnification::Cubic;
    let mut image = gray_image(4, 1, 0);
    image.pixels = Pixels::new(vec![0, 0, 200, 200]);
    f.image_boxes.push(with_image(1, image));
    let row = |page: &Page| (0..240).map(|x| at(page, x, 150)[0]).collect::<Vec<u8>>();
    let sharp = row(&compose(&f, &device()));
    f.image_boxes[0].smoothing = Some(Smoothing::Smooth);
    let smooth = row(&compose(&f, &device()));
    let top = tone(&f, 200);
    // Catmull-Rom overshoots the bright side of the edge; the B-spline never does.
    assert!(sharp.iter().any(|&v| v > top), "{sharp:?}");
    assert!(smooth.iter().all(|&v| v <= top), "{smooth:?}");
}

#[test]
fn crop_keeps_the_centre_where_decimate_shrinks_the_whole_image() {
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    // 480 columns: black outer quarters, white middle half; the box is 240 wide.
    let mut image = gray_image(480, 10, 255);
    image.pixels = Pixels::new(
        (0..4800)
            .map(|i| {
                if (120..360).contains(&(i % 480)) {
                    255
                } else {
                    0
                }
            })
            .collect(),
    );
    f.image_boxes.push(ImageBox {
        decimate_crop: Some(DecimateCrop::Crop),
        ..with_image(1, image)
    });
    let page = compose(&f, &device());
    let white = tone(&f, 255);
    // One image pixel per device pixel: the central 240 columns, 10 rows at y 145.
    assert!(
        (0..240).all(|x| at(&page, x, 150) == [white]),
        "only the white middle is printed"
    );
    assert_eq!(at(&page, 120, 144), &[255], "border above the 10 kept rows");
    f.image_boxes[0].decimate_crop = Some(DecimateCrop::Decimate);
    let page = compose(&f, &device());
    assert!(
        at(&page, 2, 150)[0] < 40 && at(&page, 237, 150)[0] < 40,
        "decimated: the black sides show"
    );
}

#[test]
fn requested_image_size_gives_the_printed_width_in_millimetres() {
    let mut f = film(DisplayFormat::Standard {
        columns: 1,
        rows: 1,
    });
    f.image_boxes.push(ImageBox {
        requested_image_size_mm: Some(101.6), // 4 in: 120 px at 30 dpi
        ..with_image(1, gray_image(8, 8, 0))
    });
    let page = compose(&f, &device());
    let black = (0..240)
        .filter(|&x| at(&page, x, 150)[0] == tone(&f, 0))
        .count();
    assert_eq!(black, 120);
    assert_eq!(at(&page, 60, 150), &[tone(&f, 0)]);
    assert_eq!(at(&page, 59, 150), &[255]);
}

/// A film with a bit of everything a strip paints: resampled gray and RGB images, a
/// Magnification NONE copy, an empty box, trim frames and annotation texts.
fn busy_film(color: bool) -> Film {
    use crate::film::annotation::AnnotationFormats;
    let mut f = film(DisplayFormat::Standard {
        columns: 3,
        rows: 2,
    });
    f.color = color;
    f.trim = true;
    f.magnification = Magnification::Cubic;
    let mut ramp = gray_image(37, 53, 0);
    ramp.pixels = Pixels::new((0..37 * 53).map(|i| (i * 7 % 256) as u8).collect());
    f.image_boxes.push(with_image(1, ramp.clone()));
    f.image_boxes.push(ImageBox {
        magnification: Some(Magnification::None),
        ..with_image(2, ramp.clone())
    });
    f.image_boxes.push(ImageBox::empty(3));
    f.image_boxes.push(with_image(
        4,
        Image {
            rows: 9,
            columns: 11,
            photometric: Photometric::Rgb,
            bits_stored: 8,
            pixel_aspect_ratio: (1, 1),
            pixels: Pixels::new((0..9 * 11 * 3).map(|i| (i * 37 % 256) as u8).collect()),
        },
    ));
    f.image_boxes.push(ImageBox {
        smoothing: Some(Smoothing::Medium),
        ..with_image(5, ramp)
    });
    let texts = [
        (1, Some("Top line".to_string())),
        (2, Some("Bottom".to_string())),
    ];
    f.annotations = AnnotationFormats::embedded().annotations("TOP_BOTTOM", &texts);
    f
}

#[test]
fn the_page_is_the_same_on_any_number_of_threads() {
    let dev = Device {
        dpi: 100,
        ..device()
    };
    for color in [false, true] {
        let f = busy_film(color);
        let (one, _) = compose_on(&f, &dev, &|_| (), 1);
        assert!(one.pixels.contains(&0), "frames and text are drawn");
        for threads in [2, 3, 7] {
            let (many, _) = compose_on(&f, &dev, &|_| (), threads);
            assert!(
                one.pixels == many.pixels,
                "{threads} threads, colour {color}"
            );
        }
    }
}

#[test]
fn every_strip_reaches_the_sink_with_its_final_rows() {
    let dev = Device {
        dpi: 100,
        ..device()
    };
    let f = busy_film(true);
    let (page, strips) = compose_with(&f, &dev, |strip| {
        (
            strip.index,
            strip.first_row,
            strip.row_bytes,
            strip.rows.to_vec(),
        )
    });
    let row_bytes = page.width_px as usize * 3;
    let expected = (page.height_px as usize).div_ceil(STRIP_ROWS);
    assert_eq!(strips.len(), expected);
    for (i, (index, first_row, bytes, rows)) in strips.iter().enumerate() {
        assert_eq!((*index, *first_row, *bytes), (i, i * STRIP_ROWS, row_bytes));
        let at = first_row * row_bytes;
        assert!(rows[..] == page.pixels[at..at + rows.len()], "strip {i}");
    }
    assert_eq!(page.pixels, compose(&f, &dev).pixels);
}

#[test]
fn annotation_text_cut_by_strip_boundaries_is_drawn_as_on_the_whole_page() {
    use crate::film::text::Raster;
    let dev = Device {
        dpi: 100,
        ..device()
    };
    let f = busy_film(false);
    let plan = plan::Plan::new(&f, &dev, (800, 1000, 1), 1);
    assert!(!plan.texts.is_empty());
    let mut whole = vec![200u8; 800 * 1000];
    crate::film::bands::draw_placed(
        &plan.texts,
        0,
        &mut Raster {
            pixels: &mut whole,
            width: 800,
            height: 1000,
            channels: 1,
            first_row: 0,
        },
    );
    assert!(whole.contains(&0));
    // Strips of 5 rows cut every line of text several times.
    let mut strips = vec![200u8; 800 * 1000];
    for (index, rows) in strips.chunks_mut(800 * 5).enumerate() {
        let height = rows.len() / 800;
        crate::film::bands::draw_placed(
            &plan.texts,
            0,
            &mut Raster {
                pixels: rows,
                width: 800,
                height,
                channels: 1,
                first_row: index * 5,
            },
        );
    }
    assert!(whole == strips);
}

#[test]
fn streamed_strips_are_the_page_on_any_number_of_threads() {
    // Strips painted into reused per-thread buffers, the last one shorter, must be the
    // rows of the page held whole: a buffer painted over must not keep a byte of the strip
    // before it.
    let dev = Device {
        dpi: 100,
        ..device()
    };
    for color in [false, true] {
        let f = busy_film(color);
        let page = compose(&f, &dev);
        assert_ne!(
            page.height_px as usize % STRIP_ROWS,
            0,
            "a short last strip"
        );
        for threads in [1, 2, 3, 7] {
            let (shape, strips) = compose_streamed_on(
                &f,
                &dev,
                &|strip: Strip<'_>| (strip.index, strip.first_row, strip.rows.to_vec()),
                threads,
            );
            assert_eq!(shape, page.shape(), "{threads} threads");
            assert_eq!(shape, page_shape(&f, &dev));
            let mut joined = Vec::with_capacity(page.pixels.len());
            for (i, (index, first_row, rows)) in strips.into_iter().enumerate() {
                assert_eq!((index, first_row), (i, i * STRIP_ROWS));
                joined.extend_from_slice(&rows);
            }
            assert!(joined == page.pixels, "{threads} threads, colour {color}");
        }
    }
}

#[test]
fn a_preview_from_strips_is_the_preview_of_the_page() {
    use crate::film::preview::{StripPreview, preview};
    let dev = Device {
        dpi: 100,
        ..device()
    };
    for color in [false, true] {
        let f = busy_film(color);
        let page = compose(&f, &dev);
        for side in [64, 333, 5000] {
            let whole = preview(&page, side);
            let strips = StripPreview::new(&page_shape(&f, &dev), side);
            let (_, partial) = compose_streamed_on(
                &f,
                &dev,
                &|s: Strip<'_>| strips.strip(s.first_row, s.rows),
                3,
            );
            let from_strips = strips.finish(partial);
            assert_eq!(from_strips, whole, "side {side}, colour {color}");
            assert!(whole.width_px.max(whole.height_px) <= side);
            assert!(
                whole.pixels.iter().any(|&v| v != 255),
                "not a white failure"
            );
        }
    }
}
