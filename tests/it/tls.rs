//! DICOM TLS (PS3.15 B.9, the BCP 195 profile) with real peers: DCMTK's echoscu and print
//! client, pynetdicom, Python's ssl module offering TLS 1.1 only, filmd-loadgen, and a
//! plain association sent to the TLS port. Every refusal leaves a warn line in filmd's
//! log and does not disturb an association already running. Certificates are made by
//! the test (tests/it/common/certs.rs).

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use common::certs::{Identity, Pki};
use filmd::net::tls::{ClientTlsFiles, client_config};
use filmd::scu::{FilmSpec, Scu, ScuOptions, ScuTls, gray_image, print_film};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(Dcmtk)]
        dcmtk_echoscu_over_tls_1_3_and_1_2_with_a_client_certificate,
        #[needs(Dcmtk)]
        dcmtk_without_a_certificate_or_with_the_retired_aes_profile_is_refused,
        #[needs(Dcmtk)]
        dcmtk_prints_a_film_over_tls,
        #[needs(Pynetdicom)]
        pynetdicom_prints_over_tls_with_and_without_a_client_certificate,
        #[needs(Pynetdicom)]
        refused_clients_are_logged_and_an_open_association_still_prints,
        tls_only_listener_serves_filmd_loadgen_with_a_client_certificate,
    ]
}

const DCMTK_ECHOSCU: &str = "/usr/bin/echoscu";

/// filmd with a plain listener and a TLS one; client certificates verified against the
/// test CA when `client_ca`, required when `require`.
fn tls_server(pki: &Pki, client_ca: bool, require: bool) -> Server {
    let server = Server::start_with(
        &[],
        Some(&pki.tls_section("127.0.0.1:0", client_ca, require)),
    );
    assert!(server.tls_port.is_some(), "filmd reported its TLS port");
    server
}

fn tls_port(server: &Server) -> String {
    server.tls_port.expect("a TLS listener").to_string()
}

