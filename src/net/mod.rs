//! The network layer: TCP accept loop, DICOM upper layer associations and the DIMSE message
//! exchange. It knows nothing of films: requests go to a [`Service`] and responses come back.

pub mod access;
pub mod association;
pub mod dataset;
pub mod dimse;
pub mod journal;
pub mod negotiation;
pub mod pdu;
pub mod reassembly;
pub mod server;
pub mod slots;
pub mod status;
pub mod tls;

pub use access::{AssociationAttempt, Refusal};
use dicom_object::InMemDicomObject;
use dimse::Command;
pub use negotiation::AcceptedContext;

/// What a service learns about an association when it opens.
#[derive(Debug, Clone)]
pub struct AssociationInfo {
    /// A number unique within this server's run, for logs.
    pub id: u64,
    pub calling_ae_title: String,
    pub called_ae_title: String,
    pub peer: std::net::SocketAddr,
    pub contexts: Vec<AcceptedContext>,
    /// Plain TCP or TLS, and how.
    pub channel: tls::Channel,
    /// Its record in the association journal, for what the service learns (films).
    pub record: journal::Handle,
}

impl AssociationInfo {
    /// The accepted context with this abstract syntax, if any.
    pub fn context_for(&self, abstract_syntax: &str) -> Option<&AcceptedContext> {
        self.contexts
            .iter()
            .find(|c| c.abstract_syntax == abstract_syntax)
    }
}

/// Where the network layer reports what it sees: each association in the journal, and
/// the association and DIMSE counters in the metrics.
#[derive(Debug, Clone, Default)]
pub struct Observers {
    pub journal: journal::AssociationJournal,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
}

/// A DIMSE request, decoded.
#[derive(Debug)]
pub struct Request {
    pub context: AcceptedContext,
    pub command: Command,
    pub data: Option<InMemDicomObject>,
}

/// A DIMSE response: status and the response's fields; the association layer fills in the
/// Command Field, Message ID Being Responded To and the data set flag.
#[derive(Debug, Default)]
pub struct Response {
    pub status: u16,
    pub affected_sop_class_uid: Option<String>,
    pub affected_sop_instance_uid: Option<String>,
    pub action_type_id: Option<u16>,
    pub event_type_id: Option<u16>,
    pub error_comment: Option<String>,
    pub offending_element: Vec<u32>,
    pub attribute_identifier_list: Vec<u32>,
    pub data: Option<InMemDicomObject>,
}

impl Response {
    pub fn status(status: u16) -> Self {
        Response {
            status,
            ..Default::default()
        }
    }

    /// A failure or warning with an Error Comment (and the offending element when known).
    pub fn error(status: u16, comment: impl Into<String>, offending: Option<u32>) -> Self {
        Response {
            status,
            error_comment: Some(comment.into()),
            offending_element: offending.into_iter().collect(),
            ..Default::default()
        }
    }
}

/// An N-EVENT-REPORT the service wants sent to its peer (PS3.7 10.1.1).
#[derive(Debug)]
pub struct EventReport {
    pub context_id: u8,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub event_type_id: u16,
    pub data: Option<InMemDicomObject>,
}

/// Where a service sends event reports for one association.
pub type EventSender = tokio::sync::mpsc::UnboundedSender<EventReport>;

/// A DIMSE service provider: opens one handler per association.
pub trait Service: Send + Sync + 'static {
    type Handler: AssociationHandler;
    /// Abstract syntaxes this service accepts on an association to `called_ae`
    /// (Verification is always added).
    fn abstract_syntaxes(&self, called_ae: &str) -> Vec<String>;
    /// Called AE titles this service answers to.
    fn called_ae_titles(&self) -> Vec<String>;
    /// Whether to admit an association attempt, asked once its A-ASSOCIATE-RQ has arrived
    /// and before it is negotiated; a [`Refusal`] is answered with its A-ASSOCIATE-RJ
    /// (permanent, service user). Should admit an attempt to a called AE title the
    /// service does not answer to: negotiation rejects it with reason 7.
    fn admit(&self, attempt: &AssociationAttempt) -> Result<(), Refusal>;
    /// Opens the per-association state.
    fn open(&self, info: &AssociationInfo, events: EventSender) -> Self::Handler;
    /// A TLS handshake failed (already logged): for the audit trail (a Security Alert,
    /// PS3.15 A.5.3.11).
    fn tls_failed(&self, _peer: std::net::SocketAddr, _detail: &str) {}
}

/// The per-association side of a service. `handle` runs on a blocking-capable thread.
pub trait AssociationHandler: Send + 'static {
    fn handle(&mut self, request: Request) -> Response;
    /// The peer answered an N-EVENT-REPORT this handler asked to send.
    fn event_confirmed(
        &mut self,
        sop_class_uid: &str,
        sop_instance_uid: &str,
        event_type_id: u16,
        status: u16,
    );
    /// The association ended (released, aborted or lost): everything it created goes.
    fn close(&mut self);
}
