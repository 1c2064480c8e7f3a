//! Exchanges beyond one request and one response: C-FIND's Pending responses and their
//! C-CANCEL (PS3.7 9.1.2, 9.3.2.3), and waiting for an N-EVENT-REPORT with no request
//! outstanding (a Storage Commitment report, PS3.4 J.3.3).

use super::{Reply, Scu, ScuError, codec};
use crate::net::dimse::{Command, command_field as cf};
use dicom_object::InMemDicomObject;
use std::time::Duration;

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

impl Scu {
    /// Sends a request that may have several responses (C-FIND, PS3.7 9.1.2): each
    /// Pending one goes to `on_pending`, the final one is returned. When `on_pending`
    /// answers [`Flow::Cancel`], a C-CANCEL-RQ is sent once and the remaining responses
    /// are drained without being passed on.
    pub fn request_each(
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
        let mut cancelled = false;
        loop {
            let reply = self.receive_response(id, &ts)?;
            if !is_pending(reply.status()) {
                return Ok(reply);
            }
            if cancelled {
                continue;
            }
            if on_pending(reply) == Flow::Cancel {
                cancelled = true;
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
    pub fn wait_event(&mut self, timeout: Duration) -> Result<bool, ScuError> {
        let set = |scu: &mut Scu, t: Duration| -> Result<(), ScuError> {
            scu.assoc()?
                .socket()
                .set_read_timeout(Some(t.max(Duration::from_millis(1))))
                .map_err(|e| ScuError::Receive(format!("set read timeout: {e}")))
        };
        set(self, timeout)?;
        let received = self.receive_message();
        if self.assoc.is_some() {
            let dimse_timeout = self.dimse_timeout;
            set(self, dimse_timeout)?;
        }
        match received {
            Ok((ctx, c, data)) if c.command_field == cf::N_EVENT_REPORT_RQ => {
                self.take_event(ctx, c, data)?;
                Ok(true)
            }
            Ok((_, c, _)) => Err(ScuError::Protocol(format!("expected an event, got {c}"))),
            Err(ScuError::Timeout(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
