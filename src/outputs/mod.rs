//! The outputs: where a composed job goes. Each queue's outputs plug into the spool through
//! [`QueueOutputs`](crate::spool::QueueOutputs); the spool makes jobs durable and drives
//! them, an output knows one destination.
//!
//! - [`archive`]: the PDF/A archive, one PDF per job in the queue's `pdf_dir` under its
//!   file-name template, with small PNG previews.
//! - [`ipp`]: an IPP printer: document building for the printer as it is at submission,
//!   the printer adapter (submit, poll, find a job by name) and the IPP-to-DICOM status
//!   tables.
//! - [`timed`]: a stopwatch around any queue's outputs, for the duration metrics.
//! - [`board`]: the live Printer Status of every queue, written by the printer pollers
//!   and read by the Printer SOP class.

pub mod archive;
pub mod board;
pub mod ipp;
pub mod pacs;
pub mod timed;
