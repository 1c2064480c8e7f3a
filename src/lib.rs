//! filmd: a DICOM Print SCP and film spooler.
//!
//! The modules follow a film from the socket to paper:
//! [`net`] (associations, DIMSE) → [`print`] (Print Management service, PS3.4 Annex H)
//! → [`film`] (film model and composition, pure) → [`spool`] (durable jobs)
//! → [`backend`] (delivery: PDF). [`scu`] is the other side of the wire: filmd's own
//! Print SCU, used by the load generator and the tests.

pub mod admin;
pub mod annotation_files;
pub mod backend;
pub mod config;
pub mod conformance;
pub mod film;
pub mod net;
pub mod print;
pub mod render;
pub mod scu;
pub mod spool;
