//! Reassembly of DIMSE messages from PDVs (PS3.7 section 9.1, PS3.8 Annex E).
//!
//! A command set and its data set may each be fragmented over any number of PDVs, carried in
//! any number of P-DATA-TF PDUs. Fragments accumulate as they arrive (nothing is allocated
//! from a declared size) and the message is bounded by `max_message`.

use super::dimse::Command;
use super::pdu::Pdv;

/// Largest command set accepted; real ones are a few hundred bytes.
pub const MAX_COMMAND_LEN: usize = 64 * 1024;

/// A complete DIMSE message: its command and, when announced, its data set bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub context_id: u8,
    pub command: Command,
    pub data: Option<Vec<u8>>,
}

/// A protocol violation found while reassembling; the association is aborted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReassemblyError {
    #[error(
        "PDV on presentation context {got} while a message on context {expected} is incomplete"
    )]
    ContextChanged { expected: u8, got: u8 },
    #[error("data set PDV without a command announcing one")]
    UnexpectedData,
    #[error("command PDV while the data set of the previous command is incomplete")]
    UnexpectedCommand,
    #[error("command set larger than {MAX_COMMAND_LEN} bytes")]
    CommandTooLarge,
    #[error("message larger than the limit of {0} bytes")]
    MessageTooLarge(usize),
    #[error("{0}")]
    BadCommand(String),
}

#[derive(Debug, Default)]
enum State {
    #[default]
    Idle,
    Command {
        context_id: u8,
        bytes: Vec<u8>,
    },
    Data {
        context_id: u8,
        command: Command,
        bytes: Vec<u8>,
    },
}

/// Per-association reassembly state.
#[derive(Debug)]
pub struct Reassembler {
    state: State,
    max_message: usize,
}

impl Reassembler {
    pub fn new(max_message: usize) -> Self {
        Reassembler {
            state: State::Idle,
            max_message,
        }
    }

    /// True while part of a message has arrived.
    pub fn in_progress(&self) -> bool {
        !matches!(self.state, State::Idle)
    }

    /// Feeds one PDV; returns a message when it completes one.
    pub fn feed(&mut self, pdv: Pdv) -> Result<Option<Message>, ReassemblyError> {
        let state = std::mem::take(&mut self.state);
        match (state, pdv.is_command) {
            (State::Idle, true) => self.command_fragment(pdv.context_id, Vec::new(), pdv),
            (State::Idle, false) => Err(ReassemblyError::UnexpectedData),
            (State::Command { context_id, bytes }, true) => {
                if context_id != pdv.context_id {
                    return Err(ReassemblyError::ContextChanged {
                        expected: context_id,
                        got: pdv.context_id,
                    });
                }
                self.command_fragment(context_id, bytes, pdv)
            }
            (State::Command { .. }, false) => Err(ReassemblyError::UnexpectedData),
            (State::Data { .. }, true) => Err(ReassemblyError::UnexpectedCommand),
            (
                State::Data {
                    context_id,
                    command,
                    mut bytes,
                },
                false,
            ) => {
                if context_id != pdv.context_id {
                    return Err(ReassemblyError::ContextChanged {
                        expected: context_id,
                        got: pdv.context_id,
                    });
                }
                if bytes.len() + pdv.data.len() > self.max_message {
                    return Err(ReassemblyError::MessageTooLarge(self.max_message));
                }
                if bytes.is_empty() {
                    bytes = pdv.data;
                } else {
                    bytes.extend_from_slice(&pdv.data);
                }
                if pdv.is_last {
                    Ok(Some(Message {
                        context_id,
                        command,
                        data: Some(bytes),
                    }))
                } else {
                    self.state = State::Data {
                        context_id,
                        command,
                        bytes,
                    };
                    Ok(None)
                }
            }
        }
    }

    fn command_fragment(
        &mut self,
        context_id: u8,
        mut bytes: Vec<u8>,
        pdv: Pdv,
    ) -> Result<Option<Message>, ReassemblyError> {
        if bytes.len() + pdv.data.len() > MAX_COMMAND_LEN {
            return Err(ReassemblyError::CommandTooLarge);
        }
        bytes.extend_from_slice(&pdv.data);
        if !pdv.is_last {
            self.state = State::Command { context_id, bytes };
            return Ok(None);
        }
        let command =
            Command::decode(&bytes).map_err(|e| ReassemblyError::BadCommand(e.to_string()))?;
        if command.has_data_set {
            self.state = State::Data {
                context_id,
                command,
                bytes: Vec::new(),
            };
            Ok(None)
        } else {
            Ok(Some(Message {
                context_id,
                command,
                data: None,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::dimse::command_field;

    fn pdv(ctx: u8, cmd: bool, last: bool, data: &[u8]) -> Pdv {
        Pdv {
            context_id: ctx,
            is_command: cmd,
            is_last: last,
            data: data.to_vec(),
        }
    }

    fn command(with_data: bool) -> Vec<u8> {
        Command {
            command_field: command_field::N_SET_RQ,
            message_id: Some(1),
            has_data_set: with_data,
            ..Default::default()
        }
        .encode()
    }

    #[test]
    fn command_and_data_fragmented_byte_by_byte() {
        let cmd = command(true);
        let mut r = Reassembler::new(1000);
        for (i, b) in cmd.iter().enumerate() {
            assert_eq!(
                r.feed(pdv(3, true, i + 1 == cmd.len(), &[*b])).unwrap(),
                None
            );
        }
        assert!(r.in_progress());
        assert_eq!(r.feed(pdv(3, false, false, b"ab")).unwrap(), None);
        let m = r.feed(pdv(3, false, true, b"cd")).unwrap().unwrap();
        assert_eq!(m.data.as_deref(), Some(&b"abcd"[..]));
        assert_eq!(m.command.message_id, Some(1));
        assert!(!r.in_progress());
    }

    #[test]
    fn command_without_data_set_completes_at_once() {
        let mut r = Reassembler::new(1000);
        let m = r
            .feed(pdv(1, true, true, &command(false)))
            .unwrap()
            .unwrap();
        assert!(m.data.is_none());
    }

    #[test]
    fn protocol_violations_are_reported() {
        let mut r = Reassembler::new(1000);
        assert_eq!(
            r.feed(pdv(1, false, true, b"xx")),
            Err(ReassemblyError::UnexpectedData)
        );
        let mut r = Reassembler::new(1000);
        r.feed(pdv(1, true, true, &command(true))).unwrap();
        assert_eq!(
            r.feed(pdv(3, false, true, b"xx")),
            Err(ReassemblyError::ContextChanged {
                expected: 1,
                got: 3
            })
        );
        let mut r = Reassembler::new(4);
        r.feed(pdv(1, true, true, &command(true))).unwrap();
        assert_eq!(
            r.feed(pdv(1, false, false, b"abcdef")),
            Err(ReassemblyError::MessageTooLarge(4))
        );
        let mut r = Reassembler::new(1000);
        assert!(matches!(
            r.feed(pdv(1, true, true, b"garbage!")),
            Err(ReassemblyError::BadCommand(_))
        ));
    }
}
