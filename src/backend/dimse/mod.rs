//! filmd as a DIMSE client of a PACS: Storage SCU (C-STORE, PS3.4 B.2), Modality Worklist
//! SCU (C-FIND, PS3.4 K.4) and Storage Commitment SCU (N-ACTION and the N-EVENT-REPORT
//! on the same association, PS3.4 J.3), one [`Session`] per association.
//!
//! Blocking, built on [`crate::scu::Scu`]: callers run it in `spawn_blocking`. Every
//! failure is a [`ClientError`] that says whether trying again later may help.

pub mod commitment;
pub mod destination;
pub mod status;

pub use commitment::{
    STORAGE_COMMITMENT_INSTANCE, STORAGE_COMMITMENT_PUSH_MODEL, commitment_request,
    commitment_result, failed_instances,
};
pub use destination::{Destination, DestinationError};

use crate::net::dimse::{Command, command_field as cf};
use crate::scu::{Flow, Scu, ScuError, ScuOptions, ScuTls};
use crate::spool::CommitmentResult;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use std::time::{Duration, Instant};

/// Modality Worklist Information Model – FIND SOP Class (PS3.4 K.6.1.2).
pub const MODALITY_WORKLIST_FIND: &str = "1.2.840.10008.5.1.4.31";
/// Priority (0000,0700) MEDIUM (PS3.7 9.3.1.1): filmd's requests are routine.
const PRIORITY_MEDIUM: u16 = 0;
/// Bound on one received command or data set: responses, worklist identifiers and
/// commitment reports are small; a peer that sends more is broken.
const MAX_RECEIVED: usize = 4 << 20;
/// Bound on the N-EVENT-REPORTs received and not yet read by
/// [`Session::wait_commitment`]: a PACS sends one report per request, one that sends
/// more than this is broken and the association is aborted.
pub const MAX_UNREAD_EVENTS: usize = 64;

/// How filmd associates with a peer (PS3.8 7.1.1).
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// filmd's AE title on the association.
    pub calling_ae: String,
    /// DICOM TLS (PS3.15 B.9); `None` is plain TCP.
    pub tls: Option<ScuTls>,
    /// Bound on the TCP connect, the TLS handshake and the A-ASSOCIATE exchange.
    pub connect_timeout: Duration,
    /// Bound on the wait for each response and on each write.
    pub dimse_timeout: Duration,
    /// Maximum PDU length filmd receives (PS3.8 D.1).
    pub max_pdu: u32,
}

impl ClientOptions {
    /// Plain TCP, 30 s timeouts, 64 KiB PDUs.
    pub fn new(calling_ae: impl Into<String>) -> Self {
        ClientOptions {
            calling_ae: calling_ae.into(),
            tls: None,
            connect_timeout: Duration::from_secs(30),
            dimse_timeout: Duration::from_secs(30),
            max_pdu: 65536,
        }
    }
}

/// Why a request to a peer failed. [`ClientError::is_retryable`] tells the spool whether
/// to try again later or to give up on the destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No association: connection refused or unreachable, DNS, TLS handshake.
    #[error("cannot associate: {0}")]
    Connect(String),
    /// A-ASSOCIATE-RJ (PS3.8 9.3.4), result rejected-permanent or rejected-transient.
    #[error("association rejected ({}): {why}", if *permanent { "permanent" } else { "transient" })]
    Rejected { permanent: bool, why: String },
    /// The peer accepted no presentation context for this abstract syntax.
    #[error("the peer does not accept {0}")]
    NotAccepted(String),
    /// A failure status (PS3.7 C.1.4).
    #[error("{operation}: status 0x{status:04X} ({meaning}){}", comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default())]
    Status {
        operation: &'static str,
        status: u16,
        meaning: &'static str,
        comment: Option<String>,
    },
    /// No answer within the DIMSE timeout.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The connection broke, or the peer aborted or released the association.
    #[error("association lost: {0}")]
    Lost(String),
    /// The peer's messages break PS3.7 (or its report PS3.4 J.3.3).
    #[error("protocol: {0}")]
    Protocol(String),
    /// filmd's own data set cannot be sent (no SOP Class UID, not encodable).
    #[error("data set: {0}")]
    DataSet(String),
}

impl ClientError {
    /// Whether the same request may succeed later: connection trouble, transient
    /// rejections, timeouts, aborts and the statuses of [`status::is_retryable_status`]
    /// (out of resources). A permanent rejection (an AE title the peer does not know), a
    /// SOP class it does not accept, a data set it cannot understand or that does not
    /// match its SOP class repeat themselves.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Connect(_)
            | ClientError::Timeout(_)
            | ClientError::Lost(_)
            | ClientError::Protocol(_) => true,
            ClientError::Rejected { permanent, .. } => !permanent,
            ClientError::Status { status, .. } => status::is_retryable_status(*status),
            ClientError::NotAccepted(_) | ClientError::DataSet(_) => false,
        }
    }

    fn status(operation: &'static str, status: u16, comment: Option<String>) -> ClientError {
        let meaning = match operation {
            "C-STORE" => status::store_status_meaning(status),
            "C-FIND" => status::find_status_meaning(status),
            _ => "Failure",
        };
        ClientError::Status {
            operation,
            status,
            meaning,
            comment,
        }
    }
}

