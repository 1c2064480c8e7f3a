//! The modality's image pipeline (PS3.4 N.2, PS3.3 C.7.6.3, C.11): a DICOM image as a
//! modality or a PACS stores it (any Bits Stored, signed or not, compressed or not,
//! monochrome, RGB, YBR or palette, one frame or many) becomes print-ready image box
//! images (8 or 12-bit MONOCHROME2, or 8-bit RGB) for `filmd render` and `filmd print`.
//!
//! The steps, in the standard's order: stored values → Modality LUT (Rescale Slope and
//! Intercept, or a Modality LUT Sequence) → VOI LUT (a window with its VOI LUT Function,
//! or a VOI LUT Sequence) → print-ready P-values. [`attributes`] reads what the steps
//! need from a data set, [`decode`] turns Pixel Data (native or encapsulated) into stored
//! values frame by frame, and [`pipeline`] (with [`lut`], [`voi`] and [`color`]) is pure:
//! plain data in, a [`crate::film::Image`] out, no I/O.

pub mod attributes;
pub mod color;
pub mod decode;
pub mod jpeg12;
pub mod lut;
pub mod pipeline;
mod segmented;
pub mod voi;

use std::path::Path;

/// Why a file cannot become print-ready images. Each variant says what to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModalityError {
    /// The file could not be read or parsed as DICOM.
    #[error("reading: {0}")]
    Read(String),
    /// An attribute is missing or breaks PS3.3 (the message names it).
    #[error("{0}")]
    Invalid(String),
    /// Pixel Data in a transfer syntax filmd has no decoder for.
    #[error("transfer syntax {uid} ({name}) has no decoder in filmd")]
    UnsupportedTransferSyntax { uid: String, name: String },
    /// Pixel Data in a syntax whose decoder is a cargo feature this build left out.
    #[error(
        "transfer syntax {uid} ({name}): this filmd was built without its decoder; build it with --features {feature}"
    )]
    NotBuiltIn {
        uid: String,
        name: String,
        feature: &'static str,
    },
    /// A decoder failed on this file's Pixel Data.
    #[error("decoding {syntax}: {message}")]
    Decode { syntax: String, message: String },
    /// Valid DICOM that the pipeline does not handle (the message says what).
    #[error("{0}")]
    Unsupported(String),
    /// The command-line options do not fit this image (e.g. `--frame 9` of 2 frames).
    #[error("{0}")]
    Options(String),
}

/// Photometric Interpretation (0028,0004) of stored pixels, PS3.3 C.7.6.3.1.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredPhotometric {
    Monochrome1,
    Monochrome2,
    Rgb,
    YbrFull,
    /// Y, Y, Cb, Cr for each two pixels of a row when native (PS3.3 C.7.6.3.1.2).
    YbrFull422,
    PaletteColor,
}

/// A lookup table as PS3.3 C.11.1.1.1 and C.11.2.1.1 describe it: the LUT Descriptor's
/// first mapped stored value and bits per entry, and the entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Lut {
    /// Second value of the LUT Descriptor: the input value mapped to `data[0]`
    /// (signed when the input is).
    pub first_mapped: i32,
    /// Third value of the LUT Descriptor: bits per entry (8 to 16).
    pub bits: u8,
    /// LUT Data; inputs below `first_mapped` map to the first entry, above the last
    /// to the last.
    pub data: Vec<u16>,
}

/// Modality LUT module, PS3.3 C.11.1: the linear rescale, or a table.
#[derive(Debug, Clone, PartialEq)]
pub enum ModalityLut {
    Rescale { slope: f64, intercept: f64 },
    Table(Lut),
}

impl ModalityLut {
    /// No rescale: output = stored value.
    pub const IDENTITY: ModalityLut = ModalityLut::Rescale {
        slope: 1.0,
        intercept: 0.0,
    };
}

/// A Window Center (0028,1050) and Width (0028,1051) pair, in Modality LUT output units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub center: f64,
    pub width: f64,
}

