//! The configuration file's schema: what the TOML holds, the embedded default that runs as
//! is, and the validation behind `filmd check-config`, whose messages name the key and the
//! problem. The server never reads these types: it runs on their resolved
//! [`Settings`](super::Settings).

use super::error::{ConfigError, ConfigIssue};
use crate::film::{FilmSize, FormatKind, Medium, size::FILM_SIZES};
use crate::net::access::{AccessRules, AeGlob, IpNetwork};
use crate::outputs::archive::PdfName;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The configuration `filmd serve` runs with when no file is given.
pub const DEFAULT_CONFIG: &str = r#"# filmd's embedded default configuration.
[server]
ae_title = "FILMD"
listen = "0.0.0.0:11112"
data_dir = "./filmd-data"

[[queue]]
name = "default"
dpi = 300
"#;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub printer: PrinterIdentity,
    #[serde(default, rename = "queue")]
    pub queues: Vec<QueueConfig>,
    #[serde(default)]
    pub spool: SpoolSettings,
    #[serde(default)]
    pub tls: TlsConfig,
    #[serde(default)]
    pub audit: super::audit::AuditConfig,
    #[serde(default)]
    pub admin: super::admin::AdminConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// AE title of the default (first) queue when it names none itself.
    pub ae_title: String,
    pub listen: String,
    pub data_dir: PathBuf,
    /// Associations served at once; more are rejected (transient, local limit exceeded).
    pub max_associations: usize,
    /// Associations served at once from one source address; more are rejected the same
    /// way, so that one device cannot take every slot.
    pub max_associations_per_host: usize,
    /// Connections at once that have not yet sent their A-ASSOCIATE-RQ (nor finished their
    /// TLS handshake); counted apart from associations. When all are taken, the address
    /// holding the most gives up its oldest.
    pub max_pending: usize,
    /// Maximum PDU length announced to peers, bytes.
    pub max_pdu: u32,
    /// Largest PDU tolerated from a peer that ignores our maximum, bytes.
    pub pdu_cap: u32,
    /// Largest DIMSE message (command + data set), MiB.
    pub max_message_mib: u32,
    /// Seconds a silent association is kept.
    pub idle_timeout_secs: u64,
    /// Seconds allowed between connecting and the A-ASSOCIATE-RQ (TLS handshake included).
    pub association_timeout_secs: u64,
    /// Seconds running associations get to finish when the server stops.
    pub shutdown_grace_secs: u64,
    /// Image boxes with images held at once by one association, MiB of pixel data.
    pub max_association_image_mib: u32,
    /// Where annotations.toml (Annotation Display Formats) and custom.toml (`CUSTOM\i`
    /// Image Display Formats) are read from; a file absent there is replaced by the
    /// embedded copy of the shipped one.
    pub layouts_dir: PathBuf,
    /// Where fonts for annotation text (*.ttf, *.otf) are read from.
    pub fonts_dir: PathBuf,
    /// Admit any peer whose A-ASSOCIATE-RQ proposes only Verification (C-ECHO), whatever
    /// the queues' `allow_calling` and `allow_from` say (as Orthanc's
    /// DicomAlwaysAllowEcho).
    pub echo_from_anyone: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            ae_title: "FILMD".into(),
            listen: "0.0.0.0:11112".into(),
            data_dir: PathBuf::from("./filmd-data"),
            max_associations: 32,
            max_associations_per_host: 16,
            max_pending: 64,
            max_pdu: 262_144,
            pdu_cap: 16 << 20,
            max_message_mib: 256,
            idle_timeout_secs: 120,
            association_timeout_secs: 10,
            shutdown_grace_secs: 10,
            max_association_image_mib: 2048,
            layouts_dir: PathBuf::from("layouts"),
            fonts_dir: PathBuf::from("fonts"),
            echo_from_anyone: false,
        }
    }
}

/// DICOM over TLS (PS3.15 B.9, BCP 195): a second listener beside the plain one (or
/// instead of it, with `server.listen = ""`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// ADDRESS:PORT of the TLS listener (2762 is DICOM's registered TLS port); "" is off.
    pub listen: String,
    /// PEM: the server's certificate (and its chain).
    pub cert: PathBuf,
    /// PEM: the server's private key.
    pub key: PathBuf,
    /// PEM: CAs client certificates are verified against; unset, none are asked for.
    pub client_ca: PathBuf,
    /// Refuse clients that present no certificate (needs `client_ca`).
    pub require_client_cert: bool,
}

/// What Printer N-GET reports about the device (PS3.3 C.13.9); a queue may override the
/// identity keys (see `config::identity`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrinterIdentity {
    pub name: String,
    pub manufacturer: String,
    pub model: String,
    pub serial_number: String,
    /// Software Versions (0018,1020), values separated by `\`; empty: "filmd <version>".
    pub software_versions: String,
    /// Date of Last Calibration, YYYYMMDD (empty: unknown).
    pub calibration_date: String,
    /// Time of Last Calibration, HHMMSS (empty: unknown).
    pub calibration_time: String,
}

