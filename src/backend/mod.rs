//! Encoders and protocol clients the outputs use. A backend module knows composed
//! [`Page`](crate::film::Page)s and one format or protocol, and nothing of DICOM or the
//! spool: the PDF metadata it writes is plain text the caller fills in.
//!
//! - [`pdf`]: one PDF/A-2b page per film, the composed raster as a Flate-compressed image.
//! - [`pdfa`]: the PDF/A-2b metadata: XMP packet, Info values, identifiers, dates.
//! - [`deflate`]: PNG-filtered rows deflated in strips into one zlib stream, for the page
//!   images of PDF and PNG documents.
//! - [`icc`]: the sRGB and gray ICC profiles the PDF/A output intent and images name.
//! - [`png`]: one PNG file per film, lossless, with its resolution.
//! - [`pwg`]: PWG Raster (PWG 5102.4), the format every IPP Everywhere printer accepts.
//! - [`media`]: PWG media names (PWG 5101.1), choosing a printer's media for a film and
//!   fitting the film onto it.
//! - [`ipp`]: an IPP client for one printer: attributes, format choice, Print-Job, job
//!   status, retry classification.
//! - [`dimse`]: a DICOM client of a PACS: C-STORE, worklist C-FIND, Storage Commitment.

pub mod deflate;
pub mod dimse;
pub mod icc;
pub mod ipp;
pub mod media;
pub mod pdf;
pub mod pdfa;
pub mod png;
pub mod pwg;
