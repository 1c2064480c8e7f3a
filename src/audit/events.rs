//! The messages filmd sends, one function per event, after the message definitions of
//! PS3.15 A.5.3: Application Activity (A.5.3.1), Data Export (A.5.3.4) and Security Alert
//! (A.5.3.11). filmd itself appears in each as the process (UserID its process ID, as the
//! system logs name it, A.5.2.1), with its AE titles as `AETITLES=…` (A.5.2.2) and its
//! host as the network access point.

use super::codes::*;
use super::message::{AuditMessage, AuditSource, Event, Participant, ParticipantObject};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Who filmd is, in every message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    pub source: AuditSource,
    /// Every called AE title filmd answers to.
    pub ae_titles: Vec<String>,
    pub hostname: String,
    pub pid: u32,
    /// The account filmd runs as: who launched it, as far as filmd can tell.
    pub user: Option<String>,
}

/// The job ID filmd's spool gave a job, when its Print Job UID is not known.
pub const SPOOL_JOB_ID: Code = Code {
    code: "JOB-ID",
    system: FILMD_SCHEME,
    meaning: "filmd Job ID",
};

/// A print queue, named by filmd's configuration (a queue action's subject).
pub const QUEUE_NAME: Code = Code {
    code: "QUEUE",
    system: FILMD_SCHEME,
    meaning: "filmd print queue",
};

/// What an operator did to a job or a queue (admin socket or web console).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorAction {
    Cancel,
    Retry,
    Hold,
    Release,
    Pause,
    Resume,
    Refuse,
    Accept,
    /// An identity given to a job for its PACS destinations (`filmd assign`).
    Assign,
}

impl OperatorAction {
    pub fn term(self) -> &'static str {
        match self {
            OperatorAction::Cancel => "cancel",
            OperatorAction::Retry => "retry",
            OperatorAction::Hold => "hold",
            OperatorAction::Release => "release",
            OperatorAction::Pause => "pause",
            OperatorAction::Resume => "resume",
            OperatorAction::Refuse => "refuse",
            OperatorAction::Accept => "accept",
            OperatorAction::Assign => "assign",
        }
    }
}

/// What an operator acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorTarget {
    Job {
        id: String,
        /// The job's Print Job SOP Instance UID, when the job is known.
        print_job_uid: Option<String>,
    },
    Queue(String),
}

/// An operator's action on a job (cancel, retry, hold, release) or a queue (pause,
/// resume, refuse, accept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorEvent {
    pub action: OperatorAction,
    pub target: OperatorTarget,
    /// The account that asked (the admin socket's peer credentials, or the web console's
    /// user).
    pub operator: String,
    /// What came of it: done (with e.g. the new job's ID), or refused and why.
    pub result: Result<String, String>,
}

/// Where a job's films went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportDestination {
    /// An IPP printer: films on paper or film.
    Printer { uri: String },
    /// The PDF archive directory of the queue.
    Archive { dir: PathBuf },
}

/// A job delivered (or, with a failure outcome, perhaps delivered) to an output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportEvent {
    pub job_id: String,
    pub print_job_uid: String,
    pub calling_ae: String,
    /// The calling SCU's address, when known.
    pub calling_address: Option<IpAddr>,
    pub destination: ExportDestination,
    pub outcome: Outcome,
    pub description: Option<String>,
}

impl Local {
    /// filmd as an active participant.
    fn filmd(&self, requestor: bool, role: Option<Code>) -> Participant {
        Participant {
            user_id: self.pid.to_string(),
            alternative_user_id: Some(ae_titles(&self.ae_titles)),
            user_name: Some("filmd".into()),
            requestor,
            roles: role.into_iter().collect(),
            media_type: None,
            access_point: Some(host_access_point(&self.hostname)),
        }
    }

    fn message(
        &self,
        event: Event,
        participants: Vec<Participant>,
        objects: Vec<ParticipantObject>,
    ) -> AuditMessage {
        AuditMessage {
            event,
            participants,
            source: self.source.clone(),
            objects,
        }
    }
}

fn event(id: Code, action: Action, time: SystemTime, outcome: Outcome, types: &[Code]) -> Event {
    Event {
        id,
        action,
        time,
        outcome,
        types: types.to_vec(),
        outcome_description: None,
    }
}

/// `AETITLES=A;B` (PS3.15 A.5.2.2).
pub fn ae_titles(titles: &[String]) -> String {
    format!(
        "AETITLES={}",
        titles
            .iter()
            .map(|t| t.trim())
            .collect::<Vec<_>>()
            .join(";")
    )
}

/// A host name or address as a network access point: type 2 for an IP address, 1 for a
/// machine name.
fn host_access_point(host: &str) -> (String, AccessPointType) {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => (ip.to_string(), AccessPointType::IpAddress),
        Err(_) => (host.to_string(), AccessPointType::MachineName),
    }
}

