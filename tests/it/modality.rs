//! Real modality images (issue 14): pydicom's bundled test files decoded by filmd
//! (src/modality/decode.rs) and rendered by `filmd render`, held against pydicom's own
//! decoding, Modality LUT, windowing and colour conversion
//! (tests/peers/pydicom_reference.py) at known places.

use crate::common;
use crate::common::harness::{Test, trials};
use filmd::film::density::{ToneMap, ToneParams};
use filmd::film::{Photometric, Polarity};
use filmd::modality::{ImageAttributes, StoredFrame, StoredPhotometric, attributes, decode};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(Pydicom)]
        stored_values_equal_pydicom_pixel_array,
        #[needs(Pydicom)]
        lossless_syntaxes_of_mr_small_decode_to_mr_small,
        #[needs(Pydicom)]
        render_of_monochrome_files_matches_pydicom_windowing,
        #[needs(Pydicom)]
        render_of_colour_files_matches_pydicom_rgb,
        #[needs(Pydicom)]
        frame_option_chooses_one_frame_and_refuses_one_out_of_range,
        #[needs(Pydicom)]
        syntax_without_decoder_is_named_and_exits_1,
        #[needs(Pydicom)]
        jpeg_ls_decodes_with_its_feature_else_is_refused_naming_it,
    ]
}

/// Whether this build decodes JPEG-LS (the `jpeg-ls` feature, CharLS: scripts/test.sh
/// turns it on; a plain `cargo build` leaves it off). The JPEG-LS files of the tables
/// below are left out without it, and
/// [`jpeg_ls_decodes_with_its_feature_else_is_refused_naming_it`] checks the refusal
/// instead; under CI=true it must be on.
const JPEG_LS: bool = cfg!(feature = "jpeg-ls");

/// Whether test file `name` can be decoded by this build.
fn decodable(name: &str) -> bool {
    JPEG_LS || !name.contains("jpeg_ls")
}

fn jpeg_ls_decodes_with_its_feature_else_is_refused_naming_it() {
    if std::env::var("CI").is_ok_and(|v| v == "true") && !JPEG_LS {
        panic!("CI runs with --features jpeg-ls (scripts/test.sh)");
    }
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("film.png");
    let file = testdata("MR_small_jpeg_ls_lossless.dcm");
    let (code, err) = filmd(&[
        "render",
        file.to_str().unwrap(),
        "-o",
        png.to_str().unwrap(),
    ]);
    if JPEG_LS {
        assert_eq!(code, 0, "{err}");
    } else {
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains("1.2.840.10008.1.2.4.80") && err.contains("--features jpeg-ls"),
            "{err}"
        );
    }
}

/// The path of pydicom's bundled test file `name`.
fn testdata(name: &str) -> PathBuf {
    let out = python(&["--path", name]);
    PathBuf::from(out.trim())
}

