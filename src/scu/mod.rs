//! filmd's own Print SCU: the modality side of Basic Print Management (PS3.4 Annex H).
//!
//! The load generator (`filmd-loadgen`) drives any Print SCP with it, and the integration
//! tests drive filmd with it. The PDUs travel over dicom-ul's client association, not
//! over filmd's own upper layer in [`crate::net`], so filmd's SCP is exercised by an
//! independent implementation of PS3.8; filmd's DIMSE codec ([`crate::net::dimse`],
//! PS3.7 9.3 and 10.3) builds and reads the command sets and [`crate::net::dataset`]
//! encodes the data sets.
//!
//! Every failure of the peer or the transport is an [`ScuError`], never a panic: the load
//! generator counts failures and goes on. [`dataset`] builds the request data sets,
//! [`film`] runs the N-CREATE … N-DELETE sequence of one film and [`load`] holds the load
//! generator's pure parts (test images, latency statistics).

pub mod dataset;
pub mod film;
pub mod job;
pub mod link;
pub mod load;
pub mod multi;

pub use dataset::*;
pub use film::{FilmSpec, PrintedFilm, Step, encode_image_boxes, print_film, print_film_encoded};
pub use link::{Link, ScuTls};
pub use multi::{Flow, is_pending};

use crate::error_chain;
use crate::net::dataset as codec;
use crate::net::dimse::{Command, command_field as cf};
use crate::print::uids;
use dicom_object::InMemDicomObject;
use dicom_ul::ClientAssociationOptions;
use dicom_ul::pdu::{
    AssociationRJResult, PDataValue, PDataValueType, Pdu, PresentationContextResultReason,
};
use std::time::{Duration, Instant};

/// Basic Grayscale Print Management Meta SOP Class (PS3.4 H.3.1).
pub const GRAY_META: &str = uids::BASIC_GRAYSCALE_PRINT_MANAGEMENT_META;
/// Basic Color Print Management Meta SOP Class (PS3.4 H.3.2).
pub const COLOR_META: &str = uids::BASIC_COLOR_PRINT_MANAGEMENT_META;
/// Verification SOP Class (PS3.4 Annex A), always proposed so that C-ECHO works.
pub const VERIFICATION: &str = "1.2.840.10008.1.1";

/// Bound on a response's command set or data set: Print Management responses are small
/// (an N-GET of the Printer or a film box's references), so anything larger is a broken
/// peer, not a reason to allocate without limit.
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// Why a request did not get an answer (a non-success status is an answer, see
/// [`Reply::status`]; only [`film`] turns statuses into [`ScuError::Status`]).
#[derive(Debug, thiserror::Error)]
pub enum ScuError {
    /// TCP connection, TLS handshake or association negotiation failed (an
    /// A-ASSOCIATE-RJ is [`ScuError::Rejected`]).
    #[error("{0}")]
    Associate(String),
    /// The peer answered the A-ASSOCIATE-RQ with an A-ASSOCIATE-RJ (PS3.8 9.3.4):
    /// `permanent` for result 1 "rejected-permanent", false for 2 "rejected-transient".
    #[error("{why}")]
    Rejected { permanent: bool, why: String },
    /// The association is gone (released, aborted or never established).
    #[error("no open association")]
    Closed,
    /// The SCP did not accept a presentation context for this abstract syntax.
    #[error("presentation context {0} not accepted")]
    NoContext(String),
    #[error("send: {0}")]
    Send(String),
    /// Reading from the peer failed.
    #[error("receive: {0}")]
    Receive(String),
    /// No PDU arrived within the DIMSE timeout (or the wait asked for).
    #[error("receive: timed out: {0}")]
    Timeout(String),
    /// The peer sent an A-ABORT or an A-RELEASE-RQ instead of a response.
    #[error("peer ended the association: {0}")]
    PeerClosed(String),
    /// The peer's messages break PS3.7 (bad command set, unexpected message ID, ...).
    #[error("protocol: {0}")]
    Protocol(String),
    /// A request data set could not be encoded.
    #[error("encode: {0}")]
    Encode(String),
    /// A step of a film got a failure status (PS3.7 C.1.4): the film did not print.
    #[error("{step}: status 0x{status:04X}{}", comment.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Status {
        step: Step,
        status: u16,
        comment: Option<String>,
    },
}

