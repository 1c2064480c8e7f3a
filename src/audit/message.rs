//! The DICOM audit message (PS3.15 A.5.1): its parts as plain data and their XML, in the
//! element order of the schema. The XML has no line breaks (a line break in a value is a
//! character reference), so that a message is one line of the file destination; values
//! are escaped, and characters XML 1.0 cannot carry are replaced by U+FFFD.

use super::codes::{
    APPLICATION_SERVER, AccessPointType, Action, Code, LIFE_CYCLE_EXPORT, ObjectRole, Outcome,
    SYSTEM_OBJECT,
};
use crate::xml::escape_into;
use std::time::SystemTime;

/// Longest free text (an outcome description, an alert description) kept in a message,
/// characters: a reason that came from the network is bounded before it is audited.
pub const MAX_TEXT: usize = 1024;

/// One audit message.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditMessage {
    pub event: Event,
    /// ActiveParticipant, one or more.
    pub participants: Vec<Participant>,
    pub source: AuditSource,
    /// ParticipantObjectIdentification, any number.
    pub objects: Vec<ParticipantObject>,
}

/// EventIdentification.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Code,
    pub action: Action,
    pub time: SystemTime,
    pub outcome: Outcome,
    pub types: Vec<Code>,
    pub outcome_description: Option<String>,
}

/// ActiveParticipant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Participant {
    pub user_id: String,
    pub alternative_user_id: Option<String>,
    pub user_name: Option<String>,
    pub requestor: bool,
    pub roles: Vec<Code>,
    /// MediaIdentifier/MediaType, for a Destination Media participant.
    pub media_type: Option<Code>,
    pub access_point: Option<(String, AccessPointType)>,
}

/// AuditSourceIdentification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSource {
    pub id: String,
    pub enterprise_site_id: Option<String>,
}

/// ParticipantObjectIdentification (always a system object here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantObject {
    pub id: String,
    pub id_type: Code,
    pub role: Option<ObjectRole>,
    /// Set for an object being exported (life cycle "10").
    pub exported: bool,
    pub name: Option<String>,
    /// ParticipantObjectDetail: type, and the value (sent base64-encoded).
    pub details: Vec<(String, String)>,
    /// ParticipantObjectDescription/SOPClass: the class UID and its instances' UIDs.
    pub sop_class: Option<(String, Vec<String>)>,
}

impl AuditMessage {
    /// The message as the XML of PS3.15 A.5.1, with its XML declaration.
    pub fn to_xml(&self) -> String {
        let mut x = Xml::default();
        x.0.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        x.open("AuditMessage", &[]);
        self.event.write(&mut x);
        for p in &self.participants {
            p.write(&mut x);
        }
        let site = self.source.enterprise_site_id.as_deref();
        let mut attrs = vec![("AuditSourceID", self.source.id.as_str())];
        if let Some(site) = site {
            attrs.push(("AuditEnterpriseSiteID", site));
        }
        x.open("AuditSourceIdentification", &attrs);
        x.empty("AuditSourceTypeCode", &[("csd-code", APPLICATION_SERVER)]);
        x.close("AuditSourceIdentification");
        for o in &self.objects {
            o.write(&mut x);
        }
        x.close("AuditMessage");
        x.0
    }
}

impl Event {
    fn write(&self, x: &mut Xml) {
        let time = crate::time::rfc3339_utc(self.time);
        x.open(
            "EventIdentification",
            &[
                ("EventActionCode", self.action.code()),
                ("EventDateTime", &time),
                ("EventOutcomeIndicator", self.outcome.code()),
            ],
        );
        x.code("EventID", &self.id);
        for t in &self.types {
            x.code("EventTypeCode", t);
        }
        if let Some(d) = &self.outcome_description {
            x.text("EventOutcomeDescription", &bounded(d));
        }
        x.close("EventIdentification");
    }
}

impl Participant {
    fn write(&self, x: &mut Xml) {
        let mut attrs = vec![("UserID", self.user_id.as_str())];
        if let Some(alt) = &self.alternative_user_id {
            attrs.push(("AlternativeUserID", alt));
        }
        if let Some(name) = &self.user_name {
            attrs.push(("UserName", name));
        }
        attrs.push((
            "UserIsRequestor",
            if self.requestor { "true" } else { "false" },
        ));
        if let Some((id, kind)) = &self.access_point {
            attrs.push(("NetworkAccessPointID", id));
            attrs.push(("NetworkAccessPointTypeCode", kind.code()));
        }
        x.open("ActiveParticipant", &attrs);
        for r in &self.roles {
            x.code("RoleIDCode", r);
        }
        if let Some(media) = &self.media_type {
            x.open("MediaIdentifier", &[]);
            x.code("MediaType", media);
            x.close("MediaIdentifier");
        }
        x.close("ActiveParticipant");
    }
}