impl Default for PrinterIdentity {
    fn default() -> Self {
        PrinterIdentity {
            name: "filmd".into(),
            manufacturer: "filmd project".into(),
            model: "filmd PDF film printer".into(),
            serial_number: "0".into(),
            software_versions: String::new(),
            calibration_date: String::new(),
            calibration_time: String::new(),
        }
    }
}

/// The spool: where acknowledged jobs wait until delivered (see `filmd::spool`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolSettings {
    /// Jobs composed at once; 0 means one more than the cores (2 to 9): one job composes
    /// while another waits on its PDF's fsync.
    pub compose_workers: usize,
    /// Free space the spool's disk must keep, MiB; below it a print is refused with
    /// C601/C602 rather than half-written.
    pub min_free_mib: u64,
    /// Hours finished jobs (done, failed, cancelled) stay listed with their files before
    /// they are removed.
    pub retention_hours: u64,
}

impl Default for SpoolSettings {
    fn default() -> Self {
        SpoolSettings {
            compose_workers: 0,
            min_free_mib: 256,
            retention_hours: 168,
        }
    }
}

/// A printer queue: what it accepts and where its films go.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    pub name: String,
    /// Called AE titles that select this queue; empty means the server's `ae_title`.
    pub ae_titles: Vec<String>,
    /// Calling AE titles allowed to associate with this queue, patterns with `*` and `?`
    /// (see `filmd::net::access::AeGlob`); empty allows every calling AE title.
    pub allow_calling: Vec<String>,
    /// Source networks allowed, CIDR (`10.1.0.0/16`, `fd00::/8`, a bare address for one
    /// host); empty allows every address.
    pub allow_from: Vec<String>,
    /// Resolution for Requested Resolution ID STANDARD.
    pub dpi: u32,
    /// Resolution for Requested Resolution ID HIGH.
    pub high_dpi: u32,
    /// Accept the Basic Color Print Management Meta SOP class.
    pub color: bool,
    /// Film Size IDs accepted; empty means all twelve.
    pub film_sizes: Vec<String>,
    pub default_film_size: String,
    /// Medium Types accepted; empty means all five.
    pub medium_types: Vec<String>,
    /// Image Display Format kinds accepted (PS3.3 C.13.5.1): STANDARD, ROW, COL, SLIDE,
    /// SUPERSLIDE, CUSTOM; empty means all of them.
    pub display_formats: Vec<String>,
    pub default_medium_type: String,
    pub default_magnification: String,
    /// Density range of the device, hundredths of OD.
    pub min_density: u16,
    pub max_density: u16,
    /// Defaults applied when the SCU sends none, hundredths of OD.
    pub default_min_density: u16,
    pub default_max_density: u16,
    pub margin_mm: f64,
    pub gap_mm: f64,
    /// The PDF archive: where this queue's PDFs go, relative paths under the data
    /// directory; empty for no archive (the queue then needs an `ipp` printer).
    pub pdf_dir: PathBuf,
    /// File name of a job's PDF: `{job}` (spool job ID), `{uid}` (Print Job SOP Instance
    /// UID), `{queue}`, `{label}` (Film Session Label), `{calling_ae}`, `{date}`
    /// (YYYYMMDD, UTC) and `{time}` (HHMMSS); must contain `{job}` or `{uid}` so that no
    /// two jobs share a file, and end in `.pdf`.
    pub pdf_name: String,
    /// An IPP printer this queue delivers to, e.g. `ipp://printer.example:631/ipp/print`
    /// (`ipps://` needs an explicit port); empty for none.
    pub ipp: String,
    /// PEM file of the CA that signed an `ipps://` printer's certificate; empty: the
    /// system roots.
    pub ipp_ca_file: PathBuf,
    /// Seconds between two Get-Printer-Attributes polls of the printer's state.
    pub ipp_poll_secs: u64,
    /// Jobs of this queue not yet printed (those waiting only for a PACS do not count);
    /// one more is refused with C601/C602.
    pub max_jobs: usize,
    /// What a grayscale-only queue (`color = false`) does with colour films: `refuse`
    /// them (the colour Meta SOP class is not accepted for its AE titles) or `convert`
    /// them to their luminance (the class is accepted and the films print in gray).
    pub color_films: ColorFilms,
    /// PACS destinations, `AE@HOST:PORT`: every printed job is stored in each by C-STORE
    /// (see `filmd::outputs::pacs` and the `store_*`, `identity`, `worklist` and
    /// `unmatched` keys, checked in `config::pacs`); empty for none.
    pub store: Vec<String>,
    /// What a job becomes in the PACS: `secondary-capture` (one image per film) or
    /// `encapsulated-pdf` (the job's PDF/A).
    pub store_as: super::pacs::StoreAs,
    /// Ask each destination for Storage Commitment (PS3.4 Annex J) and count it done only
    /// when every instance is committed.
    pub store_commit: bool,
    /// Reach the destinations (and the worklist) over DICOM TLS (PS3.15 B.9).
    pub store_tls: bool,
    /// PEM file of the CAs that signed the destinations' certificates; empty: `[tls]
    /// client_ca`. filmd presents `[tls] cert` when the PACS asks for a certificate.
    pub store_ca_file: PathBuf,
    /// Regular expressions whose named groups are DICOM keywords (`AccessionNumber`,
    /// `PatientID`, …), tried in order on the Film Session Label, the Owner ID and the
    /// annotation texts.
    pub identity: Vec<String>,
    /// A Modality Worklist SCP, `AE@HOST:PORT`, asked for the patient when an
    /// AccessionNumber or PatientID was found; empty for none.
    pub worklist: String,
    /// A job whose identity was not found: `hold` it for an operator (`filmd assign`) or
    /// `send` it with what was found.
    pub unmatched: super::pacs::Unmatched,
    /// The device's characteristic curve, `[density OD, drive value]` pairs from the
    /// lightest to the darkest (drive 255 = paper white / clear base, 0 = darkest), e.g.
    /// measured with a step wedge. Empty: the documented default curve
    /// (sRGB-encoded relative reflectance, see `filmd::film::density`).
    pub characteristic_curve: Vec<[f64; 2]>,
    /// Printer Name (2110,0030) of this queue; empty: "<printer.name> <queue name>".
    pub printer_name: String,
    /// Manufacturer (0008,0070) this queue reports; empty: `printer.manufacturer`. Some
    /// modalities pick their print profile from it and the model name.
    pub manufacturer: String,
    /// Manufacturer's Model Name (0008,1090); empty: `printer.model`.
    pub model: String,
    /// Device Serial Number (0018,1000); empty: `printer.serial_number`.
    pub serial_number: String,
    /// Software Versions (0018,1020), values separated by `\`; empty:
    /// `printer.software_versions`.
    pub software_versions: String,
    /// Other names of Annotation Display Format IDs on this queue, alias to format ID
    /// (`{ ANNOTATION = "TOP_BOTTOM" }`, DCMTK's sample configuration's name); checked
    /// against the loaded formats in `config::identity`.
    pub annotation_aliases: BTreeMap<String, String>,
}