impl ScuError {
    /// Whether the association is unusable after this error (the load generator stops
    /// the association's remaining films then, rather than failing each one slowly).
    pub fn is_fatal(&self) -> bool {
        !matches!(self, ScuError::Status { .. } | ScuError::Encode(_))
    }
}

/// A response: its command set and optional data set.
#[derive(Debug, Clone)]
pub struct Reply {
    pub command: Command,
    pub data: Option<InMemDicomObject>,
}

impl Reply {
    /// The Status (0000,0900); a response without one reads as 0xFFFF, which no status
    /// class of PS3.7 C.1 treats as success or warning.
    pub fn status(&self) -> u16 {
        self.command.status.unwrap_or(0xFFFF)
    }
}

/// How to associate (PS3.8 7.1.1).
#[derive(Debug, Clone)]
pub struct ScuOptions {
    pub calling_ae: String,
    pub called_ae: String,
    /// Abstract syntaxes proposed besides Verification, each with dicom-ul's default
    /// transfer syntaxes (Explicit and Implicit VR Little Endian).
    pub abstract_syntaxes: Vec<String>,
    /// Maximum PDU length we receive (PS3.8 D.1).
    pub max_pdu: u32,
    /// Bound on the TCP connect and on the wait for A-ASSOCIATE-AC. An SCP that serves
    /// one association at a time (DCMTK's dcmprscp) leaves later ones in the listen
    /// backlog until it is free, so this may need to be as long as a whole run.
    pub connect_timeout: Duration,
    /// Bound on the wait for each DIMSE response and on each write.
    pub dimse_timeout: Duration,
    /// DICOM TLS (PS3.15 B.9); `None` is plain TCP.
    pub tls: Option<ScuTls>,
}

impl Default for ScuOptions {
    fn default() -> Self {
        ScuOptions {
            calling_ae: "FILMDSCU".into(),
            called_ae: "FILMD".into(),
            abstract_syntaxes: vec![GRAY_META.into()],
            max_pdu: 16384,
            connect_timeout: Duration::from_secs(30),
            dimse_timeout: Duration::from_secs(30),
            tls: None,
        }
    }
}

