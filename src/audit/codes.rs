//! The coded values of the audit messages, each with the wording of the standard: event
//! IDs (PS3.16 CID 400), event types (CID 401 Application Activity, CID 403 Security
//! Alert), active participant roles (CID 402), media types (CID 405) and participant
//! object ID types (CID 404 and PS3.15 A.5.1.2.4), and the small value sets of the schema
//! itself (PS3.15 A.5.1: EventActionCode, EventOutcomeIndicator, NetworkAccessPointTypeCode,
//! ParticipantObjectTypeCode, ParticipantObjectTypeCodeRole, ParticipantObjectDataLifeCycle).

/// A coded value, PS3.15 A.5.1 `CodedValueType`: `csd-code`, `codeSystemName` and
/// `originalText` (the DICOM Code Meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub system: &'static str,
    pub meaning: &'static str,
}

/// The DICOM Controlled Terminology (PS3.16 Annex D).
pub const DCM: &str = "DCM";
/// The value sets RFC 3881 defined, which PS3.15 A.5.1.2 keeps.
pub const RFC_3881: &str = "RFC-3881";
/// filmd's own codes: a coding scheme designator beginning "99" is a private one (PS3.16
/// Section 8.2), as PS3.15 A.5.1.2.4 allows for Participant Object ID Type Codes.
pub const FILMD_SCHEME: &str = "99FILMD";

const fn dcm(code: &'static str, meaning: &'static str) -> Code {
    Code {
        code,
        system: DCM,
        meaning,
    }
}

// Event ID, CID 400 "Audit Event ID".
pub const APPLICATION_ACTIVITY: Code = dcm("110100", "Application Activity");
pub const EXPORT: Code = dcm("110106", "Export");
pub const SECURITY_ALERT: Code = dcm("110113", "Security Alert");
pub const USER_AUTHENTICATION: Code = dcm("110114", "User Authentication");

// Event Type Code of Application Activity (PS3.15 A.5.3.1), CID 401.
pub const APPLICATION_START: Code = dcm("110120", "Application Start");
pub const APPLICATION_STOP: Code = dcm("110121", "Application Stop");
// Event Type Code of User Authentication (PS3.15 A.5.3.12).
pub const LOGIN: Code = dcm("110122", "Login");
pub const LOGOUT: Code = dcm("110123", "Logout");

// Event Type Code of Security Alert (PS3.15 A.5.3.11), CID 403 "Security Alert Type".
pub const NODE_AUTHENTICATION: Code = dcm("110126", "Node Authentication");
pub const NETWORK_CONFIGURATION: Code = dcm("110128", "Network Configuration");
pub const SECURITY_CONFIGURATION: Code = dcm("110129", "Security Configuration");
pub const SOFTWARE_CONFIGURATION: Code = dcm("110131", "Software Configuration");
pub const USE_OF_RESTRICTED_FUNCTION: Code = dcm("110132", "Use of Restricted Function");
pub const AUDIT_RECORDING_STOPPED: Code = dcm("110133", "Audit Recording Stopped");
pub const AUDIT_RECORDING_STARTED: Code = dcm("110134", "Audit Recording Started");

// Role ID Code, CID 402 "Audit Active Participant Role ID Code".
pub const APPLICATION: Code = dcm("110150", "Application");
pub const APPLICATION_LAUNCHER: Code = dcm("110151", "Application Launcher");
pub const DESTINATION_ROLE: Code = dcm("110152", "Destination Role ID");
pub const SOURCE_ROLE: Code = dcm("110153", "Source Role ID");
pub const DESTINATION_MEDIA: Code = dcm("110154", "Destination Media");

// Media Type, CID 405 "Media Type Code" (Data Export's Media participant, A.5.3.4).
pub const FILM: Code = dcm("110010", "Film");
pub const URI_MEDIA: Code = dcm("110037", "URI");
pub const PAPER_DOCUMENT: Code = dcm("110038", "Paper Document");

// Participant Object ID Type Code, PS3.15 A.5.1.2.4 and CID 404.
pub const URI: Code = Code {
    code: "12",
    system: RFC_3881,
    meaning: "URI",
};
pub const NODE_ID: Code = dcm("110182", "Node ID");
/// A Print Job SOP Instance (PS3.4 H.4.8): CID 404 has no code for a SOP Instance UID
/// other than a study's, so filmd names it with its own scheme.
pub const PRINT_JOB_UID: Code = Code {
    code: "PRINT-JOB",
    system: FILMD_SCHEME,
    meaning: "Print Job SOP Instance UID",
};

/// Basic Print Job SOP Class UID (PS3.4 H.4.8), in a Print Job participant object's
/// description.
pub const PRINT_JOB_SOP_CLASS: &str = "1.2.840.10008.5.1.1.14";

/// The type of a ParticipantObjectDetail whose value describes a Security Alert (PS3.15
/// A.5.3.11: mandatory, free text).
pub const ALERT_DESCRIPTION: &str = "Alert Description";

/// EventActionCode (PS3.15 A.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// "R": Read/View/Print/Query — Data Export is "Shall be: R".
    Read,
    /// "E": Execute — Application Activity and Security Alert.
    Execute,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Read => "R",
            Action::Execute => "E",
        }
    }
}

/// EventOutcomeIndicator (PS3.15 A.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// "0": Nominal Success (for a Security Alert: an informative alert).
    Success,
    /// "4": Minor failure (for a Security Alert: mitigation was effective, e.g. a peer was
    /// refused).
    MinorFailure,
    /// "8": Serious failure.
    SeriousFailure,
    /// "12": Major failure (reporting application now unavailable).
    MajorFailure,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Success => "0",
            Outcome::MinorFailure => "4",
            Outcome::SeriousFailure => "8",
            Outcome::MajorFailure => "12",
        }
    }
}

/// NetworkAccessPointTypeCode (PS3.15 A.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessPointType {
    /// "1": Machine Name, including DNS name.
    MachineName,
    /// "2": IP Address.
    IpAddress,
    /// "5": URI.
    Uri,
}

impl AccessPointType {
    pub fn code(self) -> &'static str {
        match self {
            AccessPointType::MachineName => "1",
            AccessPointType::IpAddress => "2",
            AccessPointType::Uri => "5",
        }
    }
}

/// ParticipantObjectTypeCode "2": System Object (the only one filmd reports).
pub const SYSTEM_OBJECT: &str = "2";

/// ParticipantObjectTypeCodeRole (PS3.15 A.5.1.2.2, A.5.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectRole {
    /// "5": Master File, "any configurable file used to control creation of documents or
    /// behavior" (a Security Alert's defined term).
    MasterFile,
    /// "13": Security Resource.
    SecurityResource,
    /// "20": Job, "an order, task, work item, procedure step, or other description of work
    /// to be performed".
    Job,
    /// "21": Job Stream: a print queue, the stream its jobs go through.
    JobStream,
}

impl ObjectRole {
    pub fn code(self) -> &'static str {
        match self {
            ObjectRole::MasterFile => "5",
            ObjectRole::SecurityResource => "13",
            ObjectRole::Job => "20",
            ObjectRole::JobStream => "21",
        }
    }
}

/// ParticipantObjectDataLifeCycle "10": Export or Copy to target.
pub const LIFE_CYCLE_EXPORT: &str = "10";

/// AuditSourceTypeCode "4": Application server process tier in a multi-tier system
/// (PS3.15 A.5.1.2.1).
pub const APPLICATION_SERVER: &str = "4";
