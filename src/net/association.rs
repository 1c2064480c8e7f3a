//! One association, from A-ASSOCIATE-RQ to release or abort (PS3.8 9.2 state machine, as an
//! SCP needs it).
//!
//! A reader task turns the socket into frames and hands them over a channel, so that the
//! main loop can wait at once for the peer, for event reports to send and for shutdown
//! without cancelling a half-read PDU. Each reassembled request is decoded here and handed
//! to the service's handler on a blocking-capable thread (an N-ACTION fsyncs the spool).

use super::dataset;
use super::dimse::{Command, command_field};
use super::journal::{AssociationRecord, Outcome, Rejection};
use super::negotiation::{AcceptorPolicy, negotiate};
use super::pdu::{self, Frame, PduError, provider_abort};
use super::reassembly::{Message, Reassembler};
use super::server::{ReadHalf, WriteHalf};
use super::status;
use super::tls::Channel;
use super::{
    AssociationAttempt, AssociationHandler, AssociationInfo, EventReport, Observers, Refusal,
    Request, Response, Service,
};
use crate::metrics::Metrics;
use dicom_ul::pdu::{
    AbortRQServiceProviderReason, AssociationRJServiceUserReason, AssociationRJSource,
    AssociationRQ, Pdu,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

/// Verification SOP Class (PS3.4 Annex A).
pub const VERIFICATION_SOP_CLASS: &str = "1.2.840.10008.1.1";

/// Limits that protect the server from its peers.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Maximum PDU length announced to peers.
    pub max_pdu: u32,
    /// Largest PDU accepted: peers that ignore our announced maximum are tolerated up to
    /// here (dicom-ul's `strict(false)`); beyond it the association is aborted.
    pub pdu_cap: u32,
    /// Largest reassembled message (command + data set).
    pub max_message: usize,
    /// Time allowed for the A-ASSOCIATE-RQ after connecting (the ARTIM timer's role).
    pub association_timeout: Duration,
    /// An association silent for this long is aborted.
    pub idle_timeout: Duration,
}

/// A connection that has sent its A-ASSOCIATE-RQ and holds an association slot.
pub struct Opened {
    pub id: u64,
    pub peer: std::net::SocketAddr,
    /// Plain TCP or TLS, and how.
    pub channel: Channel,
    pub read: ReadHalf,
    pub write: WriteHalf,
    pub rq: AssociationRQ,
    pub observers: Observers,
}