impl Window {
    /// Parses the `--window C,W` argument, e.g. `40,400`.
    pub fn parse_arg(s: &str) -> Result<Window, String> {
        let (c, w) = s
            .split_once(',')
            .ok_or_else(|| format!("{s:?}: use CENTER,WIDTH, e.g. 40,400"))?;
        let center: f64 = c.trim().parse().map_err(|_| format!("center {c:?}"))?;
        let width: f64 = w.trim().parse().map_err(|_| format!("width {w:?}"))?;
        if !center.is_finite() || !width.is_finite() || width <= 0.0 {
            return Err(format!("{s:?}: the width must be above 0"));
        }
        Ok(Window { center, width })
    }
}

/// VOI LUT Function (0028,1056), PS3.3 C.11.2.1.3; LINEAR when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoiFunction {
    #[default]
    Linear,
    LinearExact,
    Sigmoid,
}

/// Red, Green and Blue Palette Color Lookup Tables, PS3.3 C.7.6.3.1.5.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    pub red: Lut,
    pub green: Lut,
    pub blue: Lut,
}

/// What the pipeline needs of an image's data set: the Image Pixel module (PS3.3
/// C.7.6.3), the Modality LUT and VOI LUT modules (C.11.1, C.11.2) and the geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageAttributes {
    pub rows: u32,
    pub columns: u32,
    pub samples_per_pixel: u16,
    pub photometric: StoredPhotometric,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub high_bit: u16,
    /// Pixel Representation (0028,0103) 1: two's complement.
    pub signed: bool,
    /// Planar Configuration (0028,0006): 0 interleaved, 1 plane after plane.
    pub planar_configuration: u16,
    /// Number of Frames (0028,0008), 1 when absent.
    pub frames: u32,
    pub modality_lut: ModalityLut,
    /// The windows in file order, with their explanations ("" when none).
    pub windows: Vec<(Window, String)>,
    pub voi_function: VoiFunction,
    /// VOI LUT Sequence (0028,3010) items, in file order.
    pub voi_luts: Vec<Lut>,
    pub palette: Option<Palette>,
    /// Pixel Aspect Ratio (0028,0034): vertical, horizontal.
    pub pixel_aspect_ratio: Option<(u32, u32)>,
    /// Pixel Spacing (0028,0030) or Imager Pixel Spacing (0018,1164): row spacing
    /// (vertical), column spacing (horizontal), in mm.
    pub pixel_spacing: Option<(f64, f64)>,
}

/// One decoded frame: the stored values as its Pixel Data holds them, unpacked (bits
/// allocated, byte order, the bits above High Bit removed, the sign extended from Bits
/// Stored when signed), in pixel data order: interleaved, or plane after plane when
/// `planar_configuration` is 1; YBR_FULL_422 as two Y, Cb, Cr per two pixels when the
/// decoder left it so. A decoder that changed the colour space or the layout (a JPEG
/// decoder turning YBR into RGB) says so here, not in [`ImageAttributes`].
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFrame {
    pub values: Vec<i32>,
    pub photometric: StoredPhotometric,
    pub planar_configuration: u16,
}

/// How the pipeline chooses among an image's frames and windows: the same options for
/// `filmd render` and `filmd print`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ImageOptions {
    /// Frame to use (from 1) of multi-frame files; every frame, a box each, when absent.
    #[arg(long)]
    pub frame: Option<u32>,
    /// Window Center,Width in the image's units (after the Modality LUT), e.g. 40,400:
    /// replaces the file's windows.
    #[arg(long, value_parser = Window::parse_arg, allow_hyphen_values = true)]
    pub window: Option<Window>,
    /// Which of the file's windows or VOI LUTs to use, from 1 (default: the first).
    #[arg(long = "voi", conflicts_with = "window")]
    pub voi_index: Option<usize>,
}

/// Largest DICOM file `load_file` opens: dicom-object reads a whole file into memory.
pub const MAX_FILE_BYTES: u64 = 2 << 30;

/// Reads a DICOM file and returns its print-ready images: one per frame chosen by
/// `options`, in frame order. Frames are decoded one at a time; the file is bounded
/// ([`MAX_FILE_BYTES`]) before it is read.
pub fn load_file(
    path: &Path,
    options: &ImageOptions,
) -> Result<Vec<crate::film::Image>, ModalityError> {
    load_file_within(path, options, &mut ImageBudget::default())
}

