//! DIMSE command sets (PS3.7 chapter 9, 10 and Annex E): encoding and decoding of the
//! group 0000 elements, always Implicit VR Little Endian.
//!
//! dicom-rs has no DIMSE layer, so filmd carries its own. The decoder walks the command's
//! elements itself: a command is small, fully received before parsing, and every length is
//! checked against the bytes present.

use std::fmt;

/// Command Field values (PS3.7 E.1).
pub mod command_field {
    pub const C_STORE_RQ: u16 = 0x0001;
    pub const C_STORE_RSP: u16 = 0x8001;
    pub const C_FIND_RQ: u16 = 0x0020;
    pub const C_FIND_RSP: u16 = 0x8020;
    pub const C_ECHO_RQ: u16 = 0x0030;
    pub const C_ECHO_RSP: u16 = 0x8030;
    pub const N_EVENT_REPORT_RQ: u16 = 0x0100;
    pub const N_EVENT_REPORT_RSP: u16 = 0x8100;
    pub const N_GET_RQ: u16 = 0x0110;
    pub const N_GET_RSP: u16 = 0x8110;
    pub const N_SET_RQ: u16 = 0x0120;
    pub const N_SET_RSP: u16 = 0x8120;
    pub const N_ACTION_RQ: u16 = 0x0130;
    pub const N_ACTION_RSP: u16 = 0x8130;
    pub const N_CREATE_RQ: u16 = 0x0140;
    pub const N_CREATE_RSP: u16 = 0x8140;
    pub const N_DELETE_RQ: u16 = 0x0150;
    pub const N_DELETE_RSP: u16 = 0x8150;
    pub const C_CANCEL_RQ: u16 = 0x0FFF;

    /// The response Command Field for a request's.
    pub fn response_for(request: u16) -> u16 {
        request | 0x8000
    }

    /// A short name for logs.
    pub fn name(field: u16) -> &'static str {
        match field {
            C_STORE_RQ => "C-STORE-RQ",
            C_STORE_RSP => "C-STORE-RSP",
            C_FIND_RQ => "C-FIND-RQ",
            C_FIND_RSP => "C-FIND-RSP",
            C_ECHO_RQ => "C-ECHO-RQ",
            C_ECHO_RSP => "C-ECHO-RSP",
            N_EVENT_REPORT_RQ => "N-EVENT-REPORT-RQ",
            N_EVENT_REPORT_RSP => "N-EVENT-REPORT-RSP",
            N_GET_RQ => "N-GET-RQ",
            N_GET_RSP => "N-GET-RSP",
            N_SET_RQ => "N-SET-RQ",
            N_SET_RSP => "N-SET-RSP",
            N_ACTION_RQ => "N-ACTION-RQ",
            N_ACTION_RSP => "N-ACTION-RSP",
            N_CREATE_RQ => "N-CREATE-RQ",
            N_CREATE_RSP => "N-CREATE-RSP",
            N_DELETE_RQ => "N-DELETE-RQ",
            N_DELETE_RSP => "N-DELETE-RSP",
            C_CANCEL_RQ => "C-CANCEL-RQ",
            _ => "unknown command",
        }
    }
}

/// Command Data Set Type (0000,0800): this value means "no data set"; anything else means
/// one follows (PS3.7 E.1).
pub const NO_DATA_SET: u16 = 0x0101;
/// The value filmd writes when a data set follows.
pub const DATA_SET_PRESENT: u16 = 0x0000;

/// Command element tags (group 0000), as (group << 16 | element).
pub mod tag {
    pub const COMMAND_GROUP_LENGTH: u32 = 0x0000_0000;
    pub const AFFECTED_SOP_CLASS_UID: u32 = 0x0000_0002;
    pub const REQUESTED_SOP_CLASS_UID: u32 = 0x0000_0003;
    pub const COMMAND_FIELD: u32 = 0x0000_0100;
    pub const MESSAGE_ID: u32 = 0x0000_0110;
    pub const MESSAGE_ID_BEING_RESPONDED_TO: u32 = 0x0000_0120;
    pub const PRIORITY: u32 = 0x0000_0700;
    pub const COMMAND_DATA_SET_TYPE: u32 = 0x0000_0800;
    pub const STATUS: u32 = 0x0000_0900;
    pub const OFFENDING_ELEMENT: u32 = 0x0000_0901;
    pub const ERROR_COMMENT: u32 = 0x0000_0902;
    pub const ERROR_ID: u32 = 0x0000_0903;
    pub const AFFECTED_SOP_INSTANCE_UID: u32 = 0x0000_1000;
    pub const REQUESTED_SOP_INSTANCE_UID: u32 = 0x0000_1001;
    pub const EVENT_TYPE_ID: u32 = 0x0000_1002;
    pub const ATTRIBUTE_IDENTIFIER_LIST: u32 = 0x0000_1005;
    pub const ACTION_TYPE_ID: u32 = 0x0000_1008;
}

