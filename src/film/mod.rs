//! Film model and composition: pure functions over plain data, no I/O.

pub mod annotation;
pub mod bands;
pub mod compose;
pub mod custom;
pub mod density;
pub mod layout;
pub mod model;
pub mod placement;
pub mod preview;
pub mod resample;
pub mod size;
pub mod text;

pub use annotation::{Annotation, AnnotationFormats};
pub use layout::{DisplayFormat, FormatKind, PrintableArea};
pub use model::*;
pub use size::{FilmSize, Orientation, PageGeometry};

/// Films for the tests of other layers.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::model::{AreaDensity, Medium, Photometric, Pixels, PresentationLut};
    use super::{DisplayFormat, Film, FilmSize, Image, ImageBox, Magnification, Orientation};

    /// An 8×10 in film, one image box holding a uniform 8-bit image of `value`
    /// (MONOCHROME2), white border, densities 0–3.00 OD: 0 prints black (0), 255 white.
    pub(crate) fn film(value: u8) -> Film {
        Film {
            display_format: DisplayFormat::Standard {
                columns: 1,
                rows: 1,
            },
            size: FilmSize::from_id("8INX10IN").unwrap(),
            orientation: Orientation::Portrait,
            magnification: Magnification::Replicate,
            border_density: AreaDensity::White,
            empty_image_density: AreaDensity::White,
            min_density: 0,
            max_density: 300,
            trim: false,
            medium: Medium::Paper,
            illumination: 2000,
            reflected_ambient_light: 10,
            presentation_lut: PresentationLut::Identity,
            color: false,
            image_boxes: vec![ImageBox {
                image: Some(Image {
                    rows: 10,
                    columns: 8,
                    photometric: Photometric::Monochrome2,
                    bits_stored: 8,
                    pixel_aspect_ratio: (1, 1),
                    pixels: Pixels::new(vec![value; 80]),
                }),
                ..ImageBox::empty(1)
            }],
            annotations: vec![],
        }
    }
}
