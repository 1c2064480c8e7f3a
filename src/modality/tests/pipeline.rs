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

fn run(attrs: &ImageAttributes, values: Vec<i32>) -> Result<Image, ModalityError> {
    to_print_ready(
        attrs,
        &frame(values, attrs.photometric),
        &ImageOptions::default(),
    )
}

fn with_options(
    attrs: &ImageAttributes,
    values: Vec<i32>,
    options: ImageOptions,
) -> Result<Image, ModalityError> {
    to_print_ready(attrs, &frame(values, attrs.photometric), &options)
}

fn invalid_message(result: Result<Image, ModalityError>) -> String {
    match result {
        Err(ModalityError::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn options_message(result: Result<Image, ModalityError>) -> String {
    match result {
        Err(ModalityError::Options(message)) => message,
        other => panic!("expected Options, got {other:?}"),
    }
}

fn window(center: f64, width: f64) -> (Window, String) {
    (Window { center, width }, String::new())
}

#[test]
fn print_ready_12_bit_passes_through_byte_identical() {
    let attrs = mono(1, 4, 16, 12);
    let image = run(&attrs, vec![0, 1, 0x0ABC, 4095]).unwrap();
    assert_eq!(image.bits_stored, 12);
    assert_eq!(
        image.pixels.as_slice(),
        &[0x00, 0x00, 0x01, 0x00, 0xBC, 0x0A, 0xFF, 0x0F]
    );
}

#[test]
fn print_ready_monochrome1_stays_monochrome1_and_unchanged() {
    let mut attrs = mono(1, 3, 8, 8);
    attrs.photometric = StoredPhotometric::Monochrome1;
    let image = run(&attrs, vec![0, 100, 255]).unwrap();
    assert_eq!(image.photometric, Photometric::Monochrome1);
    assert_eq!(image.bits_stored, 8);
    assert_eq!(image.pixels.as_slice(), &[0, 100, 255]);
}

#[test]
fn windowed_monochrome1_keeps_its_polarity_for_composition() {
    // MONOCHROME1: the lowest value is the brightest. The VOI output is not inverted
    // here; the image stays MONOCHROME1 so composition inverts it (lowest prints white).
    let mut attrs = mono(1, 3, 16, 16);
    attrs.photometric = StoredPhotometric::Monochrome1;
    attrs.windows = vec![window(1000.0, 1000.0)];
    let image = run(&attrs, vec![0, 1000, 5000]).unwrap();
    assert_eq!(image.photometric, Photometric::Monochrome1);
    assert_eq!(u16s(&image), vec![0, 2050, 4095]);
}

#[test]
fn ct_with_intercept_minus_1024_and_window_40_400() {
    let mut attrs = mono(1, 5, 16, 12);
    attrs.modality_lut = ModalityLut::Rescale {
        slope: 1.0,
        intercept: -1024.0,
    };
    attrs.windows = vec![window(40.0, 400.0)];
    // Stored 0 = -1024 HU (air), 864 = -160 HU (the window's lower edge), 1024 = water,
    // 1064 = 40 HU (the centre), 2048 = 1024 HU (bone).
    let image = run(&attrs, vec![0, 864, 1024, 1064, 2048]).unwrap();
    assert_eq!(image.photometric, Photometric::Monochrome2);
    // Water: ((0 - 39.5) / 399 + 0.5) × 4095 = 1642.1; 40 HU: 2052.6.
    assert_eq!(u16s(&image), vec![0, 0, 1642, 2053, 4095]);
}

#[test]
fn signed_stored_values_with_a_window() {
    let mut attrs = mono(1, 3, 16, 16);
    attrs.signed = true;
    attrs.windows = vec![window(0.0, 2001.0)];
    // LINEAR: x ≤ -0.5 - 1000 → 0; x > -0.5 + 1000 → 4095; x = -0.5 is the centre.
    let image = run(&attrs, vec![-2000, 0, 2000]).unwrap();
    assert_eq!(u16s(&image), vec![0, 2049, 4095]); // (0.5/2000 + 0.5) × 4095 = 2048.5
}

#[test]
fn linear_exact_and_sigmoid_from_the_file() {
    let mut attrs = mono(1, 3, 16, 16);
    attrs.windows = vec![window(100.0, 100.0)];
    attrs.voi_function = VoiFunction::LinearExact;
    let image = run(&attrs, vec![50, 100, 150]).unwrap();
    assert_eq!(u16s(&image), vec![0, 2048, 4095]);
    attrs.voi_function = VoiFunction::Sigmoid;
    let image = run(&attrs, vec![100, 150, 0]).unwrap();
    // 4095 / (1 + e^-2) = 3606.9; 4095 / (1 + e^4) = 73.6.
    assert_eq!(u16s(&image), vec![2048, 3607, 74]);
}

#[test]
fn window_width_1_thresholds() {
    let mut attrs = mono(1, 3, 16, 16);
    attrs.windows = vec![window(100.0, 1.0)];
    let image = run(&attrs, vec![99, 100, 101]).unwrap();
    assert_eq!(u16s(&image), vec![0, 4095, 4095]);
}

#[test]
fn window_option_replaces_the_files_and_voi_chooses_among_them() {
    let mut attrs = mono(1, 2, 16, 16);
    attrs.windows = vec![window(100.0, 101.0), window(1000.0, 1001.0)];
    let values = vec![100, 1000];
    // First window by default: 100 is its centre + 0.5, 1000 above it.
    let image = run(&attrs, values.clone()).unwrap();
    assert_eq!(u16s(&image), vec![2068, 4095]);
    let second = ImageOptions {
        voi_index: Some(2),
        ..Default::default()
    };
    let image = with_options(&attrs, values.clone(), second).unwrap();
    assert_eq!(u16s(&image), vec![0, 2050]);
    let explicit = ImageOptions {
        window: Some(Window {
            center: 550.0,
            width: 2000.0,
        }),
        voi_index: Some(2),
        ..Default::default()
    };
    let image = with_options(&attrs, values, explicit).unwrap();
    // ((100 - 549.5) / 1999 + 0.5) × 4095 = 1126.7; 1000 → 2970.3.
    assert_eq!(u16s(&image), vec![1127, 2970]);
}

#[test]
fn voi_3_of_2_windows_is_an_options_error_naming_the_count() {
    let mut attrs = mono(1, 1, 16, 16);
    attrs.windows = vec![window(100.0, 100.0), window(200.0, 100.0)];
    let voi = |n| ImageOptions {
        voi_index: Some(n),
        ..Default::default()
    };
    let message = options_message(with_options(&attrs, vec![1], voi(3)));
    assert!(
        message.contains("--voi 3") && message.contains("2 windows"),
        "{message}"
    );
    let message = options_message(with_options(&attrs, vec![1], voi(0)));
    assert!(message.contains("from 1"), "{message}");
    // No window and no VOI LUT: --voi 1 falls back to min/max, --voi 2 is an error.
    let bare = mono(1, 1, 16, 16);
    assert!(with_options(&bare, vec![1], voi(1)).is_ok());
    let message = options_message(with_options(&bare, vec![1], voi(2)));
    assert!(message.contains("no window"), "{message}");
}

#[test]
fn window_widths_below_the_functions_minimum_are_refused() {
    let mut attrs = mono(1, 1, 16, 16);
    attrs.windows = vec![window(100.0, 0.0)];
    let message = invalid_message(run(&attrs, vec![1]));
    assert!(message.contains("Window Width"), "{message}");
    let narrow = ImageOptions {
        window: Some(Window {
            center: 0.0,
            width: 0.5,
        }),
        ..Default::default()
    };
    let message = options_message(with_options(&mono(1, 1, 16, 16), vec![1], narrow.clone()));
    assert!(
        message.contains("--window") && message.contains("LINEAR"),
        "{message}"
    );
    // LINEAR_EXACT takes a width below 1.
    let mut exact = mono(1, 1, 16, 16);
    exact.voi_function = VoiFunction::LinearExact;
    assert!(with_options(&exact, vec![1], narrow).is_ok());
}

#[test]
fn voi_lut_sequence_is_used_when_there_is_no_window_and_scaled_to_12_bits() {
    let mut attrs = mono(1, 4, 16, 16);
    attrs.voi_luts = vec![
        Lut {
            first_mapped: 10,
            bits: 8,
            data: vec![0, 128, 255],
        },
        Lut {
            first_mapped: 0,
            bits: 16,
            data: vec![65535],
        },
    ];
    let image = run(&attrs, vec![0, 11, 12, 500]).unwrap();
    // 128 of 255 → 2055.5 → 2056 of 4095.
    assert_eq!(u16s(&image), vec![0, 2056, 4095, 4095]);
    let second = ImageOptions {
        voi_index: Some(2),
        ..Default::default()
    };
    let image = with_options(&attrs, vec![0, 11, 12, 500], second).unwrap();
    assert_eq!(u16s(&image), vec![4095; 4]);
    let third = ImageOptions {
        voi_index: Some(3),
        ..Default::default()
    };
    let message = options_message(with_options(&attrs, vec![0, 1, 2, 3], third));
    assert!(message.contains("2 VOI LUTs"), "{message}");
    attrs.voi_luts[0].data.clear();
    let message = invalid_message(run(&attrs, vec![0, 1, 2, 3]));
    assert!(message.contains("VOI LUT Sequence"), "{message}");
}

#[test]
fn without_voi_a_16_bit_image_is_windowed_on_its_min_max() {
    let attrs = mono(1, 3, 16, 16);
    let image = run(&attrs, vec![100, 300, 200]).unwrap();
    assert_eq!(image.bits_stored, 12);
    assert_eq!(u16s(&image), vec![0, 4095, 2048]);
}

#[test]
fn min_max_is_taken_after_the_modality_lut() {
    let mut attrs = mono(1, 3, 16, 12);
    attrs.modality_lut = ModalityLut::Rescale {
        slope: -2.0,
        intercept: 10.0,
    };
    // Modality values 10, -190, -90: min -190, max 10.
    let image = run(&attrs, vec![0, 100, 50]).unwrap();
    assert_eq!(u16s(&image), vec![4095, 0, 2048]);
}

#[test]
fn eight_bit_images_that_are_not_print_ready_come_out_12_bit() {
    let mut signed = mono(1, 2, 8, 8);
    signed.signed = true;
    let image = run(&signed, vec![-128, 127]).unwrap();
    assert_eq!(u16s(&image), vec![0, 4095]);
    let mut rescaled = mono(1, 2, 8, 8);
    rescaled.modality_lut = ModalityLut::Rescale {
        slope: 2.0,
        intercept: 0.0,
    };
    let image = run(&rescaled, vec![0, 255]).unwrap();
    assert_eq!(u16s(&image), vec![0, 4095]);
    let mut windowed = mono(1, 2, 8, 8);
    windowed.windows = vec![window(128.0, 256.0)];
    let image = run(&windowed, vec![0, 255]).unwrap();
    assert_eq!(u16s(&image), vec![0, 4095]);
}

#[test]
fn a_flat_frame_without_voi_is_all_zero() {
    let attrs = mono(2, 2, 16, 16);
    let image = run(&attrs, vec![700; 4]).unwrap();
    assert_eq!(u16s(&image), vec![0; 4]);
}

#[test]
fn modality_lut_table_then_window() {
    let mut attrs = mono(1, 4, 16, 16);
    attrs.signed = true;
    attrs.modality_lut = ModalityLut::Table(Lut {
        first_mapped: -1,
        bits: 16,
        data: vec![0, 1000, 2000],
    });
    attrs.windows = vec![window(1000.5, 2001.0)];
    // -5 → first entry 0; -1 → 0; 0 → 1000 (centre - 0.5 + 0.5... = half); 9 → last 2000.
    let image = run(&attrs, vec![-5, -1, 0, 9]).unwrap();
    assert_eq!(u16s(&image), vec![0, 0, 2048, 4095]);
}

#[test]
fn frame_values_of_the_wrong_length_are_invalid_not_a_panic() {
    let attrs = mono(2, 2, 16, 16);
    for len in [0, 3, 5] {
        let message = invalid_message(run(&attrs, vec![0; len]));
        assert!(message.contains("needs 4"), "{message}");
    }
    let mut rgb = mono(2, 2, 8, 8);
    rgb.samples_per_pixel = 3;
    rgb.photometric = StoredPhotometric::Rgb;
    let message = invalid_message(run(&rgb, vec![0; 4]));
    assert!(message.contains("needs 12"), "{message}");
    rgb.photometric = StoredPhotometric::YbrFull422;
    let message = invalid_message(run(&rgb, vec![0; 12]));
    assert!(message.contains("needs 8"), "{message}");
}

/// A change to a valid attribute set that makes it invalid.
type Change = Box<dyn Fn(&mut ImageAttributes)>;

#[test]
fn image_pixel_attributes_out_of_bounds_are_invalid_and_named() {
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|a| a.rows = 0), "Rows"),
        (Box::new(|a| a.columns = 0), "Columns"),
        (
            Box::new(|a| {
                a.rows = 65535;
                a.columns = 65535;
            }),
            "Rows × Columns",
        ),
        (Box::new(|a| a.bits_stored = 17), "Bits Stored"),
        (Box::new(|a| a.bits_allocated = 0), "Bits Allocated"),
        (Box::new(|a| a.high_bit = 16), "High Bit"),
        (Box::new(|a| a.high_bit = 10), "High Bit"),
        (Box::new(|a| a.samples_per_pixel = 3), "Samples per Pixel"),
        (
            Box::new(|a| {
                a.modality_lut = ModalityLut::Table(Lut {
                    first_mapped: 0,
                    bits: 16,
                    data: vec![],
                })
            }),
            "Modality LUT Sequence",
        ),
        (
            Box::new(|a| {
                a.modality_lut = ModalityLut::Table(Lut {
                    first_mapped: 0,
                    bits: 20,
                    data: vec![1],
                })
            }),
            "bits",
        ),
        (
            Box::new(|a| a.pixel_aspect_ratio = Some((0, 1))),
            "Pixel Aspect Ratio",
        ),
    ];
    for (change, name) in cases {
        let mut attrs = mono(2, 2, 16, 12);
        change(&mut attrs);
        let message = invalid_message(run(&attrs, vec![0; 4]));
        assert!(message.contains(name), "{name}: {message}");
    }
}

