//! Exchanges beyond one request and one response: C-FIND's Pending responses and their
//! C-CANCEL (PS3.7 9.1.2, 9.3.2.3), and waiting for an N-EVENT-REPORT with no request
//! outstanding (a Storage Commitment report, PS3.4 J.3.3).

use super::{Reply, Scu, ScuError, codec};
use crate::net::dimse::{Command, command_field as cf};
use dicom_object::InMemDicomObject;
use std::time::{Duration, Instant};

/// What a pending response of a multi-response request ([`Scu::request_each`]) asks of
/// the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on receiving responses.
    Continue,
    /// Send a C-CANCEL-RQ (PS3.7 9.3.2.3) and drain the responses until the final one.
    Cancel,
}

/// Whether a status is Pending (PS3.7 C.1.5: FF00, and FF01 "optional keys not
/// supported" of C-FIND): more responses follow.
pub fn is_pending(status: u16) -> bool {
    status == 0xFF00 || status == 0xFF01
}

/// Bound on the responses drained after a C-CANCEL-RQ: an SCP goes on sending Pending
/// responses only until it sees the cancel (PS3.7 9.3.2.3), one that sends more is
/// ignoring it, and the association is aborted.
pub const MAX_DRAINED: usize = 100;

/// A multi-response exchange ([`Scu::request_each`]) must end within this many DIMSE
/// timeouts in all, however steadily the SCP sends Pending responses; past that the
/// association is aborted.
pub const EXCHANGE_TIMEOUTS: u32 = 2;

impl Scu {
    /// Sends a request that may have several responses (C-FIND, PS3.7 9.1.2): each
    /// Pending one goes to `on_pending`, the final one is returned. When `on_pending`
    /// answers [`Flow::Cancel`], a C-CANCEL-RQ is sent once and the remaining responses
    /// are drained without being passed on.
    ///
    /// Bounded against an SCP that never ends it: the whole exchange within
    /// [`EXCHANGE_TIMEOUTS`] × the DIMSE timeout, at most [`MAX_DRAINED`] responses after
    /// the C-CANCEL; beyond either the association is aborted and the error is
    /// [`ScuError::Protocol`].
    pub fn request_each(
        &mut self,
        abstract_syntax: &str,
        command: Command,
        data: Option<&InMemDicomObject>,
        on_pending: impl FnMut(Reply) -> Flow,
    ) -> Result<Reply, ScuError> {
        let total = self.dimse_timeout * EXCHANGE_TIMEOUTS;
        self.exchange_deadline = Some((Instant::now() + total, total));
        let result = self.exchange(abstract_syntax, command, data, on_pending);
        let restored = self.restore_read_timeout();
        let reply = result?;
        restored?;
        Ok(reply)
    }

    fn exchange(
        &mut self,
        abstract_syntax: &str,
        command: Command,
        data: Option<&InMemDicomObject>,
        mut on_pending: impl FnMut(Reply) -> Flow,
    ) -> Result<Reply, ScuError> {
        let (ctx, ts) = self
            .context(abstract_syntax)
            .ok_or_else(|| ScuError::NoContext(abstract_syntax.into()))?;
        let bytes = data
            .map(|d| codec::encode(d, &ts))
            .transpose()
            .map_err(|e| ScuError::Encode(e.to_string()))?;
        let (id, ts) = self.send_request(abstract_syntax, command, bytes.as_deref())?;
        let mut drained: Option<usize> = None;
        loop {
            let reply = self.receive_response(id, &ts)?;
            if !is_pending(reply.status()) {
                return Ok(reply);
            }
            if let Some(n) = drained.as_mut() {
                *n += 1;
                if *n > MAX_DRAINED {
                    return Err(self.abort_with(format!(
                        "more than {MAX_DRAINED} Pending responses after C-CANCEL"
                    )));
                }
                continue;
            }
            if on_pending(reply) == Flow::Cancel {
                drained = Some(0);
                let cancel = Command {
                    command_field: cf::C_CANCEL_RQ,
                    message_id_being_responded_to: Some(id),
                    ..Default::default()
                };
                self.send_message(ctx, &cancel, None)?;
            }
        }
    }

    /// Waits up to `timeout` for one more N-EVENT-REPORT (answered with success and
    /// recorded in [`Scu::events`]): true when one came, false when the time ran out.
    /// Any other message is a protocol error (no request is outstanding).
    ///
    /// `timeout` bounds the wait for the message's first PDU only: once it has begun,
    /// the rest comes under the DIMSE timeout, so that a short wait repeated does not
    /// cut a report between its command and its data set (and should the DIMSE timeout
    /// run out in between, what arrived is kept for the next call).
    pub fn wait_event(&mut self, timeout: Duration) -> Result<bool, ScuError> {
        self.first_pdu_by = Some(Instant::now() + timeout);
        let received = self.receive_message();
        let restored = self.restore_read_timeout();
        let received = match received {
            Ok((ctx, c, data)) if c.command_field == cf::N_EVENT_REPORT_RQ => {
                self.take_event(ctx, c, data)?;
                true
            }
            Ok((_, c, _)) => return Err(ScuError::Protocol(format!("expected an event, got {c}"))),
            Err(ScuError::Timeout(_)) => false,
            Err(e) => return Err(e),
        };
        restored?;
        Ok(received)
    }
}