/// Application Activity, Application Start or Stop (PS3.15 A.5.3.1): filmd is the
/// Application; at start the account it runs as is its Application Launcher.
pub fn application_activity(local: &Local, start: bool, time: SystemTime) -> AuditMessage {
    let kind = if start {
        APPLICATION_START
    } else {
        APPLICATION_STOP
    };
    let launcher = local.user.as_ref().filter(|_| start);
    let mut participants = vec![local.filmd(launcher.is_none(), Some(APPLICATION))];
    if let Some(user) = launcher {
        participants.push(Participant {
            user_id: user.clone(),
            requestor: true,
            roles: vec![APPLICATION_LAUNCHER],
            ..Participant::default()
        });
    }
    local.message(
        event(
            APPLICATION_ACTIVITY,
            Action::Execute,
            time,
            Outcome::Success,
            &[kind],
        ),
        participants,
        Vec::new(),
    )
}

/// The Alert Subject of a Security Alert (PS3.15 A.5.3.11): a system object with the
/// mandatory "Alert Description" detail.
fn alert_subject(
    id: String,
    id_type: Code,
    role: Option<ObjectRole>,
    alert: &str,
) -> ParticipantObject {
    ParticipantObject {
        id,
        id_type,
        role,
        exported: false,
        name: None,
        details: vec![(ALERT_DESCRIPTION.into(), alert.into())],
        sop_class: None,
    }
}

/// Security Alert, Security Configuration: the configuration was loaded from `source`
/// (informative, outcome success). The file is the Alert Subject, a Master File named by
/// its URI.
pub fn configuration_loaded(local: &Local, source: &Path, time: SystemTime) -> AuditMessage {
    let uri = if source == Path::new("<embedded>") {
        "filmd:embedded-configuration".to_string()
    } else {
        file_uri(source)
    };
    let alert = format!("configuration loaded from {}", source.display());
    let subject = ParticipantObject {
        name: Some(source.display().to_string()),
        ..alert_subject(uri, URI, Some(ObjectRole::MasterFile), &alert)
    };
    local.message(
        event(
            SECURITY_ALERT,
            Action::Execute,
            time,
            Outcome::Success,
            &[SECURITY_CONFIGURATION],
        ),
        vec![local.filmd(true, None)],
        vec![subject],
    )
}

/// The peer of a refused association or handshake, as a performing process (which
/// PS3.15 A.5.3.11 wants with UserIsRequestor false).
fn peer_participant(peer: SocketAddr, calling: Option<&str>) -> Participant {
    let ip = peer.ip().to_string();
    Participant {
        user_id: calling.map_or_else(|| ip.clone(), |c| c.trim().to_string()),
        alternative_user_id: calling.map(|c| ae_titles(&[c.to_string()])),
        requestor: false,
        access_point: Some((ip, AccessPointType::IpAddress)),
        ..Participant::default()
    }
}

/// Security Alert, Node Authentication, minor failure: an association from `peer` was
/// refused by an access rule (the refusal is the mitigation that worked).
pub fn association_refused(
    local: &Local,
    peer: SocketAddr,
    calling: &str,
    called: &str,
    reason: &str,
    time: SystemTime,
) -> AuditMessage {
    let alert = format!(
        "association from {peer} refused: calling AE {:?}, called AE {:?}: {reason}",
        calling.trim(),
        called.trim()
    );
    let mut filmd = local.filmd(true, None);
    filmd.alternative_user_id = Some(ae_titles(&[called.to_string()]));
    let mut e = event(
        SECURITY_ALERT,
        Action::Execute,
        time,
        Outcome::MinorFailure,
        &[NODE_AUTHENTICATION],
    );
    e.outcome_description = Some(reason.to_string());
    local.message(
        e,
        vec![filmd, peer_participant(peer, Some(calling))],
        vec![alert_subject(peer.ip().to_string(), NODE_ID, None, &alert)],
    )
}

/// Security Alert, Node Authentication, minor failure: a TLS handshake with `peer` failed
/// (a certificate refused, no common protocol...), so no association was made.
pub fn tls_failure(
    local: &Local,
    peer: SocketAddr,
    detail: &str,
    time: SystemTime,
) -> AuditMessage {
    let alert = format!("TLS with {peer} failed: {detail}");
    let mut e = event(
        SECURITY_ALERT,
        Action::Execute,
        time,
        Outcome::MinorFailure,
        &[NODE_AUTHENTICATION],
    );
    e.outcome_description = Some(detail.to_string());
    local.message(
        e,
        vec![local.filmd(true, None), peer_participant(peer, None)],
        vec![alert_subject(peer.ip().to_string(), NODE_ID, None, &alert)],
    )
}

