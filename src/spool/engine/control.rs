//! The operator's controls as the engine applies them: holding and releasing a job,
//! giving it an identity, pausing and resuming a queue (these wake the workers at once),
//! and refusing new prints.

use super::*;
use crate::spool::Identity;
use crate::spool::store::{Assigned, HeldChange};

impl Inner {
    fn known_queue(&self, queue: &str) -> Result<(), SpoolError> {
        if self.outputs.contains_key(queue) {
            Ok(())
        } else {
            Err(SpoolError::UnknownQueue(queue.to_string()))
        }
    }

    /// Wakes whatever may now start a job of `queue`.
    fn wake_all(&self, queue: &str) {
        self.wake_compose();
        self.wake_queue(queue);
        self.wake_store(queue);
    }

    /// Merges an operator's identity into a job's and releases it.
    pub(in crate::spool) fn assign(&self, id: &str, identity: &Identity) -> Result<(), SpoolError> {
        match self.store.assign(id, identity, now_ms())? {
            Assigned::Done { released } => {
                let keys: Vec<&str> = identity.keys().map(String::as_str).collect();
                info!(job = %id, "identity given by the operator ({}){}", keys.join(", "),
                    if released { "; released" } else { "" });
                if let Ok(Some(row)) = self.store.get(id) {
                    self.wake_all(&row.queue);
                }
                Ok(())
            }
            Assigned::Unknown => Err(SpoolError::UnknownJob(id.to_string())),
            Assigned::Refused(why) => Err(SpoolError::NotAssignable {
                id: id.to_string(),
                why,
            }),
        }
    }

    /// Holds (or releases) a job; true if that changed it.
    pub(in crate::spool) fn set_held(&self, id: &str, held: bool) -> Result<bool, SpoolError> {
        // A compose thread picks jobs under this lock: holding it while the hold is
        // committed means the job is either picked already (and seen here) or never
        // picked while held. Composing *is* delivering for a queue without a printer (its
        // PDF goes to the archive), so such a job can no longer be held once picked.
        let claimed = lock(&self.claimed);
        if held
            && claimed.contains(id)
            && let Ok(Some(row)) = self.store.get(id)
            && row.state == State::Received
            && self
                .outputs
                .get(&row.queue)
                .is_some_and(|o| !o.has_printer())
        {
            return Err(SpoolError::NotHoldable {
                id: id.to_string(),
                state: "being written to the archive",
            });
        }
        let change = self.store.set_held(id, held, now_ms())?;
        drop(claimed);
        match change {
            HeldChange::Changed(_) => {
                info!(job = %id, "{} by the operator", if held { "held" } else { "released" });
                if !held && let Ok(Some(row)) = self.store.get(id) {
                    self.wake_all(&row.queue);
                }
                Ok(true)
            }
            HeldChange::Unchanged(_) => Ok(false),
            HeldChange::Unknown => Err(SpoolError::UnknownJob(id.to_string())),
            HeldChange::NotHoldable(state) => Err(SpoolError::NotHoldable {
                id: id.to_string(),
                state: state.as_str(),
            }),
        }
    }

    /// Pauses (or resumes) a queue; true if that changed it.
    pub(in crate::spool) fn set_paused(
        &self,
        queue: &str,
        paused: bool,
    ) -> Result<bool, SpoolError> {
        self.known_queue(queue)?;
        let changed = self.store.set_paused(queue, paused, now_ms())?;
        if changed {
            info!(
                queue,
                "{} by the operator",
                if paused { "paused" } else { "resumed" }
            );
            if !paused {
                self.wake_all(queue);
            }
        }
        Ok(changed)
    }

    /// Makes a queue refuse new prints with `reason` (or accept them, `None`); true if
    /// that changed it.
    pub(in crate::spool) fn set_refusing(
        &self,
        queue: &str,
        reason: Option<&str>,
    ) -> Result<bool, SpoolError> {
        self.known_queue(queue)?;
        let changed = self.store.set_refusing(queue, reason, now_ms())?;
        if changed {
            match reason {
                Some(r) => info!(queue, "refusing new prints: {r}"),
                None => info!(queue, "accepting new prints again"),
            }
        }
        Ok(changed)
    }

    /// Refuses a job for a queue that refuses new prints (the caller logs it, with the
    /// association or operator it came from).
    pub(super) fn check_refusal(&self, queue: &str) -> Result<(), SpoolError> {
        match self.store.refusal(queue)? {
            Some(reason) => Err(SpoolError::Refused {
                queue: queue.to_string(),
                reason,
            }),
            None => Ok(()),
        }
    }
}