/// Most bytes of print-ready images one `render` or `print` holds: 1 GiB, e.g. 128
/// frames of 2048² at 12 bits. A few-MB RLE file can declare thousands of large frames;
/// each is checked against what is left before it is decoded.
pub const MAX_IMAGE_BYTES: u64 = 1 << 30;

/// What is left of [`MAX_IMAGE_BYTES`] for the files of one command.
#[derive(Debug, Clone, Copy)]
pub struct ImageBudget(u64);

impl Default for ImageBudget {
    fn default() -> Self {
        ImageBudget(MAX_IMAGE_BYTES)
    }
}

impl ImageBudget {
    /// A budget of `bytes` (tests; the commands use [`MAX_IMAGE_BYTES`]).
    pub fn with_bytes(bytes: u64) -> Self {
        ImageBudget(bytes)
    }
}

/// [`load_file`], taking each frame's print-ready bytes (rows × columns × 2 for gray,
/// × 3 for colour) from `budget` before decoding it, so that the files of one command
/// share one bound.
pub fn load_file_within(
    path: &Path,
    options: &ImageOptions,
    budget: &mut ImageBudget,
) -> Result<Vec<crate::film::Image>, ModalityError> {
    let obj = open(path)?;
    let attrs = attributes::read_attributes(&obj)?;
    let frames = match options.frame {
        None => 0..attrs.frames,
        Some(n) if (1..=attrs.frames).contains(&n) => n - 1..n,
        Some(n) => {
            return Err(ModalityError::Options(format!(
                "--frame {n}: the file has {} frame{} (choose 1 to {})",
                attrs.frames,
                if attrs.frames == 1 { "" } else { "s" },
                attrs.frames
            )));
        }
    };
    let frame_bytes = u64::from(attrs.rows)
        * u64::from(attrs.columns)
        * if attrs.samples_per_pixel == 1 { 2 } else { 3 };
    frames
        .map(|index| {
            budget.0 = budget.0.checked_sub(frame_bytes).ok_or_else(|| {
                ModalityError::Options(format!(
                    "frame {}: the images would pass {} MiB, the most one command prints; choose frames with --frame",
                    index + 1,
                    MAX_IMAGE_BYTES >> 20
                ))
            })?;
            let frame = decode::decode_frame(&obj, &attrs, index)?;
            pipeline::to_print_ready(&attrs, &frame, options)
        })
        .collect()
}

/// Opens `path` as a DICOM file (PS3.10), bounded by [`MAX_FILE_BYTES`]. A file whose
/// data set dicom-object cannot read because of its transfer syntax (deflated, or one
/// it does not know) is an [`ModalityError::UnsupportedTransferSyntax`].
fn open(path: &Path) -> Result<dicom_object::DefaultDicomObject, ModalityError> {
    let size = std::fs::metadata(path)
        .map_err(|e| ModalityError::Read(e.to_string()))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(ModalityError::Read(format!(
            "{size} bytes: filmd reads DICOM files up to {MAX_FILE_BYTES} bytes (2 GiB)"
        )));
    }
    dicom_object::open_file(path).map_err(|e| match meta_transfer_syntax(path) {
        Some(uid) if !readable_syntax(&uid) => decode::unsupported_syntax(&uid),
        _ => ModalityError::Read(e.to_string()),
    })
}

/// The Transfer Syntax UID of a file's meta group, when the meta group can be read.
fn meta_transfer_syntax(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut file = std::io::BufReader::new(std::fs::File::open(path).ok()?);
    let mut preamble = [0u8; 128];
    file.read_exact(&mut preamble).ok()?;
    let meta = dicom_object::meta::FileMetaTable::from_reader(file).ok()?;
    Some(meta.transfer_syntax().to_string())
}

/// Whether dicom-object can read a data set in transfer syntax `uid`.
fn readable_syntax(uid: &str) -> bool {
    use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
    dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(uid)
        .is_some_and(|ts| !ts.is_unsupported())
}
