//! filmd-loadgen, the built binary, against a filmd on loopback: its JSON report counts
//! what it sent and the films reach the disk as PDFs.

use crate::common;
use crate::common::harness::{Test, trials};

use common::Server;
use std::process::Command;

pub fn tests() -> Vec<Test> {
    trials![
        two_associations_of_two_films_are_reported_and_printed,
        failures_are_counted_by_status_and_fail_the_exit_code,
    ]
}

fn two_associations_of_two_films_are_reported_and_printed() {
    let server = Server::start();
    let out = common::output_within(
        Command::new(env!("CARGO_BIN_EXE_filmd-loadgen"))
            .args(["--port", &server.port.to_string(), "--called-ae", "FILMD"])
            .args([
                "--associations",
                "2",
                "--films",
                "2",
                "--format",
                r"STANDARD\1,2",
            ])
            .args(["--rows", "64", "--cols", "64", "--bits", "12", "--json"])
            .args(["--timeout", "30"]),
        common::PEER_DEADLINE,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {}\nfilmd log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        server.log_text()
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["associations"], 2);
    assert_eq!(report["films_per_association"], 2);
    assert_eq!(report["images_per_film"], 2, "both boxes of STANDARD\\1,2");
    assert_eq!(report["films_attempted"], 4);
    assert_eq!(report["films_ok"], 4);
    assert_eq!(report["films_failed"], 0);
    assert_eq!(report["failures"], serde_json::json!({}));
    assert_eq!(report["warnings"], serde_json::json!({}));
    // Two 64x64 12-bit images (2 bytes a pixel) per film, four films.
    assert_eq!(report["pixel_bytes_per_film"], 2 * 64 * 64 * 2);
    assert_eq!(report["pixel_bytes_sent"], 4 * 2 * 64 * 64 * 2);
    assert_eq!(report["n_action"]["count"], 4);
    assert_eq!(report["associate"]["count"], 2);
    let p50 = report["n_action"]["p50_ms"].as_f64().unwrap();
    let max = report["n_action"]["max_ms"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 <= max, "p50 {p50} max {max}");
    assert!(report["films_per_s"].as_f64().unwrap() > 0.0);

    let pdfs = server.wait_pdfs(4);
    assert_eq!(pdfs.len(), 4, "one PDF per film: {pdfs:?}");
    for p in &pdfs {
        let bytes = std::fs::read(p).unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "{} is a PDF", p.display());
    }
}

fn failures_are_counted_by_status_and_fail_the_exit_code() {
    let server = Server::start();
    // 15INX15IN is no Film Size ID (PS3.3 C.13.8): every film box N-CREATE fails.
    let out = common::output_within(
        Command::new(env!("CARGO_BIN_EXE_filmd-loadgen"))
            .args(["--port", &server.port.to_string(), "--films", "3"])
            .args([
                "--film-size",
                "15INX15IN",
                "--rows",
                "16",
                "--cols",
                "16",
                "--json",
            ]),
        common::PEER_DEADLINE,
    );
    assert_eq!(out.status.code(), Some(1), "a failed film fails the run");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("JSON report even on failure");
    assert_eq!(report["films_ok"], 0);
    assert_eq!(report["films_failed"], 3);
    assert_eq!(
        report["failures"],
        serde_json::json!({"film box N-CREATE 0x0106": 3}),
        "{report}"
    );
    assert_eq!(report["n_action"]["count"], 0);
    assert!(server.pdfs().is_empty());
}
