//! A queue's PACS keys (`store`, `store_as`, `store_commit`, `store_tls`, `store_ca_file`,
//! `identity`, `worklist`, `unmatched`): their check-config problems and the resolved
//! [`PacsSettings`] the PACS output (`filmd::outputs::pacs`) is built from.

use super::file::{QueueConfig, TlsConfig};
use crate::backend::dimse::Destination;
use crate::net::tls::ClientTlsFiles;
use crate::outputs::pacs::identity::IdentityRules;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Most destinations a queue may have: each job is sent to every one of them.
const MAX_DESTINATIONS: usize = 16;
/// Most identity rules a queue may have.
const MAX_IDENTITY_RULES: usize = 32;

/// What a printed job becomes in the PACS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreAs {
    /// One Secondary Capture Image per film (PS3.3 A.8.1), the composed page.
    #[default]
    SecondaryCapture,
    /// The job's PDF/A as one Encapsulated PDF (PS3.3 A.45.1).
    EncapsulatedPdf,
}

/// What happens to a job whose identity was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unmatched {
    /// Held for an operator, who assigns the identity (`filmd assign`) and releases it.
    #[default]
    Hold,
    /// Sent with what was found, under a Study Instance UID of its own.
    Send,
}

/// A queue's PACS output, resolved.
#[derive(Debug, Clone)]
pub struct PacsSettings {
    pub destinations: Vec<Destination>,
    pub store_as: StoreAs,
    pub commit: bool,
    /// DICOM TLS to the destinations and the worklist; `None` is plain TCP.
    pub tls: Option<ClientTlsFiles>,
    /// The identity rules, as written (compiled by the output).
    pub identity: Vec<String>,
    pub worklist: Option<Destination>,
    pub unmatched: Unmatched,
    /// filmd's AE title towards the PACS: the queue's first called AE title, so that a
    /// Storage Commitment report the PACS sends on a new association reaches filmd.
    pub calling_ae: String,
}

/// The problems of a queue's PACS keys, as (key, problem).
pub(super) fn problems(q: &QueueConfig, tls: &TlsConfig) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if q.store.len() > MAX_DESTINATIONS {
        out.push(("store", format!("at most {MAX_DESTINATIONS} destinations")));
    }
    // Two spellings of one destination (`PACS@h:104`, `PACS@h:0104`) are one destination.
    let mut seen = std::collections::HashSet::new();
    for d in &q.store {
        match d.parse::<Destination>() {
            Err(e) => out.push(("store", format!("{d:?}: {e}"))),
            Ok(parsed) if !seen.insert(parsed.to_string()) => {
                out.push(("store", format!("{d:?} is named twice")));
            }
            Ok(_) => {}
        }
    }
    if !q.worklist.is_empty()
        && let Err(e) = q.worklist.parse::<Destination>()
    {
        out.push(("worklist", format!("{:?}: {e}", q.worklist)));
    }
    if q.identity.len() > MAX_IDENTITY_RULES {
        out.push(("identity", format!("at most {MAX_IDENTITY_RULES} rules")));
    } else if let Err(e) = IdentityRules::parse(&q.identity) {
        out.push(("identity", e));
    }
    let has_pacs = !q.store.is_empty();
    let unused = |key: &'static str, set: bool, out: &mut Vec<(&'static str, String)>| {
        if set && !has_pacs {
            out.push((key, "is only used with store (PACS destinations)".into()));
        }
    };
    unused("store_commit", q.store_commit, &mut out);
    unused("store_tls", q.store_tls, &mut out);
    unused("identity", !q.identity.is_empty(), &mut out);
    unused("worklist", !q.worklist.is_empty(), &mut out);
    let ca_set = !q.store_ca_file.as_os_str().is_empty();
    if ca_set && !q.store_tls {
        out.push(("store_ca_file", "is only used with store_tls = true".into()));
    }
    if ca_set && !q.store_ca_file.is_file() {
        out.push((
            "store_ca_file",
            format!("{} is not a readable file", q.store_ca_file.display()),
        ));
    }
    if q.store_tls && !ca_set && tls.client_ca.as_os_str().is_empty() {
        out.push((
            "store_tls",
            "needs the CA that signed the PACS's certificate: set store_ca_file, or [tls] \
             client_ca"
                .into(),
        ));
    }
    out
}

