//! Film model and composition: pure functions over plain data, no I/O.

pub mod compose;
pub mod density;
pub mod layout;
pub mod model;
pub mod preview;
pub mod resample;
pub mod size;

pub use layout::DisplayFormat;
pub use model::*;
pub use size::{FilmSize, Orientation, PageGeometry};
