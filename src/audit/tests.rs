//! The audit messages' XML and codes, the syslog framing, the queue's dropping, and each
//! destination end to end on loopback (a UDP socket, a TLS listener with certificates
//! made here, a file).

use super::codes::*;
use super::events::*;
use super::message::{AuditSource, base64};
use super::transport::{Destination, MSGID, Syslog, octet_counted};
use super::*;
use roxmltree::{Document, Node};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

fn local() -> Local {
    Local {
        source: AuditSource {
            id: "FILMD".into(),
            enterprise_site_id: Some("Hospital & Co".into()),
        },
        ae_titles: vec!["FILMD".into(), "CT_FILM".into()],
        hostname: "printhost".into(),
        pid: 4242,
        user: Some("filmd-svc".into()),
    }
}

/// The element children of `node` named `name`.
fn children<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Vec<Node<'a, 'i>> {
    node.children().filter(|n| n.has_tag_name(name)).collect()
}

fn code_of(node: Node) -> (String, String, String) {
    (
        node.attribute("csd-code").unwrap_or_default().into(),
        node.attribute("codeSystemName").unwrap_or_default().into(),
        node.attribute("originalText").unwrap_or_default().into(),
    )
}

fn code(c: Code) -> (String, String, String) {
    (c.code.into(), c.system.into(), c.meaning.into())
}

/// EventID, EventTypeCodes, EventActionCode and EventOutcomeIndicator of a message.
fn event_of(doc: &Document) -> (Code, Vec<(String, String, String)>, String, String) {
    let event = children(doc.root_element(), "EventIdentification")[0];
    let id = code_of(children(event, "EventID")[0]);
    let known = [APPLICATION_ACTIVITY, EXPORT, SECURITY_ALERT]
        .into_iter()
        .find(|c| code(*c) == id)
        .unwrap_or_else(|| panic!("unknown EventID {id:?}"));
    let types = children(event, "EventTypeCode")
        .into_iter()
        .map(code_of)
        .collect();
    (
        known,
        types,
        event.attribute("EventActionCode").unwrap().into(),
        event.attribute("EventOutcomeIndicator").unwrap().into(),
    )
}

