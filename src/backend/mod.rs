//! Delivery: each backend module knows one output and nothing of DICOM or the spool.
//! A backend takes composed [`Page`](crate::film::Page)s and turns them into what its
//! printer or file speaks.
//!
//! - [`pdf`]: one PDF page per film, the composed raster as a Flate-compressed image.

pub mod pdf;
pub mod png;