/// Resolves a checked queue's PACS keys; `None` without destinations.
pub(super) fn resolve(q: &QueueConfig, tls: &TlsConfig, calling_ae: &str) -> Option<PacsSettings> {
    if q.store.is_empty() {
        return None;
    }
    let set = |p: &Path| !p.as_os_str().is_empty();
    let tls_files = q.store_tls.then(|| ClientTlsFiles {
        ca: if set(&q.store_ca_file) {
            q.store_ca_file.clone()
        } else {
            tls.client_ca.clone()
        },
        identity: (set(&tls.cert) && set(&tls.key)).then(|| (tls.cert.clone(), tls.key.clone())),
    });
    Some(PacsSettings {
        // Checked: every destination parses.
        destinations: q.store.iter().filter_map(|d| d.parse().ok()).collect(),
        store_as: q.store_as,
        commit: q.store_commit,
        tls: tls_files,
        identity: q.identity.clone(),
        worklist: q.worklist.parse().ok(),
        unmatched: q.unmatched,
        calling_ae: calling_ae.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::file::ConfigFile;
    use super::*;

    fn problems_of(queue: &str) -> Vec<String> {
        let text = format!("[[queue]]\nname = \"p\"\npdf_dir = \"\"\n{queue}");
        match ConfigFile::parse(&text, Path::new("t.toml")) {
            Ok(_) => Vec::new(),
            Err(e) => e.to_string().lines().map(str::to_string).collect(),
        }
    }

    #[test]
    fn a_pacs_only_queue_is_a_queue_with_an_output() {
        assert!(problems_of("store = [\"PACS@127.0.0.1:4242\"]\n").is_empty());
        let p = problems_of("");
        assert!(p.iter().any(|l| l.contains("no output")), "{p:?}");
    }

    #[test]
    fn bad_destinations_rules_and_lonely_keys_are_named() {
        let p = problems_of(
            "store = [\"PACS@127.0.0.1:4242\", \"nope\", \"PACS@127.0.0.1:04242\"]\n\
             identity = ['(?P<Nonsense>\\d+)']\nworklist = \"RIS@\"\n",
        )
        .join("\n");
        assert!(
            p.contains("queue[0].store") && p.contains("\"nope\""),
            "{p}"
        );
        assert!(p.contains("named twice"), "{p}");
        assert!(
            p.contains("queue[0].identity") && p.contains("Nonsense"),
            "{p}"
        );
        assert!(p.contains("queue[0].worklist"), "{p}");
        let lonely = problems_of("ipp = \"ipp://127.0.0.1:631/ipp/print\"\nstore_commit = true\n")
            .join("\n");
        assert!(lonely.contains("queue[0].store_commit"), "{lonely}");
        let no_ca = problems_of("store = [\"P@127.0.0.1:1\"]\nstore_tls = true\n").join("\n");
        assert!(no_ca.contains("queue[0].store_tls"), "{no_ca}");
    }

    #[test]
    fn resolved_settings_carry_the_parsed_values() {
        let text = "[server]\nae_title = \"FILMD\"\n[[queue]]\nname = \"p\"\npdf_dir = \"\"\n\
                    store = [\"PACS@127.0.0.1:4242\", \"ARCH@[::1]:104\"]\n\
                    store_as = \"encapsulated-pdf\"\nstore_commit = true\n\
                    identity = ['^(?P<AccessionNumber>ACC\\d+)']\n\
                    worklist = \"RIS@127.0.0.1:4243\"\nunmatched = \"send\"\n";
        let file = ConfigFile::parse(text, Path::new("t.toml")).expect("valid");
        let q = &file.queues[0];
        let s = resolve(q, &file.tls, "FILMD").expect("a PACS output");
        assert_eq!(s.destinations.len(), 2);
        assert_eq!(s.destinations[0].to_string(), "PACS@127.0.0.1:4242");
        assert_eq!(s.store_as, StoreAs::EncapsulatedPdf);
        assert!(s.commit && s.tls.is_none());
        assert_eq!(
            s.worklist.map(|w| w.to_string()).as_deref(),
            Some("RIS@127.0.0.1:4243")
        );
        assert_eq!(s.unmatched, Unmatched::Send);
        assert_eq!(s.calling_ae, "FILMD");
    }
}