/// Each ActiveParticipant as (UserID, UserIsRequestor, role codes).
fn participants(doc: &Document) -> Vec<(String, bool, Vec<String>)> {
    children(doc.root_element(), "ActiveParticipant")
        .into_iter()
        .map(|p| {
            (
                p.attribute("UserID").unwrap().to_string(),
                p.attribute("UserIsRequestor") == Some("true"),
                children(p, "RoleIDCode")
                    .into_iter()
                    .map(|r| r.attribute("csd-code").unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

fn parse(message: &AuditMessage) -> String {
    let xml = message.to_xml();
    Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    xml
}

#[test]
fn application_start_and_stop() {
    let now = SystemTime::now();
    let xml = parse(&events::application_activity(&local(), true, now));
    let doc = Document::parse(&xml).unwrap();
    let (id, types, action, outcome) = event_of(&doc);
    assert_eq!(id, APPLICATION_ACTIVITY);
    assert_eq!(types, [code(APPLICATION_START)]);
    assert_eq!((action.as_str(), outcome.as_str()), ("E", "0"));
    assert_eq!(
        participants(&doc),
        [
            ("4242".into(), false, vec!["110150".into()]),
            ("filmd-svc".into(), true, vec!["110151".into()]),
        ]
    );
    let filmd = children(doc.root_element(), "ActiveParticipant")[0];
    assert_eq!(
        filmd.attribute("AlternativeUserID"),
        Some("AETITLES=FILMD;CT_FILM")
    );
    assert_eq!(filmd.attribute("UserName"), Some("filmd"));
    assert_eq!(filmd.attribute("NetworkAccessPointID"), Some("printhost"));
    assert_eq!(filmd.attribute("NetworkAccessPointTypeCode"), Some("1"));
    let source = children(doc.root_element(), "AuditSourceIdentification")[0];
    assert_eq!(source.attribute("AuditSourceID"), Some("FILMD"));
    assert_eq!(
        source.attribute("AuditEnterpriseSiteID"),
        Some("Hospital & Co")
    );
    assert!(children(doc.root_element(), "ParticipantObjectIdentification").is_empty());

    let xml = parse(&events::application_activity(&local(), false, now));
    let doc = Document::parse(&xml).unwrap();
    assert_eq!(event_of(&doc).1, [code(APPLICATION_STOP)]);
    assert_eq!(
        participants(&doc),
        [("4242".into(), true, vec!["110150".into()])]
    );
}

/// The Alert Subject of a Security Alert: (ID, ID type code, role, Alert Description).
fn alert_subject(doc: &Document) -> (String, String, Option<String>, String) {
    let object = children(doc.root_element(), "ParticipantObjectIdentification")[0];
    assert_eq!(object.attribute("ParticipantObjectTypeCode"), Some("2"));
    let detail = children(object, "ParticipantObjectDetail")
        .into_iter()
        .find(|d| d.attribute("type") == Some(ALERT_DESCRIPTION))
        .expect("an Alert Description");
    let description = detail.attribute("value").unwrap().to_string();
    (
        object.attribute("ParticipantObjectID").unwrap().into(),
        children(object, "ParticipantObjectIDTypeCode")[0]
            .attribute("csd-code")
            .unwrap()
            .into(),
        object
            .attribute("ParticipantObjectTypeCodeRole")
            .map(str::to_string),
        description,
    )
}

#[test]
fn configuration_loaded_is_a_security_configuration_alert_on_the_file() {
    let xml = parse(&events::configuration_loaded(
        &local(),
        Path::new("/etc/filmd/filmd conf.toml"),
        SystemTime::now(),
    ));
    let doc = Document::parse(&xml).unwrap();
    let (id, types, action, outcome) = event_of(&doc);
    assert_eq!(id, SECURITY_ALERT);
    assert_eq!(types, [code(SECURITY_CONFIGURATION)]);
    assert_eq!((action.as_str(), outcome.as_str()), ("E", "0"));
    let (subject, id_type, role, description) = alert_subject(&doc);
    assert_eq!(subject, "file:///etc/filmd/filmd%20conf.toml");
    assert_eq!(id_type, "12");
    assert_eq!(role.as_deref(), Some("5"));
    assert_eq!(
        description,
        base64(b"configuration loaded from /etc/filmd/filmd conf.toml")
    );
    let embedded =
        events::configuration_loaded(&local(), Path::new("<embedded>"), SystemTime::now());
    assert_eq!(embedded.objects[0].id, "filmd:embedded-configuration");
}

#[test]
fn a_refused_association_names_the_peer_and_both_ae_titles() {
    let peer: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let xml = parse(&events::association_refused(
        &local(),
        peer,
        "MODALITY ",
        "FILMD",
        "calling AE title not allowed",
        SystemTime::now(),
    ));
    let doc = Document::parse(&xml).unwrap();
    let (id, types, _, outcome) = event_of(&doc);
    assert_eq!(id, SECURITY_ALERT);
    assert_eq!(types, [code(NODE_AUTHENTICATION)]);
    assert_eq!(outcome, "4");
    let p = participants(&doc);
    assert_eq!(p[0], ("4242".into(), true, vec![]));
    assert_eq!(p[1], ("MODALITY".into(), false, vec![]));
    let nodes = children(doc.root_element(), "ActiveParticipant");
    assert_eq!(
        nodes[0].attribute("AlternativeUserID"),
        Some("AETITLES=FILMD")
    );
    assert_eq!(
        nodes[1].attribute("NetworkAccessPointID"),
        Some("192.0.2.7")
    );
    assert_eq!(nodes[1].attribute("NetworkAccessPointTypeCode"), Some("2"));
    let (subject, id_type, _, description) = alert_subject(&doc);
    assert_eq!(
        (subject.as_str(), id_type.as_str()),
        ("192.0.2.7", "110182")
    );
    assert_eq!(
        description,
        base64(
            b"association from 192.0.2.7:40000 refused: calling AE \"MODALITY\", called AE \
              \"FILMD\": calling AE title not allowed"
        )
    );
}

#[test]
fn a_tls_failure_is_a_node_authentication_failure() {
    let peer: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
    let xml = parse(&events::tls_failure(
        &local(),
        peer,
        "certificate <unknown issuer>",
        SystemTime::now(),
    ));
    let doc = Document::parse(&xml).unwrap();
    let (id, types, _, outcome) = event_of(&doc);
    assert_eq!((id, outcome.as_str()), (SECURITY_ALERT, "4"));
    assert_eq!(types, [code(NODE_AUTHENTICATION)]);
    assert_eq!(participants(&doc)[1].0, "2001:db8::1");
    let (subject, id_type, _, _) = alert_subject(&doc);
    assert_eq!(
        (subject.as_str(), id_type.as_str()),
        ("2001:db8::1", "110182")
    );
    let event = children(doc.root_element(), "EventIdentification")[0];
    let description = children(event, "EventOutcomeDescription")[0];
    assert_eq!(description.text(), Some("certificate <unknown issuer>"));
}

#[test]
fn operator_actions_are_uses_of_a_restricted_function_on_the_job() {
    let op = OperatorEvent {
        action: OperatorAction::Retry,
        target: OperatorTarget::Job {
            id: "J1".into(),
            print_job_uid: Some("1.2.3.4".into()),
        },
        operator: "alice".into(),
        result: Ok("printed again as J2".into()),
    };
    let xml = parse(&events::operator_action(&local(), &op, SystemTime::now()));
    let doc = Document::parse(&xml).unwrap();
    let (id, types, _, outcome) = event_of(&doc);
    assert_eq!((id, outcome.as_str()), (SECURITY_ALERT, "0"));
    assert_eq!(types, [code(USE_OF_RESTRICTED_FUNCTION)]);
    let p = participants(&doc);
    assert_eq!(p[0], ("alice".into(), true, vec![]));
    assert_eq!(p[1].0, "4242");
    let (subject, id_type, role, description) = alert_subject(&doc);
    assert_eq!(
        (subject.as_str(), id_type.as_str(), role.as_deref()),
        ("1.2.3.4", "PRINT-JOB", Some("20"))
    );
    assert_eq!(
        description,
        base64(b"retry of job J1 by alice: printed again as J2")
    );

    let refused = OperatorEvent {
        action: OperatorAction::Cancel,
        target: OperatorTarget::Job {
            id: "J9".into(),
            print_job_uid: None,
        },
        result: Err("no job J9".into()),
        ..op
    };
    let message = events::operator_action(&local(), &refused, SystemTime::now());
    let doc_xml = parse(&message);
    let doc = Document::parse(&doc_xml).unwrap();
    assert_eq!(event_of(&doc).3, "4");
    let (subject, id_type, _, _) = alert_subject(&doc);
    assert_eq!((subject.as_str(), id_type.as_str()), ("J9", "JOB-ID"));
}

#[test]
fn a_queue_action_names_the_queue_as_a_job_stream() {
    let op = OperatorEvent {
        action: OperatorAction::Refuse,
        target: OperatorTarget::Queue("films".into()),
        operator: "alice".into(),
        result: Ok("refusing new prints: no film".into()),
    };
    let xml = parse(&events::operator_action(&local(), &op, SystemTime::now()));
    let doc = Document::parse(&xml).unwrap();
    let (id, types, _, outcome) = event_of(&doc);
    assert_eq!((id, outcome.as_str()), (SECURITY_ALERT, "0"));
    assert_eq!(types, [code(USE_OF_RESTRICTED_FUNCTION)]);
    let (subject, id_type, role, description) = alert_subject(&doc);
    assert_eq!(
        (subject.as_str(), id_type.as_str(), role.as_deref()),
        ("films", "QUEUE", Some("21"))
    );
    assert_eq!(
        description,
        base64(b"refuse of queue films by alice: refusing new prints: no film")
    );
}

fn export(destination: ExportDestination) -> ExportEvent {
    ExportEvent {
        job_id: "0001-000001-abcd".into(),
        print_job_uid: "2.25.99".into(),
        calling_ae: "CT01".into(),
        calling_address: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5))),
        destination,
        outcome: Outcome::Success,
        description: None,
    }
}

#[test]
fn a_data_export_names_the_caller_filmd_the_media_and_the_print_job() {
    let printer = export(ExportDestination::Printer {
        uri: "ipps://printer.example:631/ipp/print".into(),
    });
    let xml = parse(&events::data_export(&local(), &printer, SystemTime::now()));
    let doc = Document::parse(&xml).unwrap();
    let (id, types, action, outcome) = event_of(&doc);
    assert_eq!((id, action.as_str(), outcome.as_str()), (EXPORT, "R", "0"));
    assert!(types.is_empty());
    assert_eq!(
        participants(&doc),
        [
            ("CT01".into(), true, vec!["110153".into()]),
            ("4242".into(), false, vec!["110153".into()]),
            (
                "ipps://printer.example:631/ipp/print".into(),
                false,
                vec!["110154".into()]
            ),
        ]
    );
    let nodes = children(doc.root_element(), "ActiveParticipant");
    assert_eq!(nodes[0].attribute("NetworkAccessPointID"), Some("10.0.0.5"));
    assert_eq!(
        nodes[0].attribute("AlternativeUserID"),
        Some("AETITLES=CT01")
    );
    assert_eq!(
        nodes[2].attribute("NetworkAccessPointID"),
        Some("printer.example")
    );
    let media = nodes[2]
        .descendants()
        .find(|n| n.has_tag_name("MediaType"))
        .unwrap();
    assert_eq!(code_of(media), code(FILM));
    let object = children(doc.root_element(), "ParticipantObjectIdentification")[0];
    assert_eq!(object.attribute("ParticipantObjectID"), Some("2.25.99"));
    assert_eq!(
        object.attribute("ParticipantObjectTypeCodeRole"),
        Some("20")
    );
    assert_eq!(
        object.attribute("ParticipantObjectDataLifeCycle"),
        Some("10")
    );
    assert_eq!(
        code_of(children(object, "ParticipantObjectIDTypeCode")[0]),
        code(PRINT_JOB_UID)
    );
    let name = children(object, "ParticipantObjectName")[0];
    assert_eq!(name.text(), Some("filmd job 0001-000001-abcd"));
    let class = object
        .descendants()
        .find(|n| n.has_tag_name("SOPClass"))
        .unwrap();
    assert_eq!(class.attribute("UID"), Some(PRINT_JOB_SOP_CLASS));
    assert_eq!(class.attribute("NumberOfInstances"), Some("1"));
    assert_eq!(
        children(class, "Instance")[0].attribute("UID"),
        Some("2.25.99")
    );

    let mut archive = export(ExportDestination::Archive {
        dir: "/var/lib/filmd/pdf".into(),
    });
    archive.outcome = Outcome::SeriousFailure;
    archive.description = Some("disk on fire".into());
    let message = events::data_export(&local(), &archive, SystemTime::now());
    let xml = parse(&message);
    let doc = Document::parse(&xml).unwrap();
    assert_eq!(event_of(&doc).3, "8");
    let media = children(doc.root_element(), "ActiveParticipant")[2];
    assert_eq!(media.attribute("UserID"), Some("file:///var/lib/filmd/pdf"));
    assert_eq!(media.attribute("NetworkAccessPointTypeCode"), Some("5"));
    let kind = media
        .descendants()
        .find(|n| n.has_tag_name("MediaType"))
        .unwrap();
    assert_eq!(code_of(kind), code(URI_MEDIA));
    assert_eq!(Severity::of(message.event.outcome), Severity::Warning);
}

#[test]
fn uri_hosts() {
    assert_eq!(
        uri_host("ipp://10.1.2.3:631/x").as_deref(),
        Some("10.1.2.3")
    );
    assert_eq!(uri_host("ipps://[::1]:631/x").as_deref(), Some("::1"));
    assert_eq!(uri_host("ipp://printer/x").as_deref(), Some("printer"));
    assert_eq!(uri_host("nonsense"), None);
}

#[test]
fn destinations_parse_with_their_default_ports() {
    let parse = |s: &str| Destination::parse(s);
    assert_eq!(
        parse("udp://audit.example"),
        Ok(Destination::Udp {
            host: "audit.example".into(),
            port: 514
        })
    );
    assert_eq!(
        parse("tls://[fe80::1]:7000"),
        Ok(Destination::Tls {
            host: "fe80::1".into(),
            port: 7000
        })
    );
    assert_eq!(
        parse("file:///var/log/audit.log"),
        Ok(Destination::File {
            path: "/var/log/audit.log".into()
        })
    );
    for bad in [
        "udp//x",
        "tcp://x:1",
        "udp://:514",
        "udp://x:port",
        "file://x/y",
        "file:///d/",
    ] {
        assert!(parse(bad).is_err(), "{bad} accepted");
    }
}

/// The RFC 5424 HEADER PS3.15 A.6/A.7 ask for, the BOM before the XML, and RFC 5425
/// octet counting.
#[test]
fn syslog_header_and_framing() {
    let syslog = Syslog {
        hostname: "print host\u{7}".into(),
        pid: 77,
    };
    let entry = Entry {
        time: std::time::UNIX_EPOCH + Duration::from_millis(1_795_608_000_123),
        severity: Severity::Notice,
        xml: "<AuditMessage/>".into(),
    };
    let message = syslog.message(&entry);
    let expected = b"<85>1 2026-11-25T12:00:00.123Z printhost filmd 77 DICOM+RFC3881 - \xEF\xBB\xBF<AuditMessage/>";
    assert_eq!(message, expected.to_vec());
    let warning = Entry {
        severity: Severity::Warning,
        ..entry
    };
    assert!(syslog.message(&warning).starts_with(b"<84>1 "));
    let framed = octet_counted(&message);
    let length = format!("{} ", message.len());
    assert_eq!(length, "84 ");
    assert_eq!(&framed[..3], length.as_bytes());
    assert_eq!(&framed[3..], &message[..]);
    assert_eq!(MSGID, "DICOM+RFC3881");
}

/// With nobody taking messages, a full queue drops and counts them, and never waits.
#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let (auditor, mut rx) = Auditor::queue(local(), 8);
    let started = Instant::now();
    for _ in 0..20_000 {
        auditor.application_start();
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(auditor.dropped(), 20_000 - 8);
    let mut queued = 0;
    while rx.try_recv().is_ok() {
        queued += 1;
    }
    assert_eq!(queued, 8);
    let off = Auditor::off();
    off.application_start();
    assert_eq!((off.is_on(), off.dropped()), (false, 0));
}

/// Splits a SYSLOG-MSG into its HEADER fields and the XML after the BOM.
fn split_syslog(message: &[u8]) -> (Vec<String>, String) {
    let bom = message
        .windows(3)
        .position(|w| w == b"\xEF\xBB\xBF")
        .expect("a BOM");
    let header = String::from_utf8(message[..bom].to_vec()).unwrap();
    let fields = header.split(' ').map(str::to_string).collect();
    (
        fields,
        String::from_utf8(message[bom + 3..].to_vec()).unwrap(),
    )
}

fn settings(destination: Destination) -> AuditSettings {
    AuditSettings {
        destination,
        ca_file: None,
        client_cert: None,
        queue_size: 16,
        source_id: "FILMD".into(),
        enterprise_site_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_sends_one_datagram_per_message() {
    let receiver = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = receiver.local_addr().unwrap().port();
    let (auditor, task) = start(
        &settings(Destination::Udp {
            host: "127.0.0.1".into(),
            port,
        }),
        local(),
    )
    .unwrap();
    auditor.application_start();
    auditor.configuration_loaded(Path::new("<embedded>"));
    let mut buf = vec![0u8; 65536];
    let mut ids = Vec::new();
    for _ in 0..2 {
        let n = tokio::time::timeout(Duration::from_secs(10), receiver.recv(&mut buf))
            .await
            .expect("a datagram")
            .unwrap();
        let (header, xml) = split_syslog(&buf[..n]);
        assert_eq!(header[0], "<85>1");
        assert_eq!(&header[2..7], ["printhost", "filmd", "4242", MSGID, "-"]);
        let doc = Document::parse(&xml).unwrap();
        ids.push(event_of(&doc).0);
    }
    assert_eq!(ids, [APPLICATION_ACTIVITY, SECURITY_ALERT]);
    task.stop(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_gets_one_line_per_message_and_application_stop_at_stop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let (auditor, task) =
        start(&settings(Destination::File { path: path.clone() }), local()).unwrap();
    auditor.application_start();
    auditor.association_refused("127.0.0.1:9".parse().unwrap(), "X\nY", "FILMD", "rule 3");
    auditor.application_stop();
    task.stop(Duration::from_secs(5)).await;
    let text = std::fs::read(&path).unwrap();
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 3);
    let kinds: Vec<_> = lines
        .iter()
        .map(|l| {
            let (header, xml) = split_syslog(l);
            let doc = Document::parse(&xml).unwrap();
            (header[0].clone(), event_of(&doc).1)
        })
        .collect();
    assert_eq!(kinds[0], ("<85>1".into(), vec![code(APPLICATION_START)]));
    assert_eq!(kinds[1], ("<84>1".into(), vec![code(NODE_AUTHENTICATION)]));
    assert_eq!(kinds[2], ("<85>1".into(), vec![code(APPLICATION_STOP)]));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o077 & !0o040, 0, "{mode:o}");
    assert!(auditor.dropped() == 0);
    // After its sender stopped, an auditor drops (and counts) at once.
    auditor.application_start();
    assert_eq!(auditor.dropped(), 1);
}

mod tls;
