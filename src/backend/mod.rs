//! Delivery: each backend module knows one output and nothing of DICOM or the spool.
//! A backend takes composed [`Page`](crate::film::Page)s and turns them into what its
//! printer or file speaks.
//!
//! - [`pdf`]: one PDF page per film, the composed raster as a Flate-compressed image.
//! - [`ipp`]: an IPP client for one printer: attributes, format choice, Print-Job, job
//!   status, retry classification.

pub mod ipp;
pub mod pdf;
pub mod png;