fn colour(photometric: StoredPhotometric, rows: u32, columns: u32) -> ImageAttributes {
    ImageAttributes {
        samples_per_pixel: 3,
        photometric,
        ..mono(rows, columns, 8, 8)
    }
}

#[test]
fn rgb_8_bit_passes_through_and_planar_1_equals_planar_0() {
    let attrs = colour(StoredPhotometric::Rgb, 1, 2);
    let interleaved = vec![1, 2, 3, 4, 5, 6];
    let image = run(&attrs, interleaved).unwrap();
    assert_eq!(image.photometric, Photometric::Rgb);
    assert_eq!(image.bits_stored, 8);
    assert_eq!(image.pixels.as_slice(), &[1, 2, 3, 4, 5, 6]);
    let planar = StoredFrame {
        values: vec![1, 4, 2, 5, 3, 6],
        photometric: StoredPhotometric::Rgb,
        planar_configuration: 1,
    };
    let from_planar = to_print_ready(&attrs, &planar, &ImageOptions::default()).unwrap();
    assert_eq!(from_planar, image);
}

#[test]
fn ybr_full_to_rgb_on_known_triples() {
    let attrs = colour(StoredPhotometric::YbrFull, 1, 3);
    let image = run(&attrs, vec![128, 128, 128, 76, 85, 255, 255, 128, 128]).unwrap();
    assert_eq!(image.photometric, Photometric::Rgb);
    assert_eq!(
        image.pixels.as_slice(),
        &[128, 128, 128, 254, 0, 0, 255, 255, 255]
    );
    // Planar 1 gives the same image.
    let planar = StoredFrame {
        values: vec![128, 76, 255, 128, 85, 128, 128, 255, 128],
        photometric: StoredPhotometric::YbrFull,
        planar_configuration: 1,
    };
    assert_eq!(
        to_print_ready(&attrs, &planar, &ImageOptions::default()).unwrap(),
        image
    );
}