/// A DIMSE command set with the fields print management uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    pub command_field: u16,
    pub message_id: Option<u16>,
    pub message_id_being_responded_to: Option<u16>,
    pub affected_sop_class_uid: Option<String>,
    pub requested_sop_class_uid: Option<String>,
    pub affected_sop_instance_uid: Option<String>,
    pub requested_sop_instance_uid: Option<String>,
    pub priority: Option<u16>,
    pub has_data_set: bool,
    pub status: Option<u16>,
    pub offending_element: Vec<u32>,
    pub error_comment: Option<String>,
    pub error_id: Option<u16>,
    pub event_type_id: Option<u16>,
    pub action_type_id: Option<u16>,
    pub attribute_identifier_list: Vec<u32>,
}

/// A command set that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid command set: {0}")]
pub struct CommandError(pub String);

fn uid_value(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches(['\0', ' '])
        .trim_start()
        .to_string()
}

fn read_us(tag: u32, v: &[u8]) -> Result<u16, CommandError> {
    if v.len() != 2 {
        return Err(CommandError(format!(
            "({:04X},{:04X}) must be 2 bytes, has {}",
            tag >> 16,
            tag & 0xFFFF,
            v.len()
        )));
    }
    Ok(u16::from_le_bytes([v[0], v[1]]))
}

fn read_at_list(v: &[u8]) -> Result<Vec<u32>, CommandError> {
    if !v.len().is_multiple_of(4) {
        return Err(CommandError(
            "attribute tag list length not a multiple of 4".into(),
        ));
    }
    Ok(v.chunks_exact(4)
        .map(|c| {
            (u32::from(u16::from_le_bytes([c[0], c[1]])) << 16)
                | u32::from(u16::from_le_bytes([c[2], c[3]]))
        })
        .collect())
}

/// Error Comment is LO in the default repertoire (command sets have no Specific
/// Character Set): ASCII, no backslash (the value separator), at most 64 characters.
pub fn lo_ascii(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\\' => '/',
            '×' => 'x',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '?',
        })
        .take(64)
        .collect()
}