/// Runs one association from its A-ASSOCIATE-RQ to its end. Never panics on peer input.
pub async fn run<S: Service>(
    opened: Opened,
    service: Arc<S>,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let Opened {
        id,
        peer,
        channel,
        read: mut read_half,
        mut write,
        rq,
        observers,
    } = opened;
    let record = AssociationRecord::new(
        id,
        peer,
        &rq.calling_ae_title,
        &rq.called_ae_title,
        channel != Channel::Plain,
    );
    let mut abstract_syntaxes = service.abstract_syntaxes(rq.called_ae_title.trim());
    abstract_syntaxes.push(VERIFICATION_SOP_CLASS.to_string());
    let policy = AcceptorPolicy {
        called_ae_titles: service.called_ae_titles(),
        abstract_syntaxes,
        max_pdu: limits.max_pdu,
    };
    if let Err(refusal) = service.admit(&AssociationAttempt::new(peer, &rq)) {
        let reason = match refusal {
            Refusal::SourceAddress { .. } => Rejection::AccessAddress,
            Refusal::CallingAeTitle { .. } => Rejection::AccessCallingAe,
        };
        observers.metrics.association_rejected(reason);
        observers
            .journal
            .rejected(record, reason, refusal.to_string());
        warn!(
            assoc = id, %peer, calling = %rq.calling_ae_title.trim(), called = %rq.called_ae_title.trim(),
            "association refused by the access rules: {refusal}: A-ASSOCIATE-RJ permanent, service user, {}",
            refusal.reason()
        );
        let _ = pdu::write_control(&mut write, &Pdu::AssociationRJ(refusal.rejection())).await;
        let _ = write.shutdown().await;
        return;
    }
    let negotiated = match negotiate(&rq, &policy) {
        Ok(n) => n,
        Err((rj, why)) => {
            let reason = match rj.source {
                AssociationRJSource::ServiceUser(
                    AssociationRJServiceUserReason::CalledAETitleNotRecognized,
                ) => Rejection::CalledAe,
                _ => Rejection::Negotiation,
            };
            observers.metrics.association_rejected(reason);
            observers.journal.rejected(record, reason, why.clone());
            warn!(assoc = id, %peer, calling = %rq.calling_ae_title, "association rejected: {why}");
            let _ = pdu::write_control(&mut write, &Pdu::AssociationRJ(rj)).await;
            let _ = write.shutdown().await;
            return;
        }
    };
    let _open = observers.metrics.association_opened();
    let journaled = observers.journal.opened(record);
    if let Err(e) = pdu::write_control(&mut write, &Pdu::AssociationAC(negotiated.ac.clone())).await
    {
        journaled.end(Outcome::ConnectionLost {
            why: format!("sending A-ASSOCIATE-AC: {e}"),
        });
        return;
    }
    let info = AssociationInfo {
        id,
        calling_ae_title: negotiated.calling_ae_title.clone(),
        called_ae_title: negotiated.called_ae_title.clone(),
        peer,
        contexts: negotiated.contexts.clone(),
        channel,
        record: journaled.clone(),
    };
    info!(
        assoc = id, %peer, calling = %info.calling_ae_title, called = %info.called_ae_title,
        "association accepted over {}: {} of {} contexts, peer max PDU {}",
        info.channel, info.contexts.len(), rq.presentation_contexts.len(), negotiated.peer_max_pdu
    );

    // Reader task: frames → channel. A capacity of 1 keeps at most one PDU buffered ahead.
    let (frame_tx, mut frame_rx) = mpsc::channel::<Result<Frame, PduError>>(1);
    let idle = limits.idle_timeout;
    let cap = limits.pdu_cap;
    let reader = tokio::spawn(async move {
        loop {
            let r = match tokio::time::timeout(idle, pdu::read_frame(&mut read_half, cap)).await {
                Ok(r) => r,
                Err(_) => Err(PduError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "idle timeout",
                ))),
            };
            let stop = r.is_err();
            if frame_tx.send(r).await.is_err() || stop {
                break;
            }
        }
    });

    let (event_tx, mut event_rx) = mpsc::unbounded_channel::<EventReport>();
    let mut handler = service.open(&info, event_tx);
    let mut conn = Connection {
        write,
        contexts: info.contexts.clone(),
        peer_max_pdu: negotiated.peer_max_pdu,
        next_message_id: 1,
        sent_events: std::collections::HashMap::new(),
        id,
        metrics: observers.metrics.clone(),
    };
    let mut reassembler = Reassembler::new(limits.max_message);

    let outcome: Outcome = loop {
        tokio::select! {
            frame = frame_rx.recv() => {
                let Some(frame) = frame else {
                    break Outcome::ConnectionLost { why: "reader ended".into() };
                };
                match frame {
                    Ok(Frame::Data(pdvs)) => {
                        let mut failed = None;
                        for pdv in pdvs {
                            if !info.contexts.iter().any(|c| c.id == pdv.context_id) {
                                failed = Some(format!("PDV on presentation context {} which was not accepted", pdv.context_id));
                                break;
                            }
                            match reassembler.feed(pdv) {
                                Ok(None) => {}
                                Ok(Some(msg)) => {
                                    if let Err(e) = conn.dispatch(msg, &info, &mut handler).await {
                                        failed = Some(format!("write failed: {e}"));
                                        break;
                                    }
                                }
                                Err(e) => { failed = Some(e.to_string()); break; }
                            }
                        }
                        if let Some(why) = failed {
                            warn!(assoc = id, "protocol error: {why}: A-ABORT");
                            abort(&mut conn.write, Some(AbortRQServiceProviderReason::UnexpectedPduParameter)).await;
                            break Outcome::AbortedByFilmd { why };
                        }
                    }
                    Ok(Frame::Control(Pdu::ReleaseRQ)) => {
                        let _ = pdu::write_control(&mut conn.write, &Pdu::ReleaseRP).await;
                        break Outcome::Released;
                    }
                    Ok(Frame::Control(Pdu::AbortRQ { source })) => {
                        info!(assoc = id, "A-ABORT from peer ({source:?})");
                        break Outcome::AbortedByPeer;
                    }
                    Ok(Frame::Control(other)) => {
                        let what = describe(&Frame::Control(other));
                        warn!(assoc = id, "unexpected {what} during association: A-ABORT");
                        abort(&mut conn.write, Some(AbortRQServiceProviderReason::UnexpectedPdu)).await;
                        break Outcome::AbortedByFilmd { why: format!("unexpected {what}") };
                    }
                    Err(PduError::Closed) => {
                        break Outcome::ConnectionLost { why: "connection closed by peer".into() };
                    }
                    Err(e) => {
                        warn!(assoc = id, "{e}: A-ABORT");
                        abort(&mut conn.write, e.abort_reason().or(Some(AbortRQServiceProviderReason::ReasonNotSpecified))).await;
                        break match e {
                            PduError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => Outcome::TimedOut,
                            e => Outcome::AbortedByFilmd { why: e.to_string() },
                        };
                    }
                }
            }
            Some(event) = event_rx.recv() => {
                if let Err(e) = conn.send_event(event).await {
                    warn!(assoc = id, "sending N-EVENT-REPORT failed: {e}");
                    break Outcome::ConnectionLost { why: format!("sending N-EVENT-REPORT: {e}") };
                }
            }
            _ = shutdown.changed() => {
                warn!(assoc = id, "server shutting down: A-ABORT");
                abort(&mut conn.write, Some(AbortRQServiceProviderReason::ReasonNotSpecified)).await;
                break Outcome::AbortedByFilmd { why: "server shutting down".into() };
            }
        }
    };
    reader.abort();
    tokio::task::block_in_place(|| handler.close());
    let _ = conn.write.shutdown().await;
    info!(assoc = id, "association ended: {outcome}");
    journaled.end(outcome);
}