#[test]
fn ybr_full_422_on_a_4_by_2_image_expands_to_full_ybr() {
    let attrs = colour(StoredPhotometric::YbrFull422, 2, 4);
    // Row 0: grey pair, red pair; row 1: black/white pair, a pair sharing Cb/Cr.
    let native = vec![
        128, 128, 128, 128, 76, 76, 85, 255, // row 0
        0, 255, 128, 128, 76, 128, 85, 255, // row 1
    ];
    let image = run(&attrs, native).unwrap();
    let full = colour(StoredPhotometric::YbrFull, 2, 4);
    let expanded = vec![
        128, 128, 128, 128, 128, 128, 76, 85, 255, 76, 85, 255, // row 0
        0, 128, 128, 255, 128, 128, 76, 85, 255, 128, 85, 255, // row 1
    ];
    let reference = run(&full, expanded).unwrap();
    assert_eq!(image, reference);
    assert_eq!(
        &image.pixels.as_slice()[..6],
        &[128, 128, 128, 128, 128, 128]
    );
    assert_eq!(&image.pixels.as_slice()[12..18], &[0, 0, 0, 255, 255, 255]);
    assert_eq!(&image.pixels.as_slice()[6..9], &[254, 0, 0]);
    // Odd columns cannot hold YBR_FULL_422 pairs.
    let odd = colour(StoredPhotometric::YbrFull422, 1, 3);
    let message = invalid_message(run(&odd, vec![0; 6]));
    assert!(message.contains("even"), "{message}");
}

