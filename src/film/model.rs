//! The film model: plain data copied out of the print service at N-ACTION time and handed
//! to composition. Nothing here knows about DICOM encodings or sockets.

use super::annotation::Annotation;
use super::layout::DisplayFormat;
use super::size::{FilmSize, Orientation};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;

/// Pixel bytes shared between the live image box and queued copies of it: a print job is
/// a copy of the hierarchy (PS3.4 H.4.1.2.4), but copying pixel data would double memory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pixels(pub Arc<Vec<u8>>);

impl Pixels {
    pub fn new(bytes: Vec<u8>) -> Self {
        Pixels(Arc::new(bytes))
    }
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for Pixels {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Pixels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let buf = serde_bytes::ByteBuf::deserialize(d)?;
        Ok(Pixels::new(buf.into_vec()))
    }
}

/// Photometric Interpretation of a print image (PS3.3 C.13.5, C.13.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Photometric {
    /// Lowest value is brightest (prints lightest).
    Monochrome1,
    /// Lowest value is darkest.
    Monochrome2,
    /// Three samples, stored here always interleaved R,G,B.
    Rgb,
}

/// An image as received in an image box, validated and normalised:
/// 8-bit samples are one byte each; 12-bit samples are little-endian u16 with values
/// masked to Bits Stored; RGB is interleaved whatever Planar Configuration it came with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub rows: u32,
    pub columns: u32,
    pub photometric: Photometric,
    /// 8 or 12 (in 16 allocated bits).
    pub bits_stored: u8,
    /// Pixel Aspect Ratio (0028,0034): vertical / horizontal size of a pixel.
    pub pixel_aspect_ratio: (u32, u32),
    pub pixels: Pixels,
}

impl Image {
    /// Largest value a sample can take.
    pub fn max_value(&self) -> u16 {
        ((1u32 << self.bits_stored) - 1) as u16
    }
}

/// Magnification Type (2010,0060).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Magnification {
    Replicate,
    Bilinear,
    Cubic,
    None,
}

impl Magnification {
    pub fn from_term(term: &str) -> Option<Self> {
        match term {
            "REPLICATE" => Some(Self::Replicate),
            "BILINEAR" => Some(Self::Bilinear),
            "CUBIC" => Some(Self::Cubic),
            "NONE" => Some(Self::None),
            _ => None,
        }
    }
    pub fn term(self) -> &'static str {
        match self {
            Self::Replicate => "REPLICATE",
            Self::Bilinear => "BILINEAR",
            Self::Cubic => "CUBIC",
            Self::None => "NONE",
        }
    }
}

/// Smoothing Type (2010,0080): SCP-defined terms choosing the CUBIC kernel (PS3.3 C.13.3:
/// "only valid for Magnification Type CUBIC"). filmd's cubic kernels are the
/// Mitchell–Netravali family k(B, C), listed in the conformance statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Smoothing {
    /// Catmull-Rom (B = 0, C = 0.5, i.e. Keys a = −0.5): interpolating, crisp edges with a
    /// slight overshoot. The default.
    #[default]
    Sharp,
    /// Mitchell–Netravali (B = C = 1/3): the usual compromise between blur and ringing.
    Medium,
    /// Cubic B-spline (B = 1, C = 0): no overshoot, visibly soft.
    Smooth,
}

impl Smoothing {
    /// Every term filmd defines, for the conformance statement.
    pub const ALL: [Smoothing; 3] = [Smoothing::Sharp, Smoothing::Medium, Smoothing::Smooth];

    pub fn from_term(term: &str) -> Option<Self> {
        match term {
            "SHARP" => Some(Self::Sharp),
            "MEDIUM" => Some(Self::Medium),
            "SMOOTH" => Some(Self::Smooth),
            _ => None,
        }
    }
    pub fn term(self) -> &'static str {
        match self {
            Self::Sharp => "SHARP",
            Self::Medium => "MEDIUM",
            Self::Smooth => "SMOOTH",
        }
    }
}

/// Requested Decimate/Crop Behavior (2020,0040, PS3.3 C.13.5): what to do with an image
/// whose rows or columns exceed the printable pixels available to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DecimateCrop {
    /// "A magnification factor < 1 to be applied to the image", by the Magnification Type.
    Decimate,
    /// "Some image rows and/or columns are to be deleted before printing": filmd keeps the
    /// centre of the image and removes rows and columns evenly from both sides.
    Crop,
    /// "The SCP shall not crop or decimate": the image is refused (C603).
    Fail,
}