/// See [`QueueConfig::color_films`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorFilms {
    #[default]
    Refuse,
    Convert,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            name: "default".into(),
            ae_titles: Vec::new(),
            allow_calling: Vec::new(),
            allow_from: Vec::new(),
            dpi: 300,
            high_dpi: 600,
            color: true,
            film_sizes: Vec::new(),
            default_film_size: "14INX17IN".into(),
            medium_types: Vec::new(),
            display_formats: Vec::new(),
            default_medium_type: "BLUE FILM".into(),
            default_magnification: "CUBIC".into(),
            min_density: 0,
            max_density: 300,
            default_min_density: 20,
            default_max_density: 300,
            margin_mm: 0.0,
            gap_mm: 2.0,
            pdf_dir: PathBuf::from("pdf"),
            color_films: ColorFilms::Refuse,
            characteristic_curve: Vec::new(),
            pdf_name: "{job}.pdf".into(),
            ipp: String::new(),
            ipp_ca_file: PathBuf::new(),
            ipp_poll_secs: 10,
            max_jobs: 1000,
            store: Vec::new(),
            store_as: Default::default(),
            store_commit: false,
            store_tls: false,
            store_ca_file: PathBuf::new(),
            identity: Vec::new(),
            worklist: String::new(),
            unmatched: Default::default(),
            printer_name: String::new(),
            manufacturer: String::new(),
            model: String::new(),
            serial_number: String::new(),
            software_versions: String::new(),
            annotation_aliases: BTreeMap::new(),
        }
    }
}

impl QueueConfig {
    /// Film sizes this queue accepts.
    pub(super) fn accepted_film_sizes(&self) -> Vec<FilmSize> {
        if self.film_sizes.is_empty() {
            FILM_SIZES.to_vec()
        } else {
            self.film_sizes
                .iter()
                .filter_map(|s| FilmSize::from_id(s))
                .collect()
        }
    }

    /// The queue's access rules, or the first problem of each rule that does not parse.
    pub(super) fn access_rules(&self) -> Result<AccessRules, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let allow_calling = self
            .allow_calling
            .iter()
            .filter_map(|p| {
                AeGlob::parse(p)
                    .map_err(|e| problems.push(("allow_calling", e.to_string())))
                    .ok()
            })
            .collect();
        let allow_from = self
            .allow_from
            .iter()
            .filter_map(|n| {
                IpNetwork::parse(n)
                    .map_err(|e| problems.push(("allow_from", e.to_string())))
                    .ok()
            })
            .collect();
        if problems.is_empty() {
            Ok(AccessRules {
                allow_calling,
                allow_from,
            })
        } else {
            Err(problems)
        }
    }

    fn access_rule_problems(&self) -> Vec<(&'static str, String)> {
        self.access_rules().err().unwrap_or_default()
    }

    /// Medium types this queue accepts.
    pub(super) fn accepted_media(&self) -> Vec<Medium> {
        const ALL: [&str; 5] = [
            "PAPER",
            "CLEAR FILM",
            "BLUE FILM",
            "MAMMO CLEAR FILM",
            "MAMMO BLUE FILM",
        ];
        let names: Vec<&str> = if self.medium_types.is_empty() {
            ALL.to_vec()
        } else {
            self.medium_types.iter().map(String::as_str).collect()
        };
        names.into_iter().filter_map(Medium::from_term).collect()
    }
}