#[test]
fn a_decoder_that_made_rgb_of_ybr_is_followed() {
    // The file says YBR_FULL_422; a JPEG decoder returned RGB: the frame decides.
    let attrs = colour(StoredPhotometric::YbrFull422, 1, 2);
    let decoded = StoredFrame {
        values: vec![10, 20, 30, 40, 50, 60],
        photometric: StoredPhotometric::Rgb,
        planar_configuration: 0,
    };
    let image = to_print_ready(&attrs, &decoded, &ImageOptions::default()).unwrap();
    assert_eq!(image.pixels.as_slice(), &[10, 20, 30, 40, 50, 60]);
}

#[test]
fn sixteen_bit_rgb_is_scaled_to_8_bits() {
    let attrs = ImageAttributes {
        bits_allocated: 16,
        bits_stored: 16,
        high_bit: 15,
        ..colour(StoredPhotometric::Rgb, 1, 1)
    };
    let image = run(&attrs, vec![0, 32768, 65535]).unwrap();
    assert_eq!(image.bits_stored, 8);
    assert_eq!(image.pixels.as_slice(), &[0, 128, 255]);
}

#[test]
fn palette_color_goes_through_its_tables() {
    let lut = |data: Vec<u16>| Lut {
        first_mapped: 0,
        bits: 16,
        data,
    };
    let mut attrs = mono(1, 3, 8, 8);
    attrs.photometric = StoredPhotometric::PaletteColor;
    attrs.palette = Some(Palette {
        red: lut(vec![0xFFFF, 0, 0]),
        green: lut(vec![0, 0xFFFF, 0]),
        blue: lut(vec![0, 0, 0xFFFF]),
    });
    let image = run(&attrs, vec![0, 1, 7]).unwrap();
    assert_eq!(image.photometric, Photometric::Rgb);
    assert_eq!(image.pixels.as_slice(), &[255, 0, 0, 0, 255, 0, 0, 0, 255]);
    attrs.palette = None;
    let message = invalid_message(run(&attrs, vec![0, 1, 2]));
    assert!(message.contains("Palette Color Lookup Table"), "{message}");
}