pub(super) fn describe(frame: &Frame) -> String {
    match frame {
        Frame::Data(_) => "P-DATA-TF".to_string(),
        Frame::Control(p) => p.short_description().to_string(),
    }
}

pub(super) async fn abort(write: &mut WriteHalf, reason: Option<AbortRQServiceProviderReason>) {
    if let Some(reason) = reason {
        let _ = pdu::write_control(write, &provider_abort(reason)).await;
    }
    let _ = write.shutdown().await;
}

/// An N-EVENT-REPORT awaiting its response.
struct SentEvent {
    sop_class_uid: String,
    sop_instance_uid: String,
    event_type_id: u16,
}

struct Connection {
    write: WriteHalf,
    contexts: Vec<super::AcceptedContext>,
    peer_max_pdu: u32,
    next_message_id: u16,
    /// Event reports sent and not yet confirmed, by Message ID.
    sent_events: std::collections::HashMap<u16, SentEvent>,
    id: u64,
    metrics: Arc<Metrics>,
}

impl Connection {
    /// Answers one complete message.
    async fn dispatch<H: AssociationHandler>(
        &mut self,
        msg: Message,
        info: &AssociationInfo,
        handler: &mut H,
    ) -> std::io::Result<()> {
        let Some(context) = info
            .contexts
            .iter()
            .find(|c| c.id == msg.context_id)
            .cloned()
        else {
            return Ok(()); // checked by the caller
        };
        let cmd = msg.command;
        debug!(assoc = self.id, "received {cmd}");
        match cmd.command_field {
            command_field::N_EVENT_REPORT_RSP => {
                let status = cmd.status.unwrap_or(0);
                debug!(
                    assoc = self.id,
                    "peer confirmed event report: status 0x{status:04X}"
                );
                if let Some(sent) = cmd
                    .message_id_being_responded_to
                    .and_then(|id| self.sent_events.remove(&id))
                {
                    tokio::task::block_in_place(|| {
                        handler.event_confirmed(
                            &sent.sop_class_uid,
                            &sent.sop_instance_uid,
                            sent.event_type_id,
                            status,
                        )
                    });
                }
                return Ok(());
            }
            f if f & 0x8000 != 0 => {
                warn!(assoc = self.id, "ignoring unexpected {cmd}");
                return Ok(());
            }
            _ => {}
        }
        let Some(message_id) = cmd.message_id else {
            warn!(assoc = self.id, "{cmd} without a Message ID: ignored");
            return Ok(());
        };
        let response = if cmd.command_field == command_field::C_ECHO_RQ {
            if context.abstract_syntax == VERIFICATION_SOP_CLASS {
                Response {
                    affected_sop_class_uid: Some(VERIFICATION_SOP_CLASS.into()),
                    ..Response::status(status::SUCCESS)
                }
            } else {
                Response::error(
                    status::UNRECOGNIZED_OPERATION,
                    "C-ECHO is only served on the Verification context",
                    None,
                )
            }
        } else if cmd.command_field == command_field::C_CANCEL_RQ {
            return Ok(()); // nothing of ours is cancelable; C-CANCEL has no response
        } else {
            let data = match msg
                .data
                .as_deref()
                .map(|d| dataset::decode(d, &context.transfer_syntax))
            {
                None => Ok(None),
                Some(Ok(obj)) => Ok(Some(obj)),
                Some(Err(e)) => Err(e),
            };
            match data {
                Ok(data) => {
                    let request = Request {
                        context: context.clone(),
                        command: cmd.clone(),
                        data,
                    };
                    tokio::task::block_in_place(|| handler.handle(request))
                }
                Err(e) => {
                    warn!(assoc = self.id, "{cmd}: {e}");
                    Response::error(status::PROCESSING_FAILURE, e.to_string(), None)
                }
            }
        };
        self.respond(&context, &cmd, message_id, response).await
    }