/// An IPP printer URI (RFC 8010 §4.3 `ipp:`, RFC 7472 `ipps:`), as the IPP client takes
/// it: no credentials in the URI.
fn check_ipp_uri(uri: &str) -> Result<(), String> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(format!(
            "{uri:?} is not a URI such as ipp://host:631/ipp/print"
        ));
    };
    if !matches!(scheme, "ipp" | "ipps") {
        return Err(format!("{uri:?}: the scheme must be ipp or ipps"));
    }
    if rest.split('/').next().unwrap_or("").contains('@') {
        return Err(format!("{uri:?}: no user name or password in the URI"));
    }
    let host_port = rest.split('/').next().unwrap_or("");
    if host_port.is_empty() {
        return Err(format!("{uri:?} names no host"));
    }
    let port = if host_port.ends_with(']') {
        None
    } else {
        host_port.rsplit_once(':').map(|(_, p)| p)
    };
    if let Some(p) = port
        && p.parse::<u16>().is_err()
    {
        return Err(format!("{uri:?}: port {p:?} is not a number"));
    }
    if scheme == "ipps" && port.is_none() {
        return Err(format!(
            "{uri:?}: write the port (ipps printers listen on 631; without one the IPP client \
             would use 443)"
        ));
    }
    Ok(())
}

/// A characteristic curve needs at least two points, densities finite, between 0 and 5 OD
/// and strictly increasing, drive values within 0..=255 and never increasing (a denser
/// step never prints lighter).
fn check_curve(curve: &[[f64; 2]]) -> Result<(), String> {
    if curve.is_empty() {
        return Ok(());
    }
    if curve.len() < 2 || curve.len() > 4096 {
        return Err("needs 2 to 4096 [density, drive] points".into());
    }
    for (n, [d, v]) in curve.iter().enumerate() {
        if !d.is_finite() || !(0.0..=5.0).contains(d) {
            return Err(format!("point {}: density {d} is outside 0..=5 OD", n + 1));
        }
        if !v.is_finite() || !(0.0..=255.0).contains(v) {
            return Err(format!(
                "point {}: drive value {v} is outside 0..=255",
                n + 1
            ));
        }
    }
    for (n, w) in curve.windows(2).enumerate() {
        if w[1][0] <= w[0][0] {
            return Err(format!(
                "point {}: densities must increase ({} then {})",
                n + 2,
                w[0][0],
                w[1][0]
            ));
        }
        if w[1][1] > w[0][1] {
            return Err(format!(
                "point {}: drive values must not increase with density ({} then {})",
                n + 2,
                w[0][1],
                w[1][1]
            ));
        }
    }
    Ok(())
}

impl TlsConfig {
    fn validate(&self, bad: &mut impl FnMut(String, String)) {
        if self.listen.is_empty() {
            return;
        }
        if self.listen.parse::<SocketAddr>().is_err() {
            bad(
                "tls.listen".into(),
                format!("{:?} is not ADDRESS:PORT", self.listen),
            );
        }
        for (key, path) in [("tls.cert", &self.cert), ("tls.key", &self.key)] {
            if path.as_os_str().is_empty() {
                bad(key.into(), "is required when tls.listen is set".into());
            } else if !path.is_file() {
                bad(key.into(), format!("{}: no such file", path.display()));
            }
        }
        if !self.client_ca.as_os_str().is_empty() && !self.client_ca.is_file() {
            bad(
                "tls.client_ca".into(),
                format!("{}: no such file", self.client_ca.display()),
            );
        }
        if self.require_client_cert && self.client_ca.as_os_str().is_empty() {
            bad(
                "tls.require_client_cert".into(),
                "needs tls.client_ca, the CAs to verify client certificates with".into(),
            );
            return;
        }
        if self.cert.is_file() && self.key.is_file() {
            // The files exist: they must also parse and belong together.
            if let Err(e) = crate::net::tls::server_config(&self.files()) {
                bad("tls".into(), e.to_string());
            }
        }
    }

    /// The files, as the TLS layer takes them.
    pub(super) fn files(&self) -> crate::net::tls::TlsFiles {
        crate::net::tls::TlsFiles {
            cert: self.cert.clone(),
            key: self.key.clone(),
            client_ca: (!self.client_ca.as_os_str().is_empty()).then(|| self.client_ca.clone()),
            require_client_cert: self.require_client_cert,
        }
    }
}

fn is_ae_title(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && t.len() <= 16 && t.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'\\')
}