#[test]
fn pixel_aspect_ratio_from_the_ratio_then_the_spacing() {
    let mut attrs = mono(1, 1, 8, 8);
    let aspect = |attrs: &ImageAttributes| run(attrs, vec![0]).unwrap().pixel_aspect_ratio;
    assert_eq!(aspect(&attrs), (1, 1));
    attrs.pixel_spacing = Some((0.5, 0.25));
    assert_eq!(aspect(&attrs), (2, 1));
    attrs.pixel_spacing = Some((0.25, 0.5));
    assert_eq!(aspect(&attrs), (1, 2));
    attrs.pixel_spacing = Some((0.3, 0.3));
    assert_eq!(aspect(&attrs), (1, 1));
    attrs.pixel_spacing = Some((0.390625, 0.3906));
    assert_eq!(aspect(&attrs), (1, 1));
    attrs.pixel_spacing = Some((0.7, 0.3));
    assert_eq!(aspect(&attrs), (7, 3));
    attrs.pixel_spacing = Some((0.0, 0.3));
    assert_eq!(aspect(&attrs), (1, 1));
    // Pixel Aspect Ratio wins over the spacing and is kept as given.
    attrs.pixel_spacing = Some((0.5, 0.25));
    attrs.pixel_aspect_ratio = Some((4, 6));
    assert_eq!(aspect(&attrs), (4, 6));
    attrs.pixel_aspect_ratio = Some((200_000, 100_000));
    assert_eq!(aspect(&attrs), (2, 1));
}