impl DecimateCrop {
    pub fn from_term(term: &str) -> Option<Self> {
        match term {
            "DECIMATE" => Some(Self::Decimate),
            "CROP" => Some(Self::Crop),
            "FAIL" => Some(Self::Fail),
            _ => None,
        }
    }
    pub fn term(self) -> &'static str {
        match self {
            Self::Decimate => "DECIMATE",
            Self::Crop => "CROP",
            Self::Fail => "FAIL",
        }
    }
}

/// Polarity (2020,0020).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Polarity {
    #[default]
    Normal,
    Reverse,
}

/// Border Density / Empty Image Density (2010,0100), (2010,0110): BLACK, WHITE or an
/// optical density in hundredths of OD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AreaDensity {
    Black,
    White,
    Hundredths(u16),
}

impl AreaDensity {
    pub fn parse(term: &str) -> Option<Self> {
        match term {
            "BLACK" => Some(Self::Black),
            "WHITE" => Some(Self::White),
            t => t.parse::<u16>().ok().map(Self::Hundredths),
        }
    }
    pub fn term(self) -> String {
        match self {
            Self::Black => "BLACK".into(),
            Self::White => "WHITE".into(),
            Self::Hundredths(h) => h.to_string(),
        }
    }
}

/// Presentation LUT (PS3.4 H.4.9, PS3.3 C.11.4): maps image values to P-values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PresentationLut {
    /// P-values are the image values.
    Identity,
    /// The image values are linear in optical density between Min and Max Density.
    LinOd,
    /// An explicit table. `first_mapped` is the first input value mapped (0 for print);
    /// `bits` the number of bits of each output entry (10 to 16).
    Table {
        first_mapped: u16,
        bits: u8,
        entries: Vec<u16>,
    },
}

/// Medium Type (2000,0030): transmissive film or reflective paper (PS3.14 7.2, 7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Medium {
    Paper,
    ClearFilm,
    BlueFilm,
    MammoClearFilm,
    MammoBlueFilm,
}

impl Medium {
    pub fn from_term(term: &str) -> Option<Self> {
        match term {
            "PAPER" => Some(Self::Paper),
            "CLEAR FILM" => Some(Self::ClearFilm),
            "BLUE FILM" => Some(Self::BlueFilm),
            "MAMMO CLEAR FILM" => Some(Self::MammoClearFilm),
            "MAMMO BLUE FILM" => Some(Self::MammoBlueFilm),
            _ => None,
        }
    }
    pub fn term(self) -> &'static str {
        match self {
            Self::Paper => "PAPER",
            Self::ClearFilm => "CLEAR FILM",
            Self::BlueFilm => "BLUE FILM",
            Self::MammoClearFilm => "MAMMO CLEAR FILM",
            Self::MammoBlueFilm => "MAMMO BLUE FILM",
        }
    }
    /// Film is viewed by transmitted light; paper by reflected light.
    pub fn is_transmissive(self) -> bool {
        !matches!(self, Self::Paper)
    }
}

/// One image box of a film, as it will be composed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageBox {
    /// Image Box Position (2020,0010), 1-based.
    pub position: u32,
    pub image: Option<Image>,
    pub polarity: Polarity,
    /// Overrides the film box's Magnification Type when present.
    pub magnification: Option<Magnification>,
    /// Overrides the film box's Min/Max Density when present (grayscale image boxes).
    pub min_density: Option<u16>,
    pub max_density: Option<u16>,
    /// Overrides the film box's Presentation LUT when present.
    pub presentation_lut: Option<PresentationLut>,
    /// The CUBIC kernel: the image box's Smoothing Type, else the film box's, resolved when
    /// the film is copied for printing; `None` prints with [`Smoothing::Sharp`].
    pub smoothing: Option<Smoothing>,
    /// Requested Image Size (2020,0030): the width of the printed image in millimetres.
    pub requested_image_size_mm: Option<f64>,
    /// Requested Decimate/Crop Behavior (2020,0040); `None` when the SCU sent none.
    pub decimate_crop: Option<DecimateCrop>,
}

impl ImageBox {
    pub fn empty(position: u32) -> Self {
        ImageBox {
            position,
            image: None,
            polarity: Polarity::Normal,
            magnification: None,
            min_density: None,
            max_density: None,
            presentation_lut: None,
            smoothing: None,
            requested_image_size_mm: None,
            decimate_crop: None,
        }
    }
}

