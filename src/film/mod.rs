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
