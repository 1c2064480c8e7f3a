//! The PACS output: every printed film stored in a PACS (PS3.4 Annex B, C-STORE as
//! Storage SCU), optionally committed (PS3.4 Annex J), under a patient identity found in
//! the film's texts or the Modality Worklist (PS3.4 Annex K).
//!
//! - [`instance`]: the DICOM instances a job becomes (Secondary Capture images or one
//!   Encapsulated PDF) and their UIDs, derived from the job.
//! - [`identity`]: the identity rules (regular expressions over the film's texts) and the
//!   worklist query and its answer.

pub mod identity;
pub mod instance;