/// One film: a film box with its image and annotation boxes, every default resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Film {
    pub display_format: DisplayFormat,
    #[serde(with = "film_size_serde")]
    pub size: FilmSize,
    pub orientation: Orientation,
    pub magnification: Magnification,
    pub border_density: AreaDensity,
    pub empty_image_density: AreaDensity,
    /// Hundredths of OD.
    pub min_density: u16,
    /// Hundredths of OD.
    pub max_density: u16,
    pub trim: bool,
    pub medium: Medium,
    /// cd/m², PS3.14 L0.
    pub illumination: u16,
    /// cd/m², PS3.14 La.
    pub reflected_ambient_light: u16,
    pub presentation_lut: PresentationLut,
    /// True when the film came from the Basic Color Print Management Meta SOP class.
    pub color: bool,
    /// Image boxes in position order.
    pub image_boxes: Vec<ImageBox>,
    /// The annotation boxes of the film's Annotation Display Format, each with its text and
    /// its placement; empty when the film box has no format (no bands are reserved).
    pub annotations: Vec<Annotation>,
}

mod film_size_serde {
    use super::FilmSize;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    pub fn serialize<S: Serializer>(s: &FilmSize, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.id)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FilmSize, D::Error> {
        let id = String::deserialize(d)?;
        FilmSize::from_id(&id).ok_or_else(|| D::Error::custom(format!("unknown film size {id}")))
    }
}

/// The output device a film is composed for: its resolution, its density range and
/// whether it prints colour (PS3.14: the printer's own characteristic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub dpi: u32,
    /// Lowest density the device produces (paper white / clear base), hundredths of OD.
    pub min_density: u16,
    /// Highest density the device produces, hundredths of OD.
    pub max_density: u16,
    /// Margin around the printable area, in millimetres.
    pub margin_mm: f64,
    /// Gap between image boxes, in millimetres.
    pub gap_mm: f64,
    /// The device prints gray only: colour films are converted to their luminance
    /// (a queue configured with `color_films = "convert"`).
    pub gray_only: bool,
    /// The device's characteristic curve (PS3.14 7: the printer's own density response):
    /// points (density in OD, drive value 0..=255 with 0 = darkest), densities
    /// increasing and drive values never increasing, interpolated linearly. Empty means
    /// the stated default of [`super::density`] (sRGB-encoded relative reflectance).
    pub curve: Vec<[f64; 2]>,
}

impl Default for Device {
    /// A 300 dpi paper/PDF device from 0.00 to 3.00 OD with the default characteristic.
    fn default() -> Self {
        Device {
            dpi: 300,
            min_density: 0,
            max_density: 300,
            margin_mm: 0.0,
            gap_mm: 0.0,
            gray_only: false,
            curve: Vec::new(),
        }
    }
}

/// A composed page: device pixels, top row first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub width_px: u32,
    pub height_px: u32,
    pub width_pt: f64,
    pub height_pt: f64,
    pub dpi: u32,
    /// 1 (gray, 0 = black) or 3 (RGB).
    pub channels: u8,
    pub pixels: Vec<u8>,
}

impl Page {
    /// The page's size, resolution and colour.
    pub fn shape(&self) -> PageShape {
        PageShape {
            width_px: self.width_px,
            height_px: self.height_px,
            width_pt: self.width_pt,
            height_pt: self.height_pt,
            dpi: self.dpi,
            channels: self.channels,
        }
    }
}

/// A page's size, resolution and colour without its pixels: what an encoder needs to
/// describe a page that was handed to it strip by strip and never held whole
/// ([`compose_streamed`](super::compose::compose_streamed)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageShape {
    pub width_px: u32,
    pub height_px: u32,
    pub width_pt: f64,
    pub height_pt: f64,
    pub dpi: u32,
    /// 1 (gray) or 3 (RGB).
    pub channels: u8,
}

impl PageShape {
    /// The page of this shape holding `pixels`.
    pub fn with_pixels(self, pixels: Vec<u8>) -> Page {
        Page {
            width_px: self.width_px,
            height_px: self.height_px,
            width_pt: self.width_pt,
            height_pt: self.height_pt,
            dpi: self.dpi,
            channels: self.channels,
            pixels,
        }
    }

    /// Bytes of one row of pixels.
    pub fn row_bytes(&self) -> usize {
        self.width_px as usize * usize::from(self.channels)
    }
}
