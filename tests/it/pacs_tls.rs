//! Films to the PACS over DICOM TLS (PS3.15 B.9): a queue with `store_tls = true` stores
//! its film at a DCMTK storescp that speaks only TLS, verifying the PACS's certificate
//! against `store_ca_file` (a CA that did not sign it keeps the job waiting, nothing
//! stored), and presents `[tls] cert` when the PACS requires a client certificate.

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use common::certs::Pki;
use common::dcmtk_peers::{StoreScp, TlsFiles};
use common::pacs_jobs::{dcmdump, destination_state, job_where, pacs_queue, print};
use std::path::Path;
use std::time::Duration;

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(DcmtkStore)]
        store_tls_stores_the_film_at_a_tls_storescp_verified_by_store_ca_file,
        #[needs(DcmtkStore)]
        a_pacs_certificate_the_ca_did_not_sign_keeps_the_job_pending_and_stores_nothing,
        #[needs(DcmtkStore)]
        a_pacs_requiring_a_client_certificate_gets_filmds_tls_cert,
    ]
}

/// storescp with the test PKI's server certificate (it names 127.0.0.1, the host filmd
/// connects to), requiring a client certificate signed by `client_ca` if given.
fn tls_storescp(pki: &Pki, client_ca: Option<&Path>) -> StoreScp {
    StoreScp::start_tls(
        "PACS",
        &TlsFiles {
            cert: pki.server.cert.clone(),
            key: pki.server.key.clone(),
            client_ca: client_ca.map(Path::to_path_buf),
        },
    )
}

/// The queue storing every film (no identity needed) at `store` over TLS, trusting `ca`.
fn tls_queue(store: &StoreScp, ca: &Path) -> String {
    pacs_queue(&format!(
        "store = [\"{}\"]\nstore_tls = true\nstore_ca_file = \"{}\"\nunmatched = \"send\"\n",
        store.destination(),
        ca.display()
    ))
}

/// The film's job done, its destination `stored`, and the one file storescp received a
/// valid Secondary Capture Image (PS3.3 A.8.1) of 14×17 in at 100 dpi.
fn assert_stored(server: &Server, store: &StoreScp, label: &str) {
    let job = job_where(server, label, "the job done", |j| j["state"] == "done");
    assert_eq!(destination_state(&job), "stored", "{job:#}");
    let files = store.wait_files(1, Duration::from_secs(30));
    assert_eq!(files.len(), 1, "one file: {files:?}");
    let dump = dcmdump(&files[0]);
    assert!(dump.contains("=SecondaryCaptureImageStorage"), "{dump}");
    assert!(dump.contains("(0028,0010) US 1700"), "Rows: {dump}");
    assert!(dump.contains("(0028,0011) US 1400"), "Columns: {dump}");
    assert!(dump.contains(label), "Series Description: {dump}");
}

fn store_tls_stores_the_film_at_a_tls_storescp_verified_by_store_ca_file() {
    let pki = Pki::new();
    let store = tls_storescp(&pki, None);
    let server = Server::start_with(&[], Some(&tls_queue(&store, &pki.ca)));
    print(&server, "OVER TLS");
    assert_stored(&server, &store, "OVER TLS");
    // The association was TLS: storescp accepts nothing else on this port.
    let log = store.log();
    assert!(log.contains("Association Received"), "{log}");
}

/// filmd trusts only a CA that did not sign the PACS's certificate: the handshake fails,
/// the destination stays pending with the reason (the job waits, it does not fail), and
/// storescp receives nothing.
fn a_pacs_certificate_the_ca_did_not_sign_keeps_the_job_pending_and_stores_nothing() {
    let pki = Pki::new();
    let store = tls_storescp(&pki, None);
    // Another CA of the test PKI: it signed a client certificate, not storescp's.
    let stranger_ca = pki.dir.join("stranger-ca.pem");
    let server = Server::start_with(&[], Some(&tls_queue(&store, &stranger_ca)));
    print(&server, "UNTRUSTED");
    let job = job_where(&server, "UNTRUSTED", "the store failing", |j| {
        j["destinations"][0]["attempts"].as_u64() >= Some(1)
            && !j["destinations"][0]["last_error"].is_null()
    });
    assert_eq!(destination_state(&job), "pending", "{job:#}");
    assert!(
        job["state"] != "done" && job["state"] != "failed",
        "the job waits: {job:#}"
    );
    let error = job["destinations"][0]["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        error.contains("certificate") || error.contains("issuer"),
        "last_error names the certificate problem: {job:#}"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(store.files().is_empty(), "stored: {:?}", store.files());
    let log = store.log();
    assert!(!log.contains("Received Store Request"), "{log}");
}

/// PS3.15 B.1, both nodes authenticate: storescp requires a client certificate signed by
/// the test CA, and filmd presents its `[tls] cert` (set here without `[tls] listen`).
/// The certificate is the PKI's client one (extended key usage clientAuth): OpenSSL, in
/// storescp, refuses a serverAuth-only certificate from a client with the alert
/// "unsupported certificate", so a `[tls] cert` that filmd's TLS listener also serves
/// needs both usages.
fn a_pacs_requiring_a_client_certificate_gets_filmds_tls_cert() {
    let pki = Pki::new();
    let store = tls_storescp(&pki, Some(&pki.ca));
    let config = format!(
        "{}
[tls]
cert = \"{}\"
key = \"{}\"
",
        tls_queue(&store, &pki.ca),
        pki.client.cert.display(),
        pki.client.key.display()
    );
    let server = Server::start_with(&[], Some(&config));
    print(&server, "MUTUAL TLS");
    assert_stored(&server, &store, "MUTUAL TLS");
}