#[test]
fn small_ratio_bounds_its_terms() {
    assert_eq!(small_ratio(1e9), (1000, 1));
    assert_eq!(small_ratio(1e-9), (1, 1000));
    assert_eq!(small_ratio(f64::NAN), (1, 1));
    assert_eq!(small_ratio(1.5), (3, 2));
}

#[test]
fn a_frame_larger_than_its_value_range_goes_through_a_table_with_the_same_result() {
    let mut attrs = mono(40, 50, 16, 16);
    attrs.signed = true;
    attrs.voi_function = VoiFunction::Sigmoid;
    attrs.modality_lut = ModalityLut::Rescale {
        slope: 1.5,
        intercept: -100.0,
    };
    let win = Window {
        center: 0.0,
        width: 60.0,
    };
    attrs.windows = vec![(win, "SIGMOID".into())];
    let values: Vec<i32> = (0..2000).map(|i| i % 97 - 30).collect();
    let image = run(&attrs, values.clone()).unwrap();
    let expected: Vec<u16> = values
        .iter()
        .map(|&x| crate::modality::voi::p_value(VoiFunction::Sigmoid, win, x as f64 * 1.5 - 100.0))
        .collect();
    assert_eq!(u16s(&image), expected);
    // Stored 0 → -100: 4095 / (1 + e^(400/60)) = 5.2.
    assert_eq!(u16s(&image)[30], 5);
}

#[test]
fn high_bit_above_bits_stored_minus_1_is_printable() {
    // PS3.5 8.1.1 allows 16/12/15: decode has right-aligned the stored bits already.
    let mut attrs = mono(2, 2, 16, 12);
    attrs.high_bit = 15;
    let image = run(&attrs, vec![0, 1, 2048, 4095]).unwrap();
    assert_eq!(u16s(&image), vec![0, 1, 2048, 4095]);
}
