//! The `[audit]` section: where DICOM audit messages go (PS3.15 A.5 over syslog, see
//! `filmd::audit`), its check-config problems and its resolved [`AuditSettings`].

use crate::audit::{AuditSettings, Destination};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `[audit]`: off unless `destination` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// `udp://HOST[:514]` (RFC 5426), `tls://HOST[:6514]` (RFC 5425) or
    /// `file:///PATH` (one syslog line per message); empty: no audit trail.
    pub destination: String,
    /// PEM file of the CA(s) that signed a `tls://` audit repository's certificate
    /// (required for `tls://`).
    pub ca_file: PathBuf,
    /// PEM certificate chain filmd presents to a `tls://` repository (ATNA's mutual node
    /// authentication), with its private key `client_key`; both or neither.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// Messages waiting to be sent; when the queue is full new ones are dropped (and
    /// counted), so that auditing never holds up printing.
    pub queue_size: usize,
    /// AuditSourceID of the messages; empty: the server's AE title.
    pub source_id: String,
    /// AuditEnterpriseSiteID, e.g. the hospital; empty: not sent.
    pub enterprise_site_id: String,
}

/// Largest `queue_size`.
const MAX_QUEUE: usize = 1 << 20;

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            destination: String::new(),
            ca_file: PathBuf::new(),
            client_cert: PathBuf::new(),
            client_key: PathBuf::new(),
            queue_size: 4096,
            source_id: String::new(),
            enterprise_site_id: String::new(),
        }
    }
}

fn set(path: &Path) -> bool {
    !path.as_os_str().is_empty()
}

/// A syslog-safe identifier: 1 to 64 printable characters.
fn check_identifier(value: &str) -> Result<(), String> {
    if value.chars().count() > 64 || value.chars().any(char::is_control) {
        Err(format!("{value:?}: at most 64 printable characters"))
    } else {
        Ok(())
    }
}

impl AuditConfig {
    /// Every problem, as (key under `audit.`, problem).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut issues = Vec::new();
        let destination = if self.destination.is_empty() {
            None
        } else {
            match Destination::parse(&self.destination) {
                Ok(d) => Some(d),
                Err(problem) => {
                    issues.push(("destination", problem));
                    None
                }
            }
        };
        let tls = matches!(destination, Some(Destination::Tls { .. }));
        for (key, path) in [
            ("ca_file", &self.ca_file),
            ("client_cert", &self.client_cert),
            ("client_key", &self.client_key),
        ] {
            if !set(path) {
                continue;
            }
            if !tls && destination.is_some() {
                issues.push((key, "is only used with a tls:// destination".into()));
            } else if !path.is_file() {
                issues.push((key, format!("{} is not a readable file", path.display())));
            }
        }
        if tls && !set(&self.ca_file) {
            issues.push((
                "ca_file",
                "a tls:// destination needs the PEM file of the CA that signed the audit \
                 repository's certificate"
                    .into(),
            ));
        }
        if set(&self.client_cert) != set(&self.client_key) {
            issues.push((
                "client_key",
                "client_cert and client_key go together: set both or neither".into(),
            ));
        }
        if let Some(Destination::File { path }) = &destination
            && let Some(dir) = path.parent()
            && !dir.is_dir()
        {
            issues.push((
                "destination",
                format!("the directory {} does not exist", dir.display()),
            ));
        }
        if !(1..=MAX_QUEUE).contains(&self.queue_size) {
            issues.push(("queue_size", format!("must be between 1 and {MAX_QUEUE}")));
        }
        for (key, value) in [
            ("source_id", &self.source_id),
            ("enterprise_site_id", &self.enterprise_site_id),
        ] {
            if let Err(problem) = check_identifier(value) {
                issues.push((key, problem));
            }
        }
        issues
    }

    /// The resolved settings (`None`: auditing off); `ae_title` is the default source ID.
    pub fn resolve(&self, ae_title: &str) -> Option<AuditSettings> {
        // Validated: a destination that parses.
        let destination = Destination::parse(&self.destination).ok()?;
        let optional = |p: &PathBuf| set(p).then(|| p.clone());
        let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        Some(AuditSettings {
            destination,
            ca_file: optional(&self.ca_file),
            client_cert: optional(&self.client_cert).zip(optional(&self.client_key)),
            queue_size: self.queue_size,
            source_id: non_empty(&self.source_id).unwrap_or_else(|| ae_title.trim().to_string()),
            enterprise_site_id: non_empty(&self.enterprise_site_id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<(&'static str, String)> {
        let cfg: AuditConfig = toml::from_str(text).expect("parses");
        cfg.validate()
    }

    #[test]
    fn destinations_and_their_files_are_checked() {
        assert!(problems("destination = \"udp://127.0.0.1:5514\"").is_empty());
        assert!(problems("destination = \"udp://audit.example\"").is_empty());
        assert!(problems("").is_empty(), "off by default");
        let p = problems("destination = \"http://x:514\"");
        assert_eq!(p[0].0, "destination");
        assert!(p[0].1.contains("udp://HOST:PORT"), "{p:?}");
        assert!(
            problems("destination = \"udp://x:0\"")[0]
                .1
                .contains("port")
        );
        assert!(
            problems("destination = \"udp://x:99999\"")[0]
                .1
                .contains("port")
        );
        assert!(
            problems("destination = \"tls://x:6514/path\"")[0]
                .1
                .contains("no path")
        );
        assert!(
            problems("destination = \"file://relative.log\"")[0]
                .1
                .contains("absolute")
        );
        assert!(
            problems("destination = \"file:///nonexistent-dir/audit.log\"")[0]
                .1
                .contains("does not exist")
        );
        let p = problems("destination = \"tls://x:6514\"");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, "ca_file");
        let p = problems("destination = \"tls://x\"\nca_file = \"/nonexistent.pem\"");
        assert_eq!(p[0].0, "ca_file");
        assert!(p[0].1.contains("not a readable file"), "{p:?}");
        let p = problems("destination = \"udp://x\"\nca_file = \"/etc/hostname\"");
        assert!(p[0].1.contains("only used with a tls://"), "{p:?}");
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let p = problems(&format!(
            "destination = \"tls://x\"\nca_file = {0:?}\nclient_cert = {0:?}",
            tmp.path()
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, "client_key");
        assert_eq!(problems("queue_size = 0")[0].0, "queue_size");
        assert_eq!(
            problems(&format!("source_id = {:?}", "s".repeat(65)))[0].0,
            "source_id"
        );
    }

    #[test]
    fn resolved_with_the_ae_title_as_source() {
        let off: AuditConfig = toml::from_str("").unwrap();
        assert_eq!(off.resolve("FILMD"), None);
        let on: AuditConfig = toml::from_str(
            "destination = \"tls://[::1]\"\nca_file = \"/ca.pem\"\nenterprise_site_id = \"H1\"",
        )
        .unwrap();
        let s = on.resolve("FILMD ").unwrap();
        assert_eq!(
            s.destination,
            Destination::Tls {
                host: "::1".into(),
                port: 6514
            }
        );
        assert_eq!(s.source_id, "FILMD");
        assert_eq!(s.enterprise_site_id.as_deref(), Some("H1"));
        assert_eq!(s.ca_file.as_deref(), Some(Path::new("/ca.pem")));
        assert_eq!(s.client_cert, None);
        assert_eq!(s.queue_size, 4096);
    }
}