impl ConfigFile {
    /// The embedded default.
    pub fn embedded() -> ConfigFile {
        ConfigFile::parse(DEFAULT_CONFIG, Path::new("<embedded>"))
            .expect("the embedded configuration is valid")
    }

    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        ConfigFile::parse(&text, path)
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        ConfigFile::from_toml(text, path)?.checked(path)
    }

    /// Parses TOML text, without validating it; a file with no queue gets the default one.
    pub fn from_toml(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        let mut cfg: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        if cfg.queues.is_empty() {
            cfg.queues.push(QueueConfig::default());
        }
        Ok(cfg)
    }

    /// Itself if [`ConfigFile::validate`] finds nothing, else every problem found.
    pub fn checked(self, path: &Path) -> Result<ConfigFile, ConfigError> {
        let issues = self.validate();
        if issues.is_empty() {
            Ok(self)
        } else {
            Err(ConfigError::Invalid {
                path: path.into(),
                issues,
            })
        }
    }

    /// Every problem found, each naming its key.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut bad = |key: String, problem: String| issues.push(ConfigIssue { key, problem });
        let s = &self.server;
        if !is_ae_title(&s.ae_title) {
            bad(
                "server.ae_title".into(),
                format!(
                    "{:?} is not an AE title (1 to 16 printable characters, no backslash)",
                    s.ae_title
                ),
            );
        }
        if !s.listen.is_empty() && s.listen.parse::<SocketAddr>().is_err() {
            bad(
                "server.listen".into(),
                format!(
                    "{:?} is not ADDRESS:PORT (or \"\" for no plain listener)",
                    s.listen
                ),
            );
        }
        if s.listen.is_empty() && self.tls.listen.is_empty() {
            bad(
                "server.listen".into(),
                "is \"\" and tls.listen is not set: filmd would not listen at all".into(),
            );
        }
        self.tls.validate(&mut bad);
        if s.max_associations == 0 || s.max_associations > 4096 {
            bad(
                "server.max_associations".into(),
                "must be between 1 and 4096".into(),
            );
        }
        if !(1..=4096).contains(&s.max_associations_per_host) {
            bad(
                "server.max_associations_per_host".into(),
                "must be between 1 and 4096 (more than server.max_associations means no \
                 limit per address)"
                    .into(),
            );
        }
        if !(1..=4096).contains(&s.max_pending) {
            bad(
                "server.max_pending".into(),
                "must be between 1 and 4096".into(),
            );
        }
        if !(4096..=16 << 20).contains(&s.max_pdu) {
            bad(
                "server.max_pdu".into(),
                "must be between 4096 and 16777216 bytes".into(),
            );
        }
        if s.pdu_cap < s.max_pdu || s.pdu_cap > 256 << 20 {
            bad(
                "server.pdu_cap".into(),
                "must be at least server.max_pdu and at most 268435456".into(),
            );
        }
        if !(1..=4096).contains(&s.max_message_mib) {
            bad(
                "server.max_message_mib".into(),
                "must be between 1 and 4096".into(),
            );
        }
        for (key, problem) in super::interop::printer_problems(&self.printer) {
            bad(format!("printer.{key}"), problem);
        }
        for (key, problem) in self.audit.validate() {
            bad(format!("audit.{key}"), problem);
        }
        for (key, problem) in self.admin.validate() {
            bad(format!("admin.{key}"), problem);
        }
        let sp = &self.spool;
        if sp.compose_workers > 64 {
            bad("spool.compose_workers".into(), "must be at most 64".into());
        }
        for (key, secs) in [
            ("server.idle_timeout_secs", s.idle_timeout_secs),
            (
                "server.association_timeout_secs",
                s.association_timeout_secs,
            ),
        ] {
            if secs == 0 {
                bad(key.into(), "must be at least 1 second".into());
            }
        }
        let mut seen_ae = std::collections::HashSet::new();
        let mut seen_names = std::collections::HashSet::new();
        for (i, q) in self.queues.iter().enumerate() {
            let k = |f: &str| format!("queue[{i}].{f}");
            if q.name.is_empty()
                || !q
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bad(
                    k("name"),
                    format!("{:?}: use letters, digits, '-' and '_'", q.name),
                );
            }
            for (key, problem) in super::interop::queue_problems(&self.printer, q) {
                bad(k(key), problem);
            }
            if !seen_names.insert(q.name.clone()) {
                bad(k("name"), format!("{:?} is used by another queue", q.name));
            }
            // Only the first queue answers to `server.ae_title`: another without AE titles
            // of its own could never be called.
            if i > 0 && q.ae_titles.is_empty() {
                bad(
                    k("ae_titles"),
                    "a queue after the first needs called AE titles of its own".into(),
                );
            }
            for ae in self.queue_ae_titles(i) {
                if !is_ae_title(&ae) {
                    bad(k("ae_titles"), format!("{ae:?} is not an AE title"));
                }
                if !seen_ae.insert(ae.clone()) {
                    bad(
                        k("ae_titles"),
                        format!("{ae:?} already selects another queue"),
                    );
                }
            }
            for (key, problem) in q.access_rule_problems() {
                bad(k(key), problem);
            }
            if !(72..=1200).contains(&q.dpi) {
                bad(k("dpi"), format!("{} is outside 72..=1200", q.dpi));
            }
            if !(72..=1200).contains(&q.high_dpi) || q.high_dpi < q.dpi {
                bad(
                    k("high_dpi"),
                    format!("{} must be within 72..=1200 and at least dpi", q.high_dpi),
                );
            }
            for f in &q.film_sizes {
                if FilmSize::from_id(f).is_none() {
                    bad(
                        k("film_sizes"),
                        format!("{f:?} is not a Film Size ID of PS3.3 C.13.8"),
                    );
                }
            }
            let sizes = q.accepted_film_sizes();
            if !sizes.iter().any(|s| s.id == q.default_film_size) {
                bad(
                    k("default_film_size"),
                    format!(
                        "{:?} is not among the queue's film sizes",
                        q.default_film_size
                    ),
                );
            }
            for f in &q.display_formats {
                if FormatKind::from_term(f).is_none() {
                    bad(
                        k("display_formats"),
                        format!(
                            "{f:?}: use {}",
                            FormatKind::ALL.map(FormatKind::term).join(", ")
                        ),
                    );
                }
            }
            for m in &q.medium_types {
                if Medium::from_term(m).is_none() {
                    bad(k("medium_types"), format!("{m:?} is not a Medium Type"));
                }
            }
            if !q
                .accepted_media()
                .iter()
                .any(|m| m.term() == q.default_medium_type)
            {
                bad(
                    k("default_medium_type"),
                    format!(
                        "{:?} is not among the queue's medium types",
                        q.default_medium_type
                    ),
                );
            }
            if crate::film::Magnification::from_term(&q.default_magnification).is_none() {
                bad(
                    k("default_magnification"),
                    format!(
                        "{:?}: use REPLICATE, BILINEAR, CUBIC or NONE",
                        q.default_magnification
                    ),
                );
            }
            if q.min_density >= q.max_density || q.max_density > 500 {
                bad(
                    k("max_density"),
                    "the density range needs min_density < max_density <= 500 (hundredths of OD)"
                        .into(),
                );
            }
            if q.default_min_density < q.min_density
                || q.default_max_density > q.max_density
                || q.default_min_density >= q.default_max_density
            {
                bad(k("default_max_density"), "default_min_density and default_max_density must lie within min_density..max_density, min below max".into());
            }
            if q.pdf_dir.as_os_str().is_empty() && q.ipp.is_empty() && q.store.is_empty() {
                bad(
                    k("pdf_dir"),
                    "the queue has no output: set pdf_dir (PDF archive), ipp (a printer), \
                     store (PACS destinations), or several"
                        .into(),
                );
            }
            for (key, problem) in super::pacs::problems(q, &self.tls) {
                bad(k(key), problem);
            }
            if let Err(problem) = PdfName::parse(&q.pdf_name) {
                bad(k("pdf_name"), problem);
            }
            if !q.ipp.is_empty()
                && let Err(problem) = check_ipp_uri(&q.ipp)
            {
                bad(k("ipp"), problem);
            }
            if !q.ipp_ca_file.as_os_str().is_empty() && !q.ipp_ca_file.is_file() {
                bad(
                    k("ipp_ca_file"),
                    format!("{} is not a readable file", q.ipp_ca_file.display()),
                );
            }
            if !(1..=3600).contains(&q.ipp_poll_secs) {
                bad(k("ipp_poll_secs"), "must be between 1 and 3600".into());
            }
            if q.max_jobs == 0 {
                bad(k("max_jobs"), "must be at least 1".into());
            }
            if let Err(problem) = check_curve(&q.characteristic_curve) {
                bad(k("characteristic_curve"), problem);
            }
            if !(0.0..=50.0).contains(&q.margin_mm) {
                bad(k("margin_mm"), "must be between 0 and 50".into());
            }
            if !(0.0..=20.0).contains(&q.gap_mm) {
                bad(k("gap_mm"), "must be between 0 and 20".into());
            }
        }
        issues
    }

    /// Called AE titles of queue `i`: its own, or the server's for the first queue.
    pub fn queue_ae_titles(&self, i: usize) -> Vec<String> {
        match self.queues.get(i) {
            Some(q) if !q.ae_titles.is_empty() => q.ae_titles.clone(),
            Some(_) if i == 0 => vec![self.server.ae_title.clone()],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_runs_as_documented() {
        let c = ConfigFile::embedded();
        assert_eq!(c.server.ae_title, "FILMD");
        assert_eq!(c.server.listen, "0.0.0.0:11112");
        assert_eq!(c.server.data_dir, PathBuf::from("./filmd-data"));
        assert_eq!(c.queues.len(), 1);
        assert_eq!(c.queues[0].dpi, 300);
        assert_eq!(c.queue_ae_titles(0), vec!["FILMD".to_string()]);
        assert_eq!(c.queues[0].pdf_dir, PathBuf::from("pdf"));
    }

    #[test]
    fn problems_name_their_key() {
        let text = "[server]\nlisten = \"nowhere\"\n[[queue]]\nname = \"a\"\ndpi = 5\nfilm_sizes = [\"14X17\"]\n";
        let Err(ConfigError::Invalid { issues, .. }) = ConfigFile::parse(text, Path::new("t.toml"))
        else {
            panic!()
        };
        let keys: Vec<_> = issues.iter().map(|i| i.key.as_str()).collect();
        assert!(keys.contains(&"server.listen"), "{keys:?}");
        assert!(keys.contains(&"queue[0].dpi"), "{keys:?}");
        assert!(keys.contains(&"queue[0].film_sizes"), "{keys:?}");
    }

    #[test]
    fn characteristic_curves_are_checked() {
        for (curve, problem) in [
            ("[[0.0, 250]]", "2 to 4096"),
            ("[[0.0, 250], [0.0, 200]]", "densities must increase"),
            ("[[0.0, 200], [1.0, 210]]", "must not increase"),
            ("[[0.0, 256], [1.0, 0]]", "outside 0..=255"),
            ("[[-1.0, 255], [1.0, 0]]", "outside 0..=5 OD"),
        ] {
            let text = format!("[[queue]]\nname = \"g\"\ncharacteristic_curve = {curve}\n");
            let Err(ConfigError::Invalid { issues, .. }) = ConfigFile::parse(&text, Path::new("t"))
            else {
                panic!("{curve} accepted")
            };
            assert_eq!(issues[0].key, "queue[0].characteristic_curve");
            assert!(
                issues[0].problem.contains(problem),
                "{curve}: {}",
                issues[0].problem
            );
        }
    }

    #[test]
    fn outputs_pdf_names_and_ipp_uris_are_checked() {
        let parse = |queue: &str| {
            ConfigFile::parse(&format!("[[queue]]\nname = \"q\"\n{queue}"), Path::new("t"))
        };
        let problem = |queue: &str, key: &str| {
            let Err(ConfigError::Invalid { issues, .. }) = parse(queue) else {
                panic!("{queue} accepted")
            };
            let issue = issues
                .iter()
                .find(|i| i.key == key)
                .unwrap_or_else(|| panic!("{queue}: {issues:?}"));
            issue.problem.clone()
        };
        assert!(parse("ipp = \"ipp://127.0.0.1:8631/ipp/print\"\n").is_ok());
        assert!(parse("ipp = \"ipps://printer.example:631/ipp/print\"\npdf_dir = \"\"\n").is_ok());
        assert!(
            problem(
                "ipp = \"ipps://printer.example/ipp/print\"\n",
                "queue[0].ipp"
            )
            .contains("443")
        );
        assert!(problem("ipp = \"lpd://x/q\"\n", "queue[0].ipp").contains("scheme"));
        assert!(problem("ipp = \"ipp://x:nine/q\"\n", "queue[0].ipp").contains("port"));
        assert!(problem("ipp = \"http://x:631/q\"\n", "queue[0].ipp").contains("scheme"));
        assert!(problem("ipp = \"ipp://u:p@x:631/q\"\n", "queue[0].ipp").contains("password"));
        assert!(problem("pdf_dir = \"\"\n", "queue[0].pdf_dir").contains("no output"));
        assert!(problem("pdf_name = \"{label}.pdf\"\n", "queue[0].pdf_name").contains("{job}"));
        assert!(
            problem("pdf_name = \"{job}-{owner}.pdf\"\n", "queue[0].pdf_name").contains("unknown")
        );
        assert!(problem("pdf_name = \"../{job}.pdf\"\n", "queue[0].pdf_name").contains("path"));
        assert!(problem("pdf_name = \"{job}.txt\"\n", "queue[0].pdf_name").contains(".pdf"));
        // Each placeholder may fill 64 bytes: 3 x 64 + 4 fits in 255, 4 x 64 + 4 does not.
        let fits = format!("pdf_name = \"{}{{job}}.pdf\"\n", "{label}".repeat(2));
        assert!(parse(&fits).is_ok());
        let too_long = format!("pdf_name = \"{}{{job}}.pdf\"\n", "{label}".repeat(3));
        assert!(problem(&too_long, "queue[0].pdf_name").contains("255"));
        let mut c = ConfigFile::embedded();
        c.printer.name = "p".repeat(60);
        assert!(
            c.validate()
                .iter()
                .any(|i| i.key == "queue[0].name" && i.problem.contains("64"))
        );
    }

    #[test]
    fn a_later_queue_without_ae_titles_could_never_be_called() {
        let text = "[[queue]]\nname = \"a\"\n[[queue]]\nname = \"b\"\n";
        let Err(ConfigError::Invalid { issues, .. }) = ConfigFile::parse(text, Path::new("t"))
        else {
            panic!("accepted")
        };
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].key, "queue[1].ae_titles");
        let named = "[[queue]]\nname = \"a\"\n[[queue]]\nname = \"b\"\nae_titles = [\"B\"]\n";
        assert!(ConfigFile::parse(named, Path::new("t")).is_ok());
    }

    #[test]
    fn each_zero_timeout_is_reported_under_its_own_key() {
        for key in ["idle_timeout_secs", "association_timeout_secs"] {
            let text = format!("[server]\n{key} = 0\n");
            let Err(ConfigError::Invalid { issues, .. }) = ConfigFile::parse(&text, Path::new("t"))
            else {
                panic!("{key} = 0 accepted")
            };
            let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
            assert_eq!(keys, [format!("server.{key}")], "{issues:?}");
        }
    }

    #[test]
    fn access_rules_are_checked_rule_by_rule() {
        let text = "[server]\necho_from_anyone = true\n[[queue]]\nname = \"q\"\n\
                    allow_calling = [\"CT1\", \"MR*\", \"A\\\\B\", \"ABCDEFGHIJKLMNOPQ*\"]\n\
                    allow_from = [\"10.1.0.0/16\", \"::1/128\", \"10.1.2.3/16\", \"10.0.0.0/40\", \"host\"]\n";
        let Err(ConfigError::Invalid { issues, .. }) = ConfigFile::parse(text, Path::new("t"))
        else {
            panic!("bad rules accepted")
        };
        let problems: Vec<String> = issues.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        for (n, want) in [
            "queue[0].allow_calling: \"A\\\\B\": character '\\\\' cannot occur",
            "queue[0].allow_calling: \"ABCDEFGHIJKLMNOPQ*\" needs at least 17 characters",
            "queue[0].allow_from: \"10.1.2.3/16\" has host bits set: write the network 10.1.0.0/16",
            "queue[0].allow_from: \"10.0.0.0/40\": the prefix length must be a number from 0 to 32",
            "queue[0].allow_from: \"host\" is not a network",
        ]
        .iter()
        .enumerate()
        {
            assert!(problems[n].starts_with(want), "{n}: {}", problems[n]);
        }
        let good = "[server]\necho_from_anyone = true\n[[queue]]\nname = \"q\"\n\
                    allow_calling = [\"CT1\", \"MR*\"]\nallow_from = [\"10.1.0.0/16\", \"::1\"]\n";
        let c = ConfigFile::parse(good, Path::new("t")).expect("valid");
        assert!(c.server.echo_from_anyone);
        let rules = c.queues[0].access_rules().expect("parsed");
        assert_eq!(rules.allow_calling.len(), 2);
        assert_eq!(rules.allow_from[1].to_string(), "::1/128");
        assert!(
            ConfigFile::embedded().queues[0]
                .access_rules()
                .expect("none")
                .allows_everyone()
        );
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let Err(ConfigError::Parse { message, .. }) =
            ConfigFile::parse("[server]\nae_tittle = \"X\"\n", Path::new("t.toml"))
        else {
            panic!()
        };
        assert!(message.contains("ae_tittle"), "{message}");
    }

    fn issue_keys(text: &str) -> Vec<String> {
        match ConfigFile::parse(text, Path::new("t")) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid { issues, .. }) => issues.into_iter().map(|i| i.key).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn flood_limits_are_checked() {
        for (text, key) in [
            ("[server]\nmax_pending = 0\n", "server.max_pending"),
            (
                "[server]\nmax_associations_per_host = 0\n",
                "server.max_associations_per_host",
            ),
        ] {
            assert_eq!(issue_keys(text), [key], "{text}");
        }
        // More per host than in total is allowed: the total limit applies first.
        assert!(issue_keys("[server]\nmax_associations = 2\n").is_empty());
    }

    #[test]
    fn tls_settings_are_checked() {
        assert_eq!(
            issue_keys("[server]\nlisten = \"\"\n"),
            ["server.listen"],
            "no listener at all"
        );
        assert_eq!(
            issue_keys("[tls]\nlisten = \"127.0.0.1:2762\"\n"),
            ["tls.cert", "tls.key"]
        );
        assert_eq!(
            issue_keys(
                "[tls]\nlisten = \"127.0.0.1:2762\"\ncert = \"/nonexistent/c.pem\"\n\
                 key = \"/nonexistent/k.pem\"\nrequire_client_cert = true\n"
            ),
            ["tls.cert", "tls.key", "tls.require_client_cert"]
        );
        // Files that exist but are no certificate and key.
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not PEM").unwrap();
        let text = format!(
            "[tls]\nlisten = \"127.0.0.1:2762\"\ncert = {:?}\nkey = {:?}\n",
            junk.display().to_string(),
            junk.display().to_string()
        );
        assert_eq!(issue_keys(&text), ["tls"]);
        // Off unless tls.listen is set: the other keys alone change nothing.
        assert!(issue_keys("[tls]\nrequire_client_cert = true\n").is_empty());
    }
}