impl Command {
    /// Decodes an Implicit VR Little Endian command set.
    pub fn decode(bytes: &[u8]) -> Result<Command, CommandError> {
        let mut cmd = Command::default();
        let mut at = 0usize;
        let mut have_field = false;
        let mut data_set_type = None;
        while at < bytes.len() {
            if bytes.len() - at < 8 {
                return Err(CommandError("truncated element header".into()));
            }
            let group = u16::from_le_bytes([bytes[at], bytes[at + 1]]);
            let element = u16::from_le_bytes([bytes[at + 2], bytes[at + 3]]);
            let len =
                u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]])
                    as usize;
            at += 8;
            if group != 0 {
                return Err(CommandError(format!(
                    "element ({group:04X},{element:04X}) outside group 0000"
                )));
            }
            if len > bytes.len() - at {
                return Err(CommandError(format!(
                    "element (0000,{element:04X}) declares {len} bytes, {} left",
                    bytes.len() - at
                )));
            }
            let v = &bytes[at..at + len];
            at += len;
            let tag = u32::from(element);
            match tag {
                tag::COMMAND_FIELD => {
                    cmd.command_field = read_us(tag, v)?;
                    have_field = true;
                }
                tag::MESSAGE_ID => cmd.message_id = Some(read_us(tag, v)?),
                tag::MESSAGE_ID_BEING_RESPONDED_TO => {
                    cmd.message_id_being_responded_to = Some(read_us(tag, v)?)
                }
                tag::AFFECTED_SOP_CLASS_UID => cmd.affected_sop_class_uid = Some(uid_value(v)),
                tag::REQUESTED_SOP_CLASS_UID => cmd.requested_sop_class_uid = Some(uid_value(v)),
                tag::AFFECTED_SOP_INSTANCE_UID => {
                    cmd.affected_sop_instance_uid = Some(uid_value(v))
                }
                tag::REQUESTED_SOP_INSTANCE_UID => {
                    cmd.requested_sop_instance_uid = Some(uid_value(v))
                }
                tag::PRIORITY => cmd.priority = Some(read_us(tag, v)?),
                tag::COMMAND_DATA_SET_TYPE => data_set_type = Some(read_us(tag, v)?),
                tag::STATUS => cmd.status = Some(read_us(tag, v)?),
                tag::OFFENDING_ELEMENT => cmd.offending_element = read_at_list(v)?,
                tag::ERROR_COMMENT => cmd.error_comment = Some(uid_value(v)),
                tag::ERROR_ID => cmd.error_id = Some(read_us(tag, v)?),
                tag::EVENT_TYPE_ID => cmd.event_type_id = Some(read_us(tag, v)?),
                tag::ACTION_TYPE_ID => cmd.action_type_id = Some(read_us(tag, v)?),
                tag::ATTRIBUTE_IDENTIFIER_LIST => cmd.attribute_identifier_list = read_at_list(v)?,
                _ => {} // group length and retired/unknown command elements are not needed
            }
        }
        if !have_field {
            return Err(CommandError("Command Field (0000,0100) missing".into()));
        }
        let data_set_type = data_set_type
            .ok_or_else(|| CommandError("Command Data Set Type (0000,0800) missing".into()))?;
        cmd.has_data_set = data_set_type != NO_DATA_SET;
        Ok(cmd)
    }

    /// Encodes the command set, Command Group Length first, elements in tag order.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(256);
        let mut put = |tag: u32, value: &[u8]| {
            body.extend_from_slice(&0u16.to_le_bytes());
            body.extend_from_slice(&((tag & 0xFFFF) as u16).to_le_bytes());
            body.extend_from_slice(&(value.len() as u32).to_le_bytes());
            body.extend_from_slice(value);
        };
        let uid = |s: &str| {
            let mut v = s.as_bytes().to_vec();
            if v.len() % 2 == 1 {
                v.push(0);
            }
            v
        };
        let text = |s: &str| {
            let mut v = s.as_bytes().to_vec();
            if v.len() % 2 == 1 {
                v.push(b' ');
            }
            v
        };
        let at_list = |tags: &[u32]| {
            tags.iter()
                .flat_map(|t| {
                    let mut b = ((t >> 16) as u16).to_le_bytes().to_vec();
                    b.extend_from_slice(&((t & 0xFFFF) as u16).to_le_bytes());
                    b
                })
                .collect::<Vec<u8>>()
        };
        if let Some(v) = &self.affected_sop_class_uid {
            put(tag::AFFECTED_SOP_CLASS_UID, &uid(v));
        }
        if let Some(v) = &self.requested_sop_class_uid {
            put(tag::REQUESTED_SOP_CLASS_UID, &uid(v));
        }
        put(tag::COMMAND_FIELD, &self.command_field.to_le_bytes());
        if let Some(v) = self.message_id {
            put(tag::MESSAGE_ID, &v.to_le_bytes());
        }
        if let Some(v) = self.message_id_being_responded_to {
            put(tag::MESSAGE_ID_BEING_RESPONDED_TO, &v.to_le_bytes());
        }
        if let Some(v) = self.priority {
            put(tag::PRIORITY, &v.to_le_bytes());
        }
        let dst = if self.has_data_set {
            DATA_SET_PRESENT
        } else {
            NO_DATA_SET
        };
        put(tag::COMMAND_DATA_SET_TYPE, &dst.to_le_bytes());
        if let Some(v) = self.status {
            put(tag::STATUS, &v.to_le_bytes());
        }
        if !self.offending_element.is_empty() {
            put(tag::OFFENDING_ELEMENT, &at_list(&self.offending_element));
        }
        if let Some(v) = &self.error_comment {
            put(tag::ERROR_COMMENT, &text(&lo_ascii(v)));
        }
        if let Some(v) = self.error_id {
            put(tag::ERROR_ID, &v.to_le_bytes());
        }
        if let Some(v) = &self.affected_sop_instance_uid {
            put(tag::AFFECTED_SOP_INSTANCE_UID, &uid(v));
        }
        if let Some(v) = &self.requested_sop_instance_uid {
            put(tag::REQUESTED_SOP_INSTANCE_UID, &uid(v));
        }
        if let Some(v) = self.event_type_id {
            put(tag::EVENT_TYPE_ID, &v.to_le_bytes());
        }
        if !self.attribute_identifier_list.is_empty() {
            put(
                tag::ATTRIBUTE_IDENTIFIER_LIST,
                &at_list(&self.attribute_identifier_list),
            );
        }
        if let Some(v) = self.action_type_id {
            put(tag::ACTION_TYPE_ID, &v.to_le_bytes());
        }
        let mut out = Vec::with_capacity(body.len() + 12);
        out.extend_from_slice(&[0, 0, 0, 0, 4, 0, 0, 0]);
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// The SOP Class UID the request is about: Affected for N-CREATE/N-EVENT-REPORT/C-ECHO,
    /// Requested for N-SET/N-GET/N-ACTION/N-DELETE (PS3.7 10.3).
    pub fn sop_class_uid(&self) -> Option<&str> {
        self.requested_sop_class_uid
            .as_deref()
            .or(self.affected_sop_class_uid.as_deref())
    }

    /// The SOP Instance UID the request is about.
    pub fn sop_instance_uid(&self) -> Option<&str> {
        self.requested_sop_instance_uid
            .as_deref()
            .or(self.affected_sop_instance_uid.as_deref())
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", command_field::name(self.command_field))?;
        if let Some(id) = self.message_id.or(self.message_id_being_responded_to) {
            write!(f, " #{id}")?;
        }
        if let Some(c) = self.sop_class_uid() {
            write!(f, " class {c}")?;
        }
        if let Some(i) = self.sop_instance_uid() {
            write!(f, " instance {i}")?;
        }
        if let Some(s) = self.status {
            write!(f, " status 0x{s:04X}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_round_trips() {
        let cmd = Command {
            command_field: command_field::N_SET_RQ,
            message_id: Some(7),
            requested_sop_class_uid: Some("1.2.840.10008.5.1.1.4".into()),
            requested_sop_instance_uid: Some("1.2.3.4".into()),
            has_data_set: true,
            ..Default::default()
        };
        let bytes = cmd.encode();
        assert_eq!(bytes.len() % 2, 0);
        assert_eq!(Command::decode(&bytes).unwrap(), cmd);
    }

    #[test]
    fn response_with_error_fields_round_trips() {
        let cmd = Command {
            command_field: command_field::N_CREATE_RSP,
            message_id_being_responded_to: Some(3),
            affected_sop_class_uid: Some("1.2.840.10008.5.1.1.2".into()),
            status: Some(0x0106),
            offending_element: vec![0x2010_0010],
            error_comment: Some("Image Display Format invalid".into()),
            attribute_identifier_list: vec![0x2110_0010, 0x2110_0020],
            ..Default::default()
        };
        assert_eq!(Command::decode(&cmd.encode()).unwrap(), cmd);
    }

    #[test]
    fn error_comments_are_ascii_lo_values() {
        let long = format!(
            "Image Display Format \"STANDARD\\0,5\": {}×{}",
            "x".repeat(50),
            "é"
        );
        let c = lo_ascii(&long);
        assert!(c.len() <= 64 && c.is_ascii() && !c.contains('\\'), "{c}");
        assert!(c.starts_with("Image Display Format \"STANDARD/0,5\""));
    }

    #[test]
    fn group_length_matches_the_body() {
        let bytes = Command {
            command_field: command_field::C_ECHO_RSP,
            ..Default::default()
        }
        .encode();
        let declared = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
        assert_eq!(declared, bytes.len() - 12);
    }

    #[test]
    fn lengths_beyond_the_buffer_and_missing_fields_are_errors() {
        let mut bytes = Command {
            command_field: command_field::C_ECHO_RQ,
            message_id: Some(1),
            ..Default::default()
        }
        .encode();
        let n = bytes.len();
        bytes[n - 6] = 0xFF; // inflate the last element's length
        assert!(Command::decode(&bytes).is_err());
        assert!(Command::decode(&[0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(Command::decode(&[8, 0, 0x10, 0, 0, 0, 0, 0]).is_err());
        assert!(Command::decode(&[1, 2, 3]).is_err());
    }
}