impl ParticipantObject {
    fn write(&self, x: &mut Xml) {
        let mut attrs = vec![
            ("ParticipantObjectID", self.id.as_str()),
            ("ParticipantObjectTypeCode", SYSTEM_OBJECT),
        ];
        if let Some(role) = self.role {
            attrs.push(("ParticipantObjectTypeCodeRole", role.code()));
        }
        if self.exported {
            attrs.push(("ParticipantObjectDataLifeCycle", LIFE_CYCLE_EXPORT));
        }
        x.open("ParticipantObjectIdentification", &attrs);
        x.code("ParticipantObjectIDTypeCode", &self.id_type);
        // The schema wants a name or a query; the ID stands in for a missing name.
        x.text(
            "ParticipantObjectName",
            self.name.as_deref().unwrap_or(&self.id),
        );
        for (kind, value) in &self.details {
            let encoded = base64(bounded(value).as_bytes());
            x.empty(
                "ParticipantObjectDetail",
                &[("type", kind), ("value", &encoded)],
            );
        }
        if let Some((class, instances)) = &self.sop_class {
            let count = instances.len().to_string();
            x.open("ParticipantObjectDescription", &[]);
            x.open("SOPClass", &[("UID", class), ("NumberOfInstances", &count)]);
            for uid in instances {
                x.empty("Instance", &[("UID", uid)]);
            }
            x.close("SOPClass");
            x.close("ParticipantObjectDescription");
        }
        x.close("ParticipantObjectIdentification");
    }
}

/// `text` cut to [`MAX_TEXT`] characters, marked when cut.
pub fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// Appends XML to a string.
#[derive(Default)]
struct Xml(String);

impl Xml {
    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.0.push('<');
        self.0.push_str(name);
        for (k, v) in attrs {
            self.0.push(' ');
            self.0.push_str(k);
            self.0.push_str("=\"");
            escape_into(&mut self.0, v);
            self.0.push('"');
        }
    }

    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start(name, attrs);
        self.0.push('>');
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start(name, attrs);
        self.0.push_str("/>");
    }

    fn close(&mut self, name: &str) {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }

    fn text(&mut self, name: &str, text: &str) {
        self.open(name, &[]);
        escape_into(&mut self.0, text);
        self.close(name);
    }

    /// A `CodedValueType` element.
    fn code(&mut self, name: &str, code: &Code) {
        self.empty(
            name,
            &[
                ("csd-code", code.code),
                ("codeSystemName", code.system),
                ("originalText", code.meaning),
            ],
        );
    }
}

/// Base64 (RFC 4648, with padding): the encoding of `xsd:base64Binary`, which
/// ParticipantObjectDetail values take (PS3.15 A.5.1).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::codes::*;
    use super::*;

    #[test]
    fn base64_is_rfc_4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn text_is_bounded() {
        let long = "x".repeat(MAX_TEXT + 10);
        assert_eq!(bounded(&long).chars().count(), MAX_TEXT + 1);
        assert_eq!(bounded("short"), "short");
    }

    /// Hostile values in every free field come back unchanged through an XML parser, and
    /// the elements keep the schema's order.
    #[test]
    fn hostile_values_parse_back_unchanged() {
        let evil = "]]><x a=\"1\">&amp;\n</AuditMessage>";
        let message = AuditMessage {
            event: Event {
                id: SECURITY_ALERT,
                action: Action::Execute,
                time: std::time::UNIX_EPOCH,
                outcome: Outcome::MinorFailure,
                types: vec![NODE_AUTHENTICATION],
                outcome_description: Some(evil.into()),
            },
            participants: vec![Participant {
                user_id: evil.into(),
                alternative_user_id: Some(evil.into()),
                user_name: Some("filmd".into()),
                requestor: true,
                roles: vec![APPLICATION],
                media_type: Some(FILM),
                access_point: Some(("127.0.0.1".into(), AccessPointType::IpAddress)),
            }],
            source: AuditSource {
                id: evil.into(),
                enterprise_site_id: Some("site".into()),
            },
            objects: vec![ParticipantObject {
                id: evil.into(),
                id_type: NODE_ID,
                role: Some(ObjectRole::SecurityResource),
                exported: false,
                name: None,
                details: vec![(ALERT_DESCRIPTION.into(), evil.into())],
                sop_class: None,
            }],
        };
        let xml = message.to_xml();
        assert!(!xml.contains('\n'), "{xml}");
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "AuditMessage");
        let order: Vec<&str> = root
            .children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        assert_eq!(
            order,
            [
                "EventIdentification",
                "ActiveParticipant",
                "AuditSourceIdentification",
                "ParticipantObjectIdentification"
            ]
        );
        let event = root.first_element_child().unwrap();
        assert_eq!(
            event.attribute("EventDateTime"),
            Some("1970-01-01T00:00:00.000Z")
        );
        assert_eq!(event.attribute("EventOutcomeIndicator"), Some("4"));
        let description = event
            .children()
            .find(|n| n.has_tag_name("EventOutcomeDescription"))
            .unwrap();
        assert_eq!(description.text(), Some(evil));
        let p = root
            .children()
            .find(|n| n.has_tag_name("ActiveParticipant"))
            .unwrap();
        assert_eq!(p.attribute("UserID"), Some(evil));
        assert_eq!(p.attribute("AlternativeUserID"), Some(evil));
        let media = p
            .descendants()
            .find(|n| n.has_tag_name("MediaType"))
            .unwrap();
        assert_eq!(media.attribute("csd-code"), Some("110010"));
        let source = root
            .children()
            .find(|n| n.has_tag_name("AuditSourceIdentification"))
            .unwrap();
        assert_eq!(source.attribute("AuditSourceID"), Some(evil));
        let object = root.last_element_child().unwrap();
        assert_eq!(object.attribute("ParticipantObjectID"), Some(evil));
        let detail = object
            .children()
            .find(|n| n.has_tag_name("ParticipantObjectDetail"))
            .unwrap();
        assert_eq!(
            detail.attribute("value"),
            Some(base64(evil.as_bytes()).as_str())
        );
    }
}