/// A job as a participant object: its Print Job SOP Instance UID (with the Basic Print
/// Job SOP Class in its description) when known, else filmd's job ID; named by the job
/// ID either way.
fn print_job(job_id: &str, uid: Option<&str>, exported: bool) -> ParticipantObject {
    let (id, id_type, sop_class) = match uid {
        Some(uid) => (
            uid.to_string(),
            PRINT_JOB_UID,
            Some((PRINT_JOB_SOP_CLASS.to_string(), vec![uid.to_string()])),
        ),
        None => (job_id.to_string(), SPOOL_JOB_ID, None),
    };
    ParticipantObject {
        id,
        id_type,
        role: Some(ObjectRole::Job),
        exported,
        name: Some(format!("filmd job {job_id}")),
        details: vec![("JobID".into(), job_id.to_string())],
        sop_class,
    }
}

/// Security Alert, Use of Restricted Function: an operator acted on a job (cancel, retry,
/// hold, release) or a queue (pause, resume, refuse, accept). The operator and filmd
/// report it; the job or the queue (role Job Stream) is the Alert Subject. A refused
/// request is a minor failure.
pub fn operator_action(local: &Local, op: &OperatorEvent, time: SystemTime) -> AuditMessage {
    let (outcome, what) = match &op.result {
        Ok(done) if done.is_empty() => (Outcome::Success, "done".to_string()),
        Ok(done) => (Outcome::Success, done.clone()),
        Err(why) => (Outcome::MinorFailure, format!("refused: {why}")),
    };
    let (kind, name) = match &op.target {
        OperatorTarget::Job { id, .. } => ("job", id),
        OperatorTarget::Queue(name) => ("queue", name),
    };
    let alert = format!(
        "{} of {kind} {name} by {}: {what}",
        op.action.term(),
        op.operator
    );
    let mut subject = match &op.target {
        OperatorTarget::Job { id, print_job_uid } => print_job(id, print_job_uid.as_deref(), false),
        OperatorTarget::Queue(name) => ParticipantObject {
            id: name.clone(),
            id_type: QUEUE_NAME,
            role: Some(ObjectRole::JobStream),
            exported: false,
            name: Some(format!("filmd queue {name}")),
            details: Vec::new(),
            sop_class: None,
        },
    };
    subject
        .details
        .insert(0, (ALERT_DESCRIPTION.into(), alert.clone()));
    let mut e = event(
        SECURITY_ALERT,
        Action::Execute,
        time,
        outcome,
        &[USE_OF_RESTRICTED_FUNCTION],
    );
    e.outcome_description = Some(alert);
    let operator = Participant {
        user_id: op.operator.clone(),
        requestor: true,
        ..Participant::default()
    };
    local.message(e, vec![operator, local.filmd(false, None)], vec![subject])
}

/// Data Export (PS3.15 A.5.3.4): a job's films left filmd for a printer or the PDF
/// archive. The calling AE asked for it (requestor) and filmd exported it (both Source
/// Role ID, A.5.3.4.1: one requestor); the printer or archive is the Destination Media,
/// named by its URI (A.5.2.1's preferred form); the Print Job is the object exported.
///
/// PS3.15 lists Patients (1..N) among the objects; Basic Print Management carries no
/// Patient ID (the image boxes hold pixels only), so filmd has none to report.
pub fn data_export(local: &Local, export: &ExportEvent, time: SystemTime) -> AuditMessage {
    let calling = Participant {
        user_id: export.calling_ae.trim().to_string(),
        alternative_user_id: Some(ae_titles(std::slice::from_ref(&export.calling_ae))),
        requestor: true,
        roles: vec![SOURCE_ROLE],
        access_point: export
            .calling_address
            .map(|ip| (ip.to_string(), AccessPointType::IpAddress)),
        ..Participant::default()
    };
    let media = match &export.destination {
        ExportDestination::Printer { uri } => Participant {
            user_id: uri.clone(),
            requestor: false,
            roles: vec![DESTINATION_MEDIA],
            media_type: Some(FILM),
            access_point: uri_host(uri).map(|h| host_access_point(&h)),
            ..Participant::default()
        },
        ExportDestination::Archive { dir } => {
            let uri = file_uri(dir);
            Participant {
                user_id: uri.clone(),
                requestor: false,
                roles: vec![DESTINATION_MEDIA],
                media_type: Some(URI_MEDIA),
                access_point: Some((uri, AccessPointType::Uri)),
                ..Participant::default()
            }
        }
    };
    let mut e = event(EXPORT, Action::Read, time, export.outcome, &[]);
    e.outcome_description = export.description.clone();
    local.message(
        e,
        vec![calling, local.filmd(false, Some(SOURCE_ROLE)), media],
        vec![print_job(&export.job_id, Some(&export.print_job_uid), true)],
    )
}

/// The host of a URI such as `ipp://host:631/ipp/print` or `ipps://[::1]:631/…`.
pub fn uri_host(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_string())
}

/// A `file://` URI of `path` made absolute (against the working directory), with the
/// characters a URI path cannot hold percent-encoded (RFC 8089, RFC 3986 3.3).
pub fn file_uri(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file://");
    for &b in absolute.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}