impl From<ScuError> for ClientError {
    fn from(e: ScuError) -> Self {
        match e {
            ScuError::Associate(why) => ClientError::Connect(why),
            ScuError::Rejected { permanent, why } => ClientError::Rejected { permanent, why },
            ScuError::NoContext(a) => ClientError::NotAccepted(a),
            ScuError::Timeout(why) => ClientError::Timeout(why),
            ScuError::Closed => ClientError::Lost("no open association".into()),
            ScuError::Send(why) | ScuError::Receive(why) | ScuError::PeerClosed(why) => {
                ClientError::Lost(why)
            }
            ScuError::Protocol(why) => ClientError::Protocol(why),
            ScuError::Encode(why) => ClientError::DataSet(why),
            ScuError::Status {
                status, comment, ..
            } => ClientError::status("request", status, comment),
        }
    }
}

/// A C-STORE that stored the instance: success or a warning (PS3.4 B.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatus {
    pub status: u16,
    /// The Error Comment (0000,0902) a warning may carry.
    pub comment: Option<String>,
}

impl StoreStatus {
    pub fn is_warning(&self) -> bool {
        self.status != status::SUCCESS
    }

    /// The standard's wording of the status.
    pub fn meaning(&self) -> &'static str {
        status::store_status_meaning(self.status)
    }
}

/// A UI value of a data set without its padding.
fn uid(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    let v = obj.element(tag).ok()?.to_str().ok()?;
    let v = v.trim_matches(['\0', ' ']);
    (!v.is_empty()).then(|| v.to_string())
}

/// One association with a peer.
pub struct Session {
    /// `None` once released or aborted. Its [`Scu::events`] are the N-EVENT-REPORTs
    /// not yet read by [`Session::wait_commitment`] (at most [`MAX_UNREAD_EVENTS`]).
    scu: Option<Scu>,
}

impl Session {
    /// Associates with `dest`, proposing each of `abstract_syntaxes` (and Verification)
    /// with Explicit and Implicit VR Little Endian.
    pub fn open(
        dest: &Destination,
        opts: &ClientOptions,
        abstract_syntaxes: &[&str],
    ) -> Result<Session, ClientError> {
        let options = ScuOptions {
            calling_ae: opts.calling_ae.clone(),
            called_ae: dest.ae_title.clone(),
            abstract_syntaxes: abstract_syntaxes.iter().map(|s| s.to_string()).collect(),
            max_pdu: opts.max_pdu,
            connect_timeout: opts.connect_timeout,
            dimse_timeout: opts.dimse_timeout,
            tls: opts.tls.clone(),
        };
        let mut scu = Scu::connect((dest.host.as_str(), dest.port), &options)?;
        scu.set_max_message(MAX_RECEIVED);
        scu.set_max_events(MAX_UNREAD_EVENTS);
        Ok(Session { scu: Some(scu) })
    }

    fn scu(&mut self) -> Result<&mut Scu, ClientError> {
        self.scu
            .as_mut()
            .ok_or_else(|| ClientError::Lost("no open association".into()))
    }

    /// Whether the peer accepted a presentation context for `abstract_syntax`.
    pub fn accepted(&self, abstract_syntax: &str) -> bool {
        self.scu
            .as_ref()
            .is_some_and(|s| s.context(abstract_syntax).is_some())
    }

    /// Fails with [`ClientError::NotAccepted`] unless `abstract_syntax` has a context,
    /// with [`ClientError::Lost`] once the association is gone (aborted).
    fn require(&self, abstract_syntax: &str) -> Result<(), ClientError> {
        if self.scu.as_ref().is_none_or(|s| s.assoc.is_none()) {
            Err(ClientError::Lost("no open association".into()))
        } else if self.accepted(abstract_syntax) {
            Ok(())
        } else {
            Err(ClientError::NotAccepted(abstract_syntax.to_string()))
        }
    }

    /// C-STORE (PS3.7 9.1.1) of `dataset` on the context of its SOP Class UID
    /// (0008,0016), as its SOP Instance UID (0008,0018). A failure status is an error; a
    /// warning is returned (the instance is stored).
    pub fn c_store(&mut self, dataset: &InMemDicomObject) -> Result<StoreStatus, ClientError> {
        let class = uid(dataset, tags::SOP_CLASS_UID)
            .ok_or_else(|| ClientError::DataSet("no SOP Class UID (0008,0016)".into()))?;
        let instance = uid(dataset, tags::SOP_INSTANCE_UID)
            .ok_or_else(|| ClientError::DataSet("no SOP Instance UID (0008,0018)".into()))?;
        self.require(&class)?;
        let command = Command {
            command_field: cf::C_STORE_RQ,
            affected_sop_class_uid: Some(class.clone()),
            affected_sop_instance_uid: Some(instance),
            priority: Some(PRIORITY_MEDIUM),
            ..Default::default()
        };
        let reply = self.scu()?.request(&class, command, Some(dataset))?;
        let status = reply.status();
        let comment = reply.command.error_comment.clone();
        if status::is_stored(status) {
            Ok(StoreStatus { status, comment })
        } else {
            Err(ClientError::status("C-STORE", status, comment))
        }
    }