    async fn respond(
        &mut self,
        context: &super::AcceptedContext,
        request: &Command,
        message_id: u16,
        response: Response,
    ) -> std::io::Result<()> {
        let data = match &response.data {
            Some(obj) => match dataset::encode(obj, &context.transfer_syntax) {
                Ok(bytes) => Some(bytes),
                Err(e) => {
                    warn!(
                        assoc = self.id,
                        "encoding the response data set failed: {e}"
                    );
                    None
                }
            },
            None => None,
        };
        // Responses name the Affected SOP Class/Instance (PS3.7 10.3): default to the
        // request's when the handler did not set them.
        let command = Command {
            command_field: command_field::response_for(request.command_field),
            message_id_being_responded_to: Some(message_id),
            affected_sop_class_uid: response
                .affected_sop_class_uid
                .or_else(|| request.sop_class_uid().map(String::from)),
            affected_sop_instance_uid: response
                .affected_sop_instance_uid
                .or_else(|| request.sop_instance_uid().map(String::from)),
            has_data_set: data.is_some(),
            status: Some(response.status),
            error_comment: response.error_comment,
            offending_element: response.offending_element,
            action_type_id: response.action_type_id,
            event_type_id: response.event_type_id,
            attribute_identifier_list: response.attribute_identifier_list,
            ..Default::default()
        };
        self.metrics
            .dimse_request(request.command_field, response.status);
        if response.status != status::SUCCESS {
            info!(
                assoc = self.id,
                "{} → status 0x{:04X} {}",
                command_field::name(request.command_field),
                response.status,
                command.error_comment.as_deref().unwrap_or("")
            );
        } else {
            debug!(assoc = self.id, "sending {command}");
        }
        pdu::write_message(
            &mut self.write,
            context.id,
            true,
            &command.encode(),
            self.peer_max_pdu,
        )
        .await?;
        if let Some(bytes) = data {
            pdu::write_message(
                &mut self.write,
                context.id,
                false,
                &bytes,
                self.peer_max_pdu,
            )
            .await?;
        }
        self.write.flush().await
    }

    async fn send_event(&mut self, event: EventReport) -> std::io::Result<()> {
        let message_id = self.next_message_id;
        self.next_message_id = self.next_message_id.wrapping_add(1).max(1);
        let Some(context) = self.contexts.iter().find(|c| c.id == event.context_id) else {
            warn!(
                assoc = self.id,
                "event report for unknown context {}: dropped", event.context_id
            );
            return Ok(());
        };
        let data = match event
            .data
            .as_ref()
            .map(|d| dataset::encode(d, &context.transfer_syntax))
        {
            Some(Ok(bytes)) => Some(bytes),
            Some(Err(e)) => {
                warn!(assoc = self.id, "encoding an event report failed: {e}");
                None
            }
            None => None,
        };
        // Bounded: a peer that never confirms keeps at most this many entries.
        if self.sent_events.len() >= 1024 {
            self.sent_events.clear();
        }
        self.sent_events.insert(
            message_id,
            SentEvent {
                sop_class_uid: event.sop_class_uid.clone(),
                sop_instance_uid: event.sop_instance_uid.clone(),
                event_type_id: event.event_type_id,
            },
        );
        let command = Command {
            command_field: command_field::N_EVENT_REPORT_RQ,
            message_id: Some(message_id),
            affected_sop_class_uid: Some(event.sop_class_uid),
            affected_sop_instance_uid: Some(event.sop_instance_uid),
            event_type_id: Some(event.event_type_id),
            has_data_set: data.is_some(),
            ..Default::default()
        };
        debug!(assoc = self.id, "sending {command}");
        pdu::write_message(
            &mut self.write,
            event.context_id,
            true,
            &command.encode(),
            self.peer_max_pdu,
        )
        .await?;
        if let Some(bytes) = data {
            pdu::write_message(
                &mut self.write,
                event.context_id,
                false,
                &bytes,
                self.peer_max_pdu,
            )
            .await?;
        }
        self.write.flush().await
    }
}