/// Lines of filmd's log that contain `needle`.
fn log_lines(server: &Server, needle: &str) -> Vec<String> {
    server
        .log_text()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Waits (up to 10 s) until filmd's log has `n` lines containing `needle`: the server
/// logs a refused handshake when its side of it ends, which may be after the client gave
/// up.
fn wait_log_lines(server: &Server, needle: &str, n: usize) -> Vec<String> {
    let start = std::time::Instant::now();
    loop {
        let lines = log_lines(server, needle);
        if lines.len() >= n || start.elapsed() > Duration::from_secs(10) {
            assert!(
                lines.len() >= n,
                "expected {n} log lines with {needle:?}, found {lines:?}; log:\n{}",
                server.log_text()
            );
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn echoscu(port: &str, tls: &[&str]) -> std::process::Output {
    common::output_within(
        Command::new(DCMTK_ECHOSCU)
            .args(["-aet", "DCMECHO", "-aec", "FILMD", "-to", "10"])
            .args(tls)
            .args(["127.0.0.1", port]),
        common::PEER_DEADLINE,
    )
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

fn dcmtk_tls_args<'a>(pki: &'a Pki, id: &'a Identity) -> Vec<&'a str> {
    vec!["+tls", path(&id.key), path(&id.cert), "+cf", path(&pki.ca)]
}

fn dcmtk_echoscu_over_tls_1_3_and_1_2_with_a_client_certificate() {
    let pki = Pki::new();
    let server = tls_server(&pki, true, true);
    let port = tls_port(&server);
    let mut tls = dcmtk_tls_args(&pki, &pki.client);
    // The default profile (Non-downgrading BCP 195) negotiates TLS 1.3.
    let out = echoscu(&port, &tls);
    assert!(
        out.status.success(),
        "echoscu +tls: {}\nfilmd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log_text()
    );
    let lines = wait_log_lines(&server, "association accepted over TLS", 1);
    assert!(
        lines[0].contains("association accepted over TLSv1_3 TLS13_AES_")
            && lines[0].contains("client certificate verified")
            && lines[0].contains("calling=DCMECHO"),
        "{lines:?}"
    );
    // The Extended BCP 195 profile turns TLS 1.3 off: TLS 1.2 with an ECDHE_RSA AEAD suite.
    tls.push("+pz");
    let out = echoscu(&port, &tls);
    assert!(
        out.status.success(),
        "echoscu +tls +pz: {}\nfilmd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log_text()
    );
    let lines = wait_log_lines(&server, "association accepted over TLS", 2);
    assert!(
        lines[1].contains("association accepted over TLSv1_2 TLS_ECDHE_RSA_WITH_AES_")
            && lines[1].contains("_GCM_SHA")
            && lines[1].contains("client certificate verified"),
        "{lines:?}"
    );
    assert!(log_lines(&server, "TLS handshake failed").is_empty());
}

fn dcmtk_without_a_certificate_or_with_the_retired_aes_profile_is_refused() {
    let pki = Pki::new();
    let server = tls_server(&pki, true, true);
    let port = tls_port(&server);
    // Anonymous TLS: the server requires a client certificate.
    let out = echoscu(&port, &["+tla", "+cf", path(&pki.ca)]);
    assert!(!out.status.success(), "anonymous TLS accepted");
    let failed = wait_log_lines(&server, "TLS handshake failed", 1);
    assert!(failed[0].contains("no certificates"), "{failed:?}");
    // The retired AES profile offers TLS_RSA_WITH_AES_128_CBC_SHA only (no TLS 1.3):
    // RSA key transport and CBC are not in BCP 195.
    let mut tls = dcmtk_tls_args(&pki, &pki.client);
    tls.push("+pa");
    let out = echoscu(&port, &tls);
    assert!(!out.status.success(), "the AES profile accepted");
    wait_log_lines(&server, "TLS handshake failed", 2);
    assert!(log_lines(&server, "association accepted").is_empty());
    // Anonymous TLS is fine where no client certificate is asked for.
    let open = tls_server(&pki, false, false);
    let out = echoscu(&tls_port(&open), &["+tla", "+cf", path(&pki.ca)]);
    assert!(
        out.status.success(),
        "anonymous TLS without client_ca: {}\nfilmd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        open.log_text()
    );
    let lines = wait_log_lines(&open, "association accepted over TLS", 1);
    assert!(!lines[0].contains("client certificate"), "{lines:?}");
}

fn pdf_pages(p: &Path) -> usize {
    lopdf::Document::load(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .get_pages()
        .len()
}

fn dcmtk_prints_a_film_over_tls() {
    let pki = Pki::new();
    let server = tls_server(&pki, true, true);
    let work = tempfile::tempdir().unwrap();
    let out = common::output_within(
        Command::new("python3")
            .arg(common::repo_root().join("tests/peers/dcmtk_print.py"))
            .args(["--port", &tls_port(&server), "--ae", "FILMD"])
            .args(["--timeout", "30", "--rows", "64", "--cols", "64"])
            .args(["--layout", "2", "1", "--workdir", path(work.path())])
            .args(["--tls-ca", path(&pki.ca)])
            .args(["--tls-cert", path(&pki.client.cert)])
            .args(["--tls-key", path(&pki.client.key)]),
        common::PEER_DEADLINE,
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "dcmtk_print.py: no JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let log = std::fs::read_to_string(work.path().join("dcmprscu.log")).unwrap_or_default();
    assert!(
        r["ok"] == true && r["n_action_status"] == "0x0000",
        "{}\ndcmprscu log:\n{log}\nfilmd log:\n{}",
        r["reason"],
        server.log_text()
    );
    assert_eq!(r["n_set_count"], 2, "both image boxes of STANDARD\\2,1");
    let pdfs = server.wait_pdfs(1);
    assert_eq!(pdfs.len(), 1, "{pdfs:?}");
    assert_eq!(pdf_pages(&pdfs[0]), 1, "one film, one page");
    let lines = log_lines(&server, "association accepted over TLS");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("calling=DCMPRSCU") && lines[0].contains("client certificate verified"),
        "{lines:?}"
    );
}

/// Runs pynet_print.py's `print` scenario over TLS; returns its JSON report.
fn pynet_tls(server: &Server, pki: &Pki, identity: Option<&Identity>) -> Value {
    let mut cmd = Command::new("python3");
    cmd.arg(common::repo_root().join("tests/peers/pynet_print.py"))
        .args([
            "--port",
            &tls_port(server),
            "--ae",
            "FILMD",
            "--timeout",
            "20",
        ])
        .args(["--scenario", "print", "--tls-ca", path(&pki.ca)]);
    if let Some(id) = identity {
        cmd.args(["--tls-cert", path(&id.cert), "--tls-key", path(&id.key)]);
    }
    let out = common::output_within(&mut cmd, common::PEER_DEADLINE);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "pynet_print.py: no JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn pynetdicom_prints_over_tls_with_and_without_a_client_certificate() {
    let pki = Pki::new();
    let server = tls_server(&pki, true, false);
    for (n, identity) in [(1, Some(&pki.client)), (2, None)] {
        let r = pynet_tls(&server, &pki, identity);
        assert!(
            r["ok"] == true,
            "pynetdicom over TLS, certificate {}: {}\nfilmd log:\n{}",
            identity.is_some(),
            r["mismatches"],
            server.log_text()
        );
        server.wait_pdfs(n);
    }
    let lines = log_lines(&server, "association accepted over TLS");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("client certificate verified"),
        "{lines:?}"
    );
    assert!(!lines[1].contains("client certificate"), "{lines:?}");
}

fn tls_options(pki: &Pki, identity: Option<&Identity>) -> ScuOptions {
    let config = client_config(&ClientTlsFiles {
        ca: pki.ca.clone(),
        identity: identity.map(|i| (i.cert.clone(), i.key.clone())),
    })
    .expect("client TLS configuration");
    ScuOptions {
        calling_ae: "HELDSCU".into(),
        tls: Some(ScuTls {
            config,
            server_name: "127.0.0.1".into(),
        }),
        ..ScuOptions::default()
    }
}

/// Prints one 1x1 film on an open association and waits for its PDF (the `n`th).
fn print_one(scu: &mut Scu, server: &Server, n: usize) {
    let image = gray_image(32, 32, 8, "MONOCHROME2", &[128; 32 * 32]);
    let spec = FilmSpec::gray(r"STANDARD\1,1", vec![Some(image)]);
    let printed = print_film(scu, &spec).unwrap_or_else(|e| {
        panic!(
            "the open association no longer prints: {e}\nfilmd log:\n{}",
            server.log_text()
        )
    });
    assert_eq!(printed.action.status(), 0);
    server.wait_pdfs(n);
}

/// A client that must be refused: `Err` says how it got through.
type Attempt<'a> = dyn Fn() -> Result<(), String> + 'a;

fn refused_clients_are_logged_and_an_open_association_still_prints() {
    let pki = Pki::new();
    let server = tls_server(&pki, true, true);
    let port = server.tls_port.unwrap();
    // Held open over TLS through every refusal below, and a plain one beside it.
    let mut held = Scu::connect(("127.0.0.1", port), &tls_options(&pki, Some(&pki.client)))
        .expect("TLS association with a client certificate");
    assert!(
        held.assoc
            .as_mut()
            .unwrap()
            .channel()
            .starts_with("TLSv1_3")
    );
    let mut plain =
        Scu::connect(("127.0.0.1", server.port), &ScuOptions::default()).expect("plain");
    let mut printed = 0;
    let refusals: [(&str, &Attempt, &str); 5] = [
        (
            "pynetdicom without a certificate",
            &|| refused_pynet(&server, &pki, None),
            "no certificates",
        ),
        (
            "pynetdicom with an expired certificate",
            &|| refused_pynet(&server, &pki, Some(&pki.expired)),
            "certificate expired",
        ),
        (
            "pynetdicom with a certificate of an unknown CA",
            &|| refused_pynet(&server, &pki, Some(&pki.stranger)),
            "UnknownIssuer",
        ),
        ("TLS 1.1", &|| tls_1_1(port), "peer is incompatible"),
        (
            "an A-ASSOCIATE-RQ in clear",
            &|| plain_to_tls_port(port),
            "A-ASSOCIATE-RQ in clear",
        ),
    ];
    for (k, (what, attempt, detail)) in refusals.iter().enumerate() {
        attempt().unwrap_or_else(|e| panic!("{what}: {e}\nfilmd log:\n{}", server.log_text()));
        let failed = wait_log_lines(&server, "TLS handshake failed", k + 1);
        let line = &failed[k];
        assert!(
            line.contains("WARN") && line.contains(detail),
            "{what}: {line}"
        );
        println!("{what}: {line}");
        printed += 1;
        print_one(&mut held, &server, printed);
        printed += 1;
        print_one(&mut plain, &server, printed);
    }
    held.release().expect("release over TLS");
    plain.release().expect("release");
    assert_eq!(
        log_lines(&server, "association accepted over TLS").len(),
        1,
        "only the held association got through"
    );
}

/// pynetdicom must not get an association.
fn refused_pynet(server: &Server, pki: &Pki, identity: Option<&Identity>) -> Result<(), String> {
    let r = pynet_tls(server, pki, identity);
    match r["associations"].get(0).map(|a| &a["established"]) {
        Some(Value::Bool(false)) => Ok(()),
        _ => Err(format!("not refused: {r}")),
    }
}

/// A client offering TLS 1.0 and 1.1 only (RFC 8996 deprecates both).
fn tls_1_1(port: u16) -> Result<(), String> {
    let out = common::output_within(
        Command::new("python3")
            .arg(common::repo_root().join("tests/peers/tls_probe.py"))
            .args(["--port", &port.to_string(), "--max-version", "TLSv1_1"]),
        common::PEER_DEADLINE,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && stdout.contains("\"failed\"") {
        Ok(())
    } else {
        Err(format!("TLS 1.1 not refused: {stdout}"))
    }
}

/// filmd's own SCU, in clear, on the TLS port.
fn plain_to_tls_port(port: u16) -> Result<(), String> {
    let options = ScuOptions {
        connect_timeout: Duration::from_secs(10),
        ..ScuOptions::default()
    };
    match Scu::connect(("127.0.0.1", port), &options) {
        Ok(_) => Err("a plain association on the TLS port".into()),
        Err(_) => Ok(()),
    }
}

fn loadgen(server: &Server, tls: &[&str]) -> (std::process::Output, Value) {
    let out = common::output_within(
        Command::new(env!("CARGO_BIN_EXE_filmd-loadgen"))
            .args(["--port", &tls_port(server), "--called-ae", "FILMD"])
            .args(["--associations", "2", "--films", "2"])
            .args(["--format", r"STANDARD\1,2", "--rows", "64", "--cols", "64"])
            .args(["--json", "--timeout", "30"])
            .args(tls),
        common::PEER_DEADLINE,
    );
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "filmd-loadgen: no JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, report)
}

fn tls_only_listener_serves_filmd_loadgen_with_a_client_certificate() {
    let pki = Pki::new();
    let config = format!(
        "[server]\nlisten = \"\"\n{}",
        pki.tls_section("127.0.0.1:0", true, true)
    );
    let server = Server::start_with(&["--listen", ""], Some(&config));
    assert_eq!(server.tls_port, Some(server.port), "TLS only: one port");
    let ca = path(&pki.ca);
    let (out, report) = loadgen(
        &server,
        &[
            "--tls-ca",
            ca,
            "--tls-cert",
            path(&pki.client.cert),
            "--tls-key",
            path(&pki.client.key),
        ],
    );
    assert!(
        out.status.success(),
        "{report}\nfilmd log:\n{}",
        server.log_text()
    );
    assert_eq!(report["transport"], "TLS");
    assert_eq!(report["films_ok"], 4);
    assert_eq!(report["associate"]["count"], 2);
    assert_eq!(server.wait_pdfs(4).len(), 4);
    assert_eq!(
        log_lines(&server, "association accepted over TLSv1_3").len(),
        2
    );
    // Without a client certificate every association is refused, and counted.
    let (out, report) = loadgen(&server, &["--tls-ca", ca]);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(report["films_ok"], 0);
    assert_eq!(report["films_failed"], 4);
    wait_log_lines(&server, "TLS handshake failed", 2);
    // A CA that did not sign filmd's certificate: the client refuses the server.
    let wrong_ca: PathBuf = pki.dir.join("stranger-ca.pem");
    let (out, report) = loadgen(&server, &["--tls-ca", path(&wrong_ca)]);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(report["films_ok"], 0);
    assert!(
        report["failures"].to_string().contains("UnknownIssuer")
            || report["failures"].to_string().contains("certificate"),
        "{report}"
    );
}