fn python(args: &[&str]) -> String {
    let script = common::repo_root().join("tests/peers/pydicom_reference.py");
    let out = common::output_within(
        Command::new("python3").arg(script).args(args),
        common::PEER_DEADLINE,
    );
    assert!(
        out.status.success(),
        "pydicom_reference.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// pydicom's reference values for frame `frame` (from 1) of `path`.
fn reference(path: &Path, frame: u32, extra: &[&str]) -> Value {
    let frame = frame.to_string();
    let mut args = vec![path.to_str().unwrap(), "--frame", &frame];
    args.extend_from_slice(extra);
    serde_json::from_str(&python(&args)).expect("reference JSON")
}

fn decode_file(path: &Path, index: u32) -> (ImageAttributes, StoredFrame) {
    let obj = dicom_object::open_file(path).expect("open");
    let attrs = attributes::read_attributes(&obj).expect("attributes");
    let frame = decode::decode_frame(&obj, &attrs, index).expect("decode");
    (attrs, frame)
}

/// The samples of pixel (row, column) in a decoded frame, whatever its layout.
fn sample_at(attrs: &ImageAttributes, frame: &StoredFrame, row: usize, column: usize) -> Vec<i32> {
    let columns = attrs.columns as usize;
    let pixels = attrs.rows as usize * columns;
    let n = row * columns + column;
    let samples = usize::from(attrs.samples_per_pixel);
    let native_422 =
        frame.photometric == StoredPhotometric::YbrFull422 && frame.values.len() == pixels * 2;
    if native_422 {
        // Y0 Y1 Cb Cr for each two pixels of a row (PS3.3 C.7.6.3.1.2).
        let pair = n / 2 * 4;
        return vec![
            frame.values[pair + n % 2],
            frame.values[pair + 2],
            frame.values[pair + 3],
        ];
    }
    (0..samples)
        .map(|s| {
            if frame.planar_configuration == 1 {
                frame.values[s * pixels + n]
            } else {
                frame.values[n * samples + s]
            }
        })
        .collect()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// (file, frames from 1, tolerance): exact for lossless syntaxes; lossy JPEG within the
/// differences of two IDCTs and colour conversions.
const DECODED: &[(&str, &[u32], f64)] = &[
    ("CT_small.dcm", &[1], 0.0),
    ("MR_small.dcm", &[1], 0.0),
    ("MR_small_bigendian.dcm", &[1], 0.0),
    ("MR_small_RLE.dcm", &[1], 0.0),
    ("MR_small_jpeg_ls_lossless.dcm", &[1], 0.0),
    ("MR_small_jp2klossless.dcm", &[1], 0.0),
    ("JPEG2000.dcm", &[1], 1.0),
    ("SC_rgb_rle.dcm", &[1], 0.0),
    ("SC_rgb_rle_2frame.dcm", &[1, 2], 0.0),
    ("SC_rgb_rle_16bit.dcm", &[1], 0.0),
    ("SC_rgb_jpeg_gdcm.dcm", &[1], 0.0),
    ("SC_rgb_dcmtk_+eb+cr.dcm", &[1], 2.0),
    ("SC_rgb_jpeg_dcmtk.dcm", &[1], 2.0),
    ("SC_rgb_small_odd.dcm", &[1], 0.0),
    ("SC_ybr_full_422_uncompressed.dcm", &[1], 0.0),
    ("examples_palette.dcm", &[1], 0.0),
    ("examples_ybr_color.dcm", &[1, 30], 3.0),
    ("rtdose.dcm", &[1, 15], 0.0),
    ("rtdose_rle.dcm", &[1, 15], 0.0),
    ("liver_1frame.dcm", &[1], 0.0),
    // Deflated Explicit VR Little Endian (PS3.5 A.5): the whole data set inflated.
    ("image_dfl.dcm", &[1], 0.0),
    // 12-bit lossy JPEG (ISO 10918-1 process 4), decoded by src/modality/jpeg12.rs
    // (f32 IDCT) against pylibjpeg-libjpeg: the two IDCTs round differently by 1 at
    // most (1.3% of the pixels differ, by 1).
    ("JPGExtended.dcm", &[1], 1.0),
];

fn stored_values_equal_pydicom_pixel_array() {
    let mut failures = Vec::new();
    for &(name, frames, tolerance) in DECODED.iter().filter(|d| decodable(d.0)) {
        let path = testdata(name);
        for &frame_number in frames {
            let (attrs, frame) = decode_file(&path, frame_number - 1);
            let reference = reference(&path, frame_number, &[]);
            assert_eq!(
                reference["rows"].as_u64(),
                Some(u64::from(attrs.rows)),
                "{name}"
            );
            assert_eq!(
                reference["frames"].as_u64(),
                Some(u64::from(attrs.frames)),
                "{name}"
            );
            // A decoder that turned YBR into RGB is compared with pydicom's RGB,
            // anything else with the stored values.
            let key = if frame.photometric == StoredPhotometric::Rgb
                && reference["photometric"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("YBR"))
            {
                "pixel"
            } else {
                "raw"
            };
            for point in reference["points"].as_array().unwrap() {
                let (r, c) = (
                    point["row"].as_u64().unwrap() as usize,
                    point["column"].as_u64().unwrap() as usize,
                );
                let ours = sample_at(&attrs, &frame, r, c);
                let theirs = numbers(&point[key]);
                let close = ours.len() == theirs.len()
                    && ours
                        .iter()
                        .zip(&theirs)
                        .all(|(&a, &b)| (f64::from(a) - b).abs() <= tolerance);
                if !close {
                    failures.push(format!(
                        "{name} frame {frame_number} ({r}, {c}): filmd {ours:?}, pydicom {key} {theirs:?}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn lossless_syntaxes_of_mr_small_decode_to_mr_small() {
    let (_, plain) = decode_file(&testdata("MR_small.dcm"), 0);
    for name in [
        "MR_small_bigendian.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_jp2klossless.dcm",
    ]
    .into_iter()
    .filter(|n| decodable(n))
    {
        let (_, frame) = decode_file(&testdata(name), 0);
        assert_eq!(frame.values.len(), 64 * 64, "{name}");
        assert!(
            frame.values == plain.values,
            "{name} differs from MR_small.dcm"
        );
    }
}

/// Runs the real `filmd render` binary.
fn filmd(args: &[&str]) -> (i32, String) {
    let out = common::output_within(
        Command::new(env!("CARGO_BIN_EXE_filmd")).args(args),
        common::PEER_DEADLINE,
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_png(path: &Path) -> (u32, usize, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::Rgb => 3,
        other => panic!("colour type {other:?}"),
    };
    (info.width, channels, buf)
}

#[derive(clap::Parser)]
struct RenderArgs {
    #[command(flatten)]
    request: filmd::render::RenderRequest,
}

/// The film settings every render here uses: one box, REPLICATE (each image pixel a
/// whole block of page pixels), the default queue's densities.
const FILM: &[&str] = &[
    "--format",
    "STANDARD\\1,1",
    "--film-size",
    "8INX10IN",
    "--magnification",
    "REPLICATE",
    "--dpi",
    "100",
];

/// Renders `path` with `options` through the binary, and returns, for each image pixel
/// (row, column), a closure giving the page pixel at the centre of its block; plus the
/// film and device filmd builds for the same command line.
struct Rendered {
    film: filmd::film::Film,
    device: filmd::film::Device,
    width: usize,
    channels: usize,
    pixels: Vec<u8>,
    origin: (usize, usize),
    scale: (f64, f64),
}

impl Rendered {
    fn new(path: &Path, options: &[&str]) -> Rendered {
        use clap::Parser;
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("film.png");
        let mut args = vec!["render", path.to_str().unwrap()];
        args.extend_from_slice(FILM);
        args.extend_from_slice(options);
        args.extend_from_slice(&["-o", png.to_str().unwrap()]);
        let (code, err) = filmd(&args);
        assert_eq!(code, 0, "filmd {args:?}: {err}");
        let (width, channels, pixels) = read_png(&png);
        // The same command line through the library: the film's geometry and densities.
        let parsed = RenderArgs::try_parse_from(
            std::iter::once("render").chain(args[1..args.len() - 2].iter().copied()),
        )
        .expect("render arguments");
        let loaded = filmd::config::load(None, &Default::default()).expect("default config");
        let settings = &loaded.settings;
        let (film, device) = filmd::render::build_film(
            &parsed.request,
            &settings.queues[0],
            &settings.custom_layouts,
            &settings.annotation_formats,
        )
        .expect("film");
        let bounds = filmd::film::compose::image_box_bounds(&film, &device)[0];
        let image_box = &film.image_boxes[0];
        let image = image_box.image.as_ref().unwrap();
        let placement = filmd::film::compose::placement_in_box(
            image,
            image_box,
            film.magnification,
            (bounds.2, bounds.3),
            device.dpi,
        )
        .expect("placement");
        let (sx, sy, sw, sh) = placement.source;
        let (dx, dy, dw, dh) = placement.dest;
        assert_eq!((sx, sy), (0, 0), "the whole image is printed");
        Rendered {
            origin: (bounds.0 + dx, bounds.1 + dy),
            scale: (dw as f64 / sw as f64, dh as f64 / sh as f64),
            film,
            device,
            width: width as usize,
            channels,
            pixels,
        }
    }

    /// The page pixel at the centre of image pixel (row, column)'s block.
    fn at(&self, row: usize, column: usize) -> &[u8] {
        let x = self.origin.0 + ((column as f64 + 0.5) * self.scale.0) as usize;
        let y = self.origin.1 + ((row as f64 + 0.5) * self.scale.1) as usize;
        let i = (y * self.width + x) * self.channels;
        &self.pixels[i..i + self.channels]
    }
}

/// Monochrome files with the window each is rendered with (none: the file's own).
const MONOCHROME: &[(&str, u32, Option<&str>)] = &[
    ("CT_small.dcm", 1, Some("40,400")),
    ("MR_small.dcm", 1, None),
    ("MR_small_RLE.dcm", 1, None),
    ("MR_small_jpeg_ls_lossless.dcm", 1, None),
    ("MR_small_jp2klossless.dcm", 1, None),
    ("MR_small_bigendian.dcm", 1, Some("600,1200")),
    ("JPEG2000.dcm", 1, Some("1024,2048")),
    ("rtdose.dcm", 3, Some("2000000,4000000")),
    ("rtdose_rle.dcm", 3, Some("2000000,4000000")),
    // 12-bit lossy JPEG: a window wide enough that the IDCTs' ±1 moves the page by
    // less than one gray level.
    ("JPGExtended.dcm", 1, Some("512,1024")),
];

fn render_of_monochrome_files_matches_pydicom_windowing() {
    let mut failures = Vec::new();
    for &(name, frame, window) in MONOCHROME.iter().filter(|m| decodable(m.0)) {
        let path = testdata(name);
        let frame_arg = frame.to_string();
        let mut options = vec!["--frame", frame_arg.as_str()];
        let mut extra = Vec::new();
        if let Some(w) = window {
            options.extend(["--window", w]);
            extra.extend(["--window", w]);
        }
        let reference = reference(&path, frame, &extra);
        let rendered = Rendered::new(&path, &options);
        assert_eq!(rendered.channels, 1, "{name}: a grayscale page");
        let film = &rendered.film;
        let photometric = match reference["photometric"].as_str() {
            Some("MONOCHROME1") => Photometric::Monochrome1,
            _ => Photometric::Monochrome2,
        };
        // PS3.4 N.2: the VOI output as 12-bit P-values, then the film's own tone map
        // (src/film/density.rs) to the page's gray.
        let params = ToneParams {
            bits: 12,
            photometric,
            polarity: Polarity::Normal,
            presentation_lut: &film.presentation_lut,
            min_density: film.min_density,
            max_density: film.max_density,
            medium: film.medium,
            illumination: film.illumination,
            reflected_ambient_light: film.reflected_ambient_light,
        };
        let tone = ToneMap::new(&params, &rendered.device);
        for point in reference["points"].as_array().unwrap() {
            let (r, c) = (
                point["row"].as_u64().unwrap() as usize,
                point["column"].as_u64().unwrap() as usize,
            );
            let fraction = numbers(&point["fraction"])[0];
            let p_value = (fraction * 4095.0).round() as u16;
            let expected = tone.map(p_value);
            let got = rendered.at(r, c)[0];
            if got.abs_diff(expected) > 1 {
                failures.push(format!(
                    "{name} ({r}, {c}): page {got}, pydicom's VOI {:?} → P-value {p_value} → {expected}",
                    point["voi"]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Colour files (frame) and how far a lossy one may be from pydicom's RGB.
const COLOUR: &[(&str, u32, u8)] = &[
    ("SC_rgb_rle.dcm", 1, 0),
    ("SC_rgb_rle_2frame.dcm", 2, 0),
    ("SC_rgb_jpeg_gdcm.dcm", 1, 0),
    ("SC_rgb_jpeg_dcmtk.dcm", 1, 2),
    ("SC_ybr_full_422_uncompressed.dcm", 1, 1),
    ("examples_palette.dcm", 1, 1),
    ("examples_ybr_color.dcm", 5, 3),
];

fn render_of_colour_files_matches_pydicom_rgb() {
    let mut failures = Vec::new();
    for &(name, frame, tolerance) in COLOUR {
        let path = testdata(name);
        let frame_arg = frame.to_string();
        let reference = reference(&path, frame, &[]);
        let rendered = Rendered::new(&path, &["--frame", &frame_arg]);
        assert_eq!(
            rendered.channels, 3,
            "{name}: an RGB page (the default queue is colour)"
        );
        for point in reference["points"].as_array().unwrap() {
            let (r, c) = (
                point["row"].as_u64().unwrap() as usize,
                point["column"].as_u64().unwrap() as usize,
            );
            let expected: Vec<u8> = numbers(&point["rgb"])
                .iter()
                .map(|v| v.round().clamp(0.0, 255.0) as u8)
                .collect();
            let got = rendered.at(r, c);
            // RGB passes through composition unchanged (src/film/compose/plan.rs).
            let close = got
                .iter()
                .zip(&expected)
                .all(|(&a, &b)| a.abs_diff(b) <= tolerance.max(1));
            if !close {
                failures.push(format!(
                    "{name} frame {frame} ({r}, {c}): page {got:?}, pydicom {expected:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn frame_option_chooses_one_frame_and_refuses_one_out_of_range() {
    let path = testdata("SC_rgb_rle_2frame.dcm");
    let options = |frame| filmd::modality::ImageOptions {
        frame,
        ..Default::default()
    };
    let all = filmd::modality::load_file(&path, &options(None)).expect("both frames");
    assert_eq!(all.len(), 2);
    let second = filmd::modality::load_file(&path, &options(Some(2))).expect("frame 2");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].pixels.as_slice(), all[1].pixels.as_slice());
    match filmd::modality::load_file(&path, &options(Some(3))) {
        Err(filmd::modality::ModalityError::Options(m)) => assert!(m.contains("2 frames"), "{m}"),
        other => panic!("--frame 3 of 2: {other:?}"),
    }
    // Both frames take a box each: two frames in one box is refused, in two accepted.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("film.png");
    let (code, err) = filmd(&[
        "render",
        path.to_str().unwrap(),
        "-o",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("2 images for 1 image boxes"), "{err}");
    let (code, err) = filmd(&[
        "render",
        path.to_str().unwrap(),
        "--format",
        "STANDARD\\1,2",
        "-o",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = filmd(&[
        "render",
        path.to_str().unwrap(),
        "--frame",
        "3",
        "-o",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("--frame 3") && err.contains("SC_rgb_rle_2frame.dcm"),
        "{err}"
    );
}

fn syntax_without_decoder_is_named_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("film.png");
    // JPEG XL (no decoder built in): MR_small_RLE's fragments relabelled.
    let mut obj = dicom_object::open_file(testdata("MR_small_RLE.dcm")).unwrap();
    obj.update_meta(|meta| meta.transfer_syntax = "1.2.840.10008.1.2.4.110".into());
    let jxl = dir.path().join("jxl.dcm");
    obj.write_to_file(&jxl).unwrap();
    let (code, err) = filmd(&["render", jxl.to_str().unwrap(), "-o", png.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("1.2.840.10008.1.2.4.110") && err.contains("JPEG XL"),
        "names the syntax: {err}"
    );
    // Unsigned 32-bit samples above 2^31 - 1 do not fit a stored value (i32).
    let rle32 = testdata("SC_rgb_rle_32bit.dcm");
    let (code, err) = filmd(&[
        "render",
        rle32.to_str().unwrap(),
        "-o",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("4294967295") && err.contains("Bits Stored 32"),
        "{err}"
    );
}