/// Whether a receive error is a read that timed out: dicom-ul wraps the socket's
/// `WouldBlock`/`TimedOut` in its own errors, so the cause chain is searched.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            )
        {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A message whose first PDVs have arrived: kept in [`Scu`] when a read times out between
/// its PDUs, so that the next read goes on with it instead of finding a data set fragment
/// with no command.
#[derive(Debug, Default)]
struct Partial {
    /// Whether any PDV of the message has arrived.
    started: bool,
    cmd_bytes: Vec<u8>,
    data_bytes: Vec<u8>,
    /// The decoded command set, once its last fragment came and a data set follows.
    command: Option<Command>,
}

/// One association with a Print SCP.
pub struct Scu {
    /// The open association; `None` once released. Public so that tests can write raw
    /// bytes to its stream.
    pub assoc: Option<Link>,
    next_id: u16,
    /// The read timeout between PDUs, restored after [`Scu::wait_event`].
    dimse_timeout: Duration,
    /// Bound on one received command set or data set.
    max_message: usize,
    /// N-EVENT-REPORT requests received (each answered with success, PS3.4 H.4.3.2).
    pub events: Vec<Command>,
    /// Their data sets, index for index.
    pub event_data: Vec<Option<InMemDicomObject>>,
    /// Bound on [`Scu::events`]: one more N-EVENT-REPORT aborts the association
    /// ([`Scu::set_max_events`]).
    max_events: usize,
    /// The message being received, across a read that timed out.
    partial: Partial,
    /// The read timeout the socket has now.
    read_timeout: Duration,
    /// Set by [`Scu::wait_event`]: the bound on the FIRST PDU of the next message (once
    /// a message has begun, the rest comes under the DIMSE timeout).
    first_pdu_by: Option<Instant>,
    /// Set by [`Scu::request_each`]: the bound on the whole exchange (and how long it
    /// was); past it the association is aborted.
    exchange_deadline: Option<(Instant, Duration)>,
}

impl Scu {
    /// Connects to `addr` (anything `ToSocketAddrs` takes, e.g. `("127.0.0.1", 11112)`),
    /// completes the TLS handshake when `options.tls` asks for it (within
    /// `connect_timeout`), and negotiates the association.
    pub fn connect<A: std::net::ToSocketAddrs>(
        addr: A,
        options: &ScuOptions,
    ) -> Result<Scu, ScuError> {
        let mut opts = ClientAssociationOptions::new()
            .calling_ae_title(options.calling_ae.clone())
            .called_ae_title(options.called_ae.clone())
            .max_pdu_length(options.max_pdu)
            .connection_timeout(options.connect_timeout)
            .read_timeout(options.connect_timeout)
            .write_timeout(options.dimse_timeout)
            .with_abstract_syntax(VERIFICATION);
        for a in &options.abstract_syntaxes {
            if a != VERIFICATION {
                opts = opts.with_abstract_syntax(a.clone());
            }
        }
        let associate = |e: dicom_ul::association::Error| match &e {
            dicom_ul::association::Error::Rejected { association_rj, .. } => ScuError::Rejected {
                permanent: association_rj.result == AssociationRJResult::Permanent,
                why: error_chain(&e),
            },
            _ => ScuError::Associate(error_chain(&e)),
        };
        let mut assoc = match &options.tls {
            None => Link::Tcp(opts.establish(addr).map_err(associate)?),
            Some(tls) => Link::Tls(Box::new(
                opts.tls_config(tls.config.clone())
                    .server_name(&tls.server_name)
                    .establish_tls(addr)
                    .map_err(associate)?,
            )),
        };
        assoc
            .socket()
            .set_read_timeout(Some(options.dimse_timeout))
            .map_err(|e| ScuError::Associate(format!("set read timeout: {e}")))?;
        // A request is a command PDU and then its data set's PDUs, each its own write
        // (over TLS, each a small record): with Nagle's algorithm the second waits for
        // the peer's delayed ACK of the first, about 40 ms per request on Linux.
        // dicom-ul leaves Nagle on and gives no hook before its connect, so the
        // handshake and A-ASSOCIATE exchange still pay it; everything after does not.
        assoc
            .socket()
            .set_nodelay(true)
            .map_err(|e| ScuError::Associate(format!("set TCP_NODELAY: {e}")))?;
        Ok(Scu {
            assoc: Some(assoc),
            next_id: 1,
            dimse_timeout: options.dimse_timeout,
            max_message: MAX_RESPONSE_BYTES,
            events: Vec::new(),
            event_data: Vec::new(),
            max_events: usize::MAX,
            partial: Partial::default(),
            read_timeout: options.dimse_timeout,
            first_pdu_by: None,
            exchange_deadline: None,
        })
    }

    /// Bounds the N-EVENT-REPORTs kept in [`Scu::events`] (unbounded unless set): one
    /// more aborts the association with [`ScuError::Protocol`]. A caller that sets it
    /// removes the events it has read, so that the bound applies to the unread ones.
    pub fn set_max_events(&mut self, n: usize) {
        self.max_events = n;
    }

    /// A-ABORT for a peer that breaks the exchange's bounds: the protocol error to return.
    pub(crate) fn abort_with(&mut self, why: String) -> ScuError {
        if let Some(a) = self.assoc.take() {
            let _ = a.abort();
        }
        self.partial = Partial::default();
        ScuError::Protocol(why)
    }

    /// Sets the socket's read timeout (at least 1 ms: zero would mean none), unless it
    /// has it already.
    fn set_read_timeout(&mut self, t: Duration) -> Result<(), ScuError> {
        let t = t.max(Duration::from_millis(1));
        if t != self.read_timeout {
            self.assoc()?
                .socket()
                .set_read_timeout(Some(t))
                .map_err(|e| ScuError::Receive(format!("set read timeout: {e}")))?;
            self.read_timeout = t;
        }
        Ok(())
    }

    /// Back to the DIMSE timeout between PDUs (after a wait or an exchange with bounds
    /// of its own), so that A-RELEASE and later requests wait as usual.
    fn restore_read_timeout(&mut self) -> Result<(), ScuError> {
        self.first_pdu_by = None;
        self.exchange_deadline = None;
        if self.assoc.is_some() {
            self.set_read_timeout(self.dimse_timeout)
        } else {
            Ok(())
        }
    }

    /// Bounds each received command set and data set to `bytes` (at most
    /// [`MAX_RESPONSE_BYTES`]): a C-FIND identifier is small, a PACS that sends more is
    /// broken.
    pub fn set_max_message(&mut self, bytes: usize) {
        self.max_message = bytes.min(MAX_RESPONSE_BYTES);
    }

    fn assoc(&mut self) -> Result<&mut Link, ScuError> {
        self.assoc.as_mut().ok_or(ScuError::Closed)
    }

    /// The accepted presentation context for an abstract syntax: (id, transfer syntax).
    pub fn context(&self, abstract_syntax: &str) -> Option<(u8, String)> {
        self.assoc
            .as_ref()?
            .presentation_contexts()
            .iter()
            .find(|c| {
                c.abstract_syntax == abstract_syntax
                    && c.reason == PresentationContextResultReason::Acceptance
            })
            .map(|c| (c.id, c.transfer_syntax.clone()))
    }

    /// The transfer syntax of an accepted context (by id).
    fn context_ts(&self, id: u8) -> Option<String> {
        self.assoc
            .as_ref()?
            .presentation_contexts()
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.transfer_syntax.clone())
    }

    /// Sends a command and its data set as P-DATA-TF PDUs, each within the acceptor's
    /// maximum PDU length (PS3.8 9.3.5: PDU header 6 bytes, PDV item header 6 bytes; we
    /// keep fragments even so that a 16-bit value is never split oddly).
    fn send_message(
        &mut self,
        ctx: u8,
        command: &Command,
        data: Option<&[u8]>,
    ) -> Result<(), ScuError> {
        let assoc = self.assoc()?;
        // A max of 0 means "no limit" (PS3.8 D.1); 1 MiB keeps each PDU bounded anyway.
        let max_pdu = match assoc.acceptor_max_pdu_length() {
            0 => 1 << 20,
            n => n.clamp(1024, 1 << 20),
        };
        let max = ((max_pdu as usize) - 6) & !1;
        let cmd = command.encode();
        for (bytes, ty) in [
            (Some(&cmd[..]), PDataValueType::Command),
            (data, PDataValueType::Data),
        ] {
            let Some(bytes) = bytes else { continue };
            let n = bytes.len().div_ceil(max).max(1);
            for i in 0..n {
                let chunk = &bytes[(i * max).min(bytes.len())..((i + 1) * max).min(bytes.len())];
                let pdu = Pdu::PData {
                    data: vec![PDataValue {
                        presentation_context_id: ctx,
                        value_type: ty.clone(),
                        is_last: i + 1 == n,
                        data: chunk.to_vec(),
                    }],
                };
                assoc
                    .send(&pdu)
                    .map_err(|e| ScuError::Send(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Receives one complete message: (context id, command, data set bytes). When a read
    /// times out in the middle of a message, what arrived of it is kept for the next call.
    fn receive_message(&mut self) -> Result<(u8, Command, Option<Vec<u8>>), ScuError> {
        let mut partial = std::mem::take(&mut self.partial);
        let received = self.receive_into(&mut partial);
        if matches!(received, Err(ScuError::Timeout(_))) {
            self.partial = partial;
        }
        received
    }

    /// The bound on the next PDU: the DIMSE timeout, or what is left of
    /// [`Scu::first_pdu_by`] before a message has begun, and never past
    /// [`Scu::exchange_deadline`]; `true` when the exchange's deadline is what bounds it.
    fn next_pdu_timeout(&self, started: bool) -> (Duration, bool) {
        let now = Instant::now();
        let mut wait = self.dimse_timeout;
        if !started && let Some(by) = self.first_pdu_by {
            wait = by.saturating_duration_since(now);
        }
        match self.exchange_deadline {
            Some((d, _)) if d.saturating_duration_since(now) <= wait => {
                (d.saturating_duration_since(now), true)
            }
            _ => (wait, false),
        }
    }

    fn receive_into(
        &mut self,
        p: &mut Partial,
    ) -> Result<(u8, Command, Option<Vec<u8>>), ScuError> {
        loop {
            let (wait, by_deadline) = self.next_pdu_timeout(p.started);
            let total = self.exchange_deadline.map(|(_, t)| t).unwrap_or_default();
            let exchange_over = || format!("no final response within {total:?}");
            if wait.is_zero() {
                return Err(if by_deadline {
                    self.abort_with(exchange_over())
                } else {
                    ScuError::Timeout("the wait is over".into())
                });
            }
            self.set_read_timeout(wait)?;
            let pdu = match self.assoc()?.receive() {
                Ok(pdu) => pdu,
                Err(e) if timed_out(&e) && by_deadline => {
                    return Err(self.abort_with(exchange_over()));
                }
                Err(e) if timed_out(&e) => return Err(ScuError::Timeout(e.to_string())),
                Err(e) => return Err(ScuError::Receive(error_chain(&e))),
            };
            let data = match pdu {
                Pdu::PData { data } => data,
                Pdu::AbortRQ { source } => {
                    self.assoc = None;
                    return Err(ScuError::PeerClosed(format!("A-ABORT ({source:?})")));
                }
                Pdu::ReleaseRQ => {
                    self.assoc = None;
                    return Err(ScuError::PeerClosed("A-RELEASE-RQ".into()));
                }
                other => {
                    return Err(ScuError::Protocol(format!(
                        "unexpected PDU {}",
                        other.short_description()
                    )));
                }
            };
            for pdv in data {
                p.started = true;
                let ctx = pdv.presentation_context_id;
                match pdv.value_type {
                    PDataValueType::Command => {
                        if p.command.is_some() {
                            return Err(ScuError::Protocol(
                                "a command fragment after the command set ended".into(),
                            ));
                        }
                        if p.cmd_bytes.len() + pdv.data.len() > self.max_message {
                            return Err(ScuError::Protocol("command set too large".into()));
                        }
                        p.cmd_bytes.extend_from_slice(&pdv.data);
                        if pdv.is_last {
                            let c = Command::decode(&p.cmd_bytes)
                                .map_err(|e| ScuError::Protocol(e.to_string()))?;
                            if !c.has_data_set {
                                return Ok((ctx, c, None));
                            }
                            p.command = Some(c);
                        }
                    }
                    PDataValueType::Data => {
                        let Some(c) = p.command.as_ref() else {
                            return Err(ScuError::Protocol(
                                "a data set fragment before the command set".into(),
                            ));
                        };
                        if p.data_bytes.len() + pdv.data.len() > self.max_message {
                            return Err(ScuError::Protocol("data set too large".into()));
                        }
                        p.data_bytes.extend_from_slice(&pdv.data);
                        if pdv.is_last {
                            let c = c.clone();
                            return Ok((ctx, c, Some(std::mem::take(&mut p.data_bytes))));
                        }
                    }
                }
            }
        }
    }

    /// Sends a request on the context of `abstract_syntax` and waits for its response,
    /// answering N-EVENT-REPORTs that arrive meanwhile. The message ID is assigned here.
    pub fn request(
        &mut self,
        abstract_syntax: &str,
        command: Command,
        data: Option<&InMemDicomObject>,
    ) -> Result<Reply, ScuError> {
        let (_, ts) = self
            .context(abstract_syntax)
            .ok_or_else(|| ScuError::NoContext(abstract_syntax.into()))?;
        let bytes = data
            .map(|d| codec::encode(d, &ts))
            .transpose()
            .map_err(|e| ScuError::Encode(e.to_string()))?;
        self.request_raw(abstract_syntax, command, bytes.as_deref())
    }

    /// Sends a request whose data set is already encoded in the context's transfer
    /// syntax (the load generator encodes its image boxes once; tests send malformed
    /// bytes) and waits for its response.
    pub fn request_raw(
        &mut self,
        abstract_syntax: &str,
        command: Command,
        data: Option<&[u8]>,
    ) -> Result<Reply, ScuError> {
        let (id, ts) = self.send_request(abstract_syntax, command, data)?;
        self.receive_response(id, &ts)
    }

    /// Assigns the Message ID and sends a request: (message ID, transfer syntax).
    fn send_request(
        &mut self,
        abstract_syntax: &str,
        mut command: Command,
        data: Option<&[u8]>,
    ) -> Result<(u16, String), ScuError> {
        let (ctx, ts) = self
            .context(abstract_syntax)
            .ok_or_else(|| ScuError::NoContext(abstract_syntax.into()))?;
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        command.message_id = Some(id);
        command.has_data_set = data.is_some();
        self.send_message(ctx, &command, data)?;
        Ok((id, ts))
    }

    /// Waits for the response to message `id`, answering N-EVENT-REPORTs meanwhile.
    fn receive_response(&mut self, id: u16, ts: &str) -> Result<Reply, ScuError> {
        loop {
            let (ctx, c, data) = self.receive_message()?;
            if c.command_field == cf::N_EVENT_REPORT_RQ {
                self.take_event(ctx, c, data)?;
                continue;
            }
            if c.message_id_being_responded_to != Some(id) {
                return Err(ScuError::Protocol(format!(
                    "expected the response to message {id}, got {c}"
                )));
            }
            let data = data
                .map(|d| codec::decode(&d, ts))
                .transpose()
                .map_err(|e| ScuError::Protocol(format!("response data set: {e}")))?;
            return Ok(Reply { command: c, data });
        }
    }

    /// Answers an N-EVENT-REPORT with success and records it.
    fn take_event(&mut self, ctx: u8, c: Command, data: Option<Vec<u8>>) -> Result<(), ScuError> {
        let ts = self
            .context_ts(ctx)
            .ok_or_else(|| ScuError::Protocol(format!("event on unknown context {ctx}")))?;
        let data = data
            .map(|d| codec::decode(&d, &ts))
            .transpose()
            .map_err(|e| ScuError::Protocol(format!("event data set: {e}")))?;
        let rsp = Command {
            command_field: cf::N_EVENT_REPORT_RSP,
            message_id_being_responded_to: c.message_id,
            affected_sop_class_uid: c.affected_sop_class_uid.clone(),
            affected_sop_instance_uid: c.affected_sop_instance_uid.clone(),
            event_type_id: c.event_type_id,
            status: Some(0),
            ..Default::default()
        };
        if self.events.len() >= self.max_events {
            return Err(self.abort_with(format!(
                "more than {} N-EVENT-REPORTs unread",
                self.max_events
            )));
        }
        self.send_message(ctx, &rsp, None)?;
        self.events.push(c);
        self.event_data.push(data);
        Ok(())
    }

    /// Waits until `n` N-EVENT-REPORTs have arrived in total; any other message is a
    /// protocol error here (no request is outstanding).
    pub fn wait_events(&mut self, n: usize) -> Result<(), ScuError> {
        while self.events.len() < n {
            let (ctx, c, data) = self.receive_message()?;
            if c.command_field != cf::N_EVENT_REPORT_RQ {
                return Err(ScuError::Protocol(format!("expected an event, got {c}")));
            }
            self.take_event(ctx, c, data)?;
        }
        Ok(())
    }

    /// C-ECHO (PS3.7 9.1.5): the response's status.
    pub fn echo(&mut self) -> Result<u16, ScuError> {
        let r = self.request(
            VERIFICATION,
            Command {
                command_field: cf::C_ECHO_RQ,
                affected_sop_class_uid: Some(VERIFICATION.into()),
                ..Default::default()
            },
            None,
        )?;
        Ok(r.status())
    }

    /// N-CREATE (PS3.7 10.1.5) on the context of `meta`; `instance` None lets the SCP
    /// assign the UID.
    pub fn n_create(
        &mut self,
        meta: &str,
        class: &str,
        instance: Option<&str>,
        data: &InMemDicomObject,
    ) -> Result<Reply, ScuError> {
        self.request(meta, n_create_rq(class, instance), Some(data))
    }

    /// N-SET (PS3.7 10.1.3).
    pub fn n_set(
        &mut self,
        meta: &str,
        class: &str,
        instance: &str,
        data: &InMemDicomObject,
    ) -> Result<Reply, ScuError> {
        self.request(meta, n_set_rq(class, instance), Some(data))
    }

    /// N-SET with a data set already encoded in the context's transfer syntax.
    pub fn n_set_encoded(
        &mut self,
        meta: &str,
        class: &str,
        instance: &str,
        data: &[u8],
    ) -> Result<Reply, ScuError> {
        self.request_raw(meta, n_set_rq(class, instance), Some(data))
    }

    /// N-ACTION (PS3.7 10.1.4) with Action Type ID 1, "Print" for film sessions and
    /// film boxes (PS3.4 H.4.1.2.4, H.4.2.2.5).
    pub fn n_action(&mut self, meta: &str, class: &str, instance: &str) -> Result<Reply, ScuError> {
        self.request(
            meta,
            Command {
                command_field: cf::N_ACTION_RQ,
                requested_sop_class_uid: Some(class.into()),
                requested_sop_instance_uid: Some(instance.into()),
                action_type_id: Some(1),
                ..Default::default()
            },
            None,
        )
    }

    /// N-GET (PS3.7 10.1.2); an empty attribute list asks for all attributes.
    pub fn n_get(
        &mut self,
        meta: &str,
        class: &str,
        instance: &str,
        attributes: &[u32],
    ) -> Result<Reply, ScuError> {
        self.request(
            meta,
            Command {
                command_field: cf::N_GET_RQ,
                requested_sop_class_uid: Some(class.into()),
                requested_sop_instance_uid: Some(instance.into()),
                attribute_identifier_list: attributes.to_vec(),
                ..Default::default()
            },
            None,
        )
    }

    /// N-DELETE (PS3.7 10.1.6).
    pub fn n_delete(&mut self, meta: &str, class: &str, instance: &str) -> Result<Reply, ScuError> {
        self.request(
            meta,
            Command {
                command_field: cf::N_DELETE_RQ,
                requested_sop_class_uid: Some(class.into()),
                requested_sop_instance_uid: Some(instance.into()),
                ..Default::default()
            },
            None,
        )
    }

    /// A-RELEASE (PS3.8 7.2).
    pub fn release(mut self) -> Result<(), ScuError> {
        match self.assoc.take() {
            Some(a) => a.release().map_err(|e| ScuError::Receive(e.to_string())),
            None => Ok(()),
        }
    }

    /// A-ABORT (PS3.8 7.3), for an association left in an unknown state.
    pub fn abort(mut self) {
        if let Some(a) = self.assoc.take() {
            let _ = a.abort();
        }
    }
}

fn n_create_rq(class: &str, instance: Option<&str>) -> Command {
    Command {
        command_field: cf::N_CREATE_RQ,
        affected_sop_class_uid: Some(class.into()),
        affected_sop_instance_uid: instance.map(String::from),
        ..Default::default()
    }
}

fn n_set_rq(class: &str, instance: &str) -> Command {
    Command {
        command_field: cf::N_SET_RQ,
        requested_sop_class_uid: Some(class.into()),
        requested_sop_instance_uid: Some(instance.into()),
        ..Default::default()
    }
}