    /// C-FIND (PS3.7 9.1.2) with `identifier` on the context of `model` (e.g.
    /// [`MODALITY_WORKLIST_FIND`]): the identifiers of the Pending responses, at most
    /// `max_matches` of them. When the SCP has more, the rest is cancelled (C-CANCEL):
    /// ask for one more than needed to tell "exactly n" from "more than n".
    pub fn c_find(
        &mut self,
        model: &str,
        identifier: &InMemDicomObject,
        max_matches: usize,
    ) -> Result<Vec<InMemDicomObject>, ClientError> {
        self.require(model)?;
        let command = Command {
            command_field: cf::C_FIND_RQ,
            affected_sop_class_uid: Some(model.to_string()),
            priority: Some(PRIORITY_MEDIUM),
            ..Default::default()
        };
        let mut matches = Vec::new();
        let mut cancelled = max_matches == 0;
        let last = self
            .scu()?
            .request_each(model, command, Some(identifier), |reply| {
                if let Some(found) = reply.data {
                    if matches.len() < max_matches {
                        matches.push(found);
                    } else {
                        cancelled = true;
                        return Flow::Cancel;
                    }
                }
                Flow::Continue
            })?;
        match last.status() {
            status::SUCCESS => Ok(matches),
            status::FIND_CANCELLED if cancelled => Ok(matches),
            s => Err(ClientError::status(
                "C-FIND",
                s,
                last.command.error_comment.clone(),
            )),
        }
    }

    /// Storage Commitment request (PS3.4 J.3.2): N-ACTION, Action Type 1, on the
    /// well-known instance, naming `refs` as (SOP Class UID, SOP Instance UID). Success
    /// means the PACS took the request; its result comes in an N-EVENT-REPORT, on this
    /// association ([`Session::wait_commitment`]) or a later one it opens to filmd.
    pub fn request_commitment(
        &mut self,
        transaction_uid: &str,
        refs: &[(String, String)],
    ) -> Result<(), ClientError> {
        self.require(STORAGE_COMMITMENT_PUSH_MODEL)?;
        let command = Command {
            command_field: cf::N_ACTION_RQ,
            requested_sop_class_uid: Some(STORAGE_COMMITMENT_PUSH_MODEL.into()),
            requested_sop_instance_uid: Some(STORAGE_COMMITMENT_INSTANCE.into()),
            action_type_id: Some(commitment::REQUEST_STORAGE_COMMITMENT),
            ..Default::default()
        };
        let data = commitment_request(transaction_uid, refs);
        let reply = self
            .scu()?
            .request(STORAGE_COMMITMENT_PUSH_MODEL, command, Some(&data))?;
        match reply.status() {
            status::SUCCESS => Ok(()),
            s => Err(ClientError::status(
                "N-ACTION",
                s,
                reply.command.error_comment.clone(),
            )),
        }
    }

    /// Waits up to `timeout` for a Storage Commitment report on this association (PS3.4
    /// J.3.3), including one that arrived during an earlier request. `None` when none
    /// came: the PACS may report later on an association of its own. The report may be
    /// for another transaction than the last one asked: the caller compares the UID.
    /// After `None` the association is best released.
    pub fn wait_commitment(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<CommitmentResult>, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            let scu = self
                .scu
                .as_mut()
                .ok_or_else(|| ClientError::Lost("no open association".into()))?;
            while !scu.events.is_empty() {
                let event = scu.events.remove(0);
                let data = scu.event_data.remove(0);
                if event.affected_sop_class_uid.as_deref() != Some(STORAGE_COMMITMENT_PUSH_MODEL) {
                    continue;
                }
                let data = data.unwrap_or_else(InMemDicomObject::new_empty);
                return commitment_result(event.event_type_id.unwrap_or(0), &data)
                    .map(Some)
                    .map_err(|why| ClientError::Protocol(format!("commitment report: {why}")));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !scu.wait_event(left)? {
                return Ok(None);
            }
        }
    }

    /// A-RELEASE (PS3.8 7.2).
    pub fn release(mut self) -> Result<(), ClientError> {
        match self.scu.take() {
            Some(scu) => scu.release().map_err(ClientError::from),
            None => Ok(()),
        }
    }
}

impl Drop for Session {
    /// A session dropped without [`Session::release`] (an error on the way) is aborted,
    /// so the peer frees it at once instead of waiting for its own timeout.
    fn drop(&mut self) {
        if let Some(scu) = self.scu.take() {
            scu.abort();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
