//! What the spool and a queue's PACS output say to each other ([`super::QueueOutputs`]'s
//! `identify` and `store`, [`super::Spool::commitment_report`]): a job's identity, its
//! state at a destination (PS3.4 B.2 C-STORE, J.3 Storage Commitment) and the outcomes.

use super::PrintJob;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A job's patient and study identity for a PACS: DICOM keywords (`PatientID`,
/// `PatientName`, `AccessionNumber`, `StudyInstanceUID`, …) and their values. Print
/// Management carries no patient data (PS3.4 Annex H), so it is found in the film's texts,
/// the worklist, or given by an operator (`filmd assign`); kept in the job's row as JSON.
pub type Identity = BTreeMap<String, String>;

/// What a queue's outputs found of a job's identity ([`super::QueueOutputs::identify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identification {
    /// Store the job's instances under this identity (perhaps partial, when the queue
    /// sends unmatched jobs as they are).
    Found(Identity),
    /// Nothing matched and the queue holds such jobs for an operator; says what was tried.
    Hold(String),
}

/// How far one job got at one PACS destination (PS3.4 B.2 C-STORE, J.3 Storage
/// Commitment). A destination is done when `Committed`, or `Stored` when its queue asks
/// for no commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DestinationState {
    /// Not every instance is stored yet (or the PACS reported some as not committed: they
    /// are sent again).
    Pending,
    /// Every instance stored; with commitment asked for, waiting for the PACS's report
    /// (under `transaction_uid`).
    Stored,
    /// The PACS committed every instance.
    Committed,
    /// Will not get better (the PACS refused the SOP class, say): the job fails.
    Failed,
}

/// What the spool asks of an output for one job at one destination.
#[derive(Debug, Clone)]
pub struct StoreRequest {
    pub job: Arc<PrintJob>,
    /// The destination, as [`super::QueueOutputs::destinations`] named it.
    pub destination: String,
    pub identity: Identity,
    /// The destination's state as recorded: `Pending` sends every instance (again: the
    /// instances' UIDs are derived from the job, so a PACS keeps one copy), `Stored`
    /// asks for commitment again (the report never came, or filmd restarted meanwhile).
    pub state: DestinationState,
    /// Which attempt at this destination this is, from 1: for a fresh Transaction UID.
    pub attempt: u32,
}

/// What became of a [`StoreRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOutcome {
    /// Every instance stored; the queue asks for no commitment: the destination is done.
    Stored,
    /// Every instance stored and Storage Commitment asked for under this Transaction UID;
    /// the report comes later through [`super::Spool::commitment_report`].
    CommitRequested { transaction_uid: String },
    /// Stored, and the PACS reported every instance committed on the same association.
    Committed,
    /// The PACS reported, on the same association, instances it did not commit (PS3.4
    /// J.3.3, Event Type 2); says which and why. Recorded as such a report coming later
    /// is: the destination is `pending` again and every instance is sent again after the
    /// backoff, under a fresh transaction.
    NotCommitted(String),
}

/// A Storage Commitment result (PS3.4 J.3.3, N-EVENT-REPORT Event Type 1 or 2) for one
/// transaction, however it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentResult {
    pub transaction_uid: String,
    /// SOP Instance UIDs the PACS committed.
    pub committed: Vec<String>,
    /// SOP Instance UIDs it did not, each with its Failure Reason (0008,1197).
    pub failed: Vec<(String, u16)>,
}
