//! What the films-to-PACS tests share: a one-image film printed with the test SCU,
//! `filmd jobs --json` read until a job reaches a state, a queue storing to a PACS, and
//! `dcmdump +E` on what the PACS received (any error it reports fails the test).

use super::scu::{GRAY_META, Scu, print_film};
use super::{PEER_DEADLINE, Server, dcmtk_peers::dcmtk_command, output_within};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Runs `filmd ARGS --data-dir DIR`.
pub fn filmd(data_dir: &Path, args: &[&str]) -> Output {
    output_within(
        Command::new(env!("CARGO_BIN_EXE_filmd"))
            .args(args)
            .arg("--data-dir")
            .arg(data_dir),
        PEER_DEADLINE,
    )
}

/// `filmd jobs --json`: every job of the data directory.
pub fn jobs(data_dir: &Path) -> Vec<Value> {
    let out = filmd(data_dir, &["jobs", "--json"]);
    assert!(
        out.status.success(),
        "filmd jobs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("JSON")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits (at most 90 s: a bound for a loaded machine and a PACS's backoff, not a
/// timing) until `f` gives a value.
pub fn wait_for<T>(
    what: &str,
    context: impl Fn() -> String,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "timed out: {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A one-image film (a 64×64 ramp) with this Film Session Label, on 14×17 in film.
pub fn film(label: &'static str) -> filmd::scu::FilmSpec<'static> {
    let pixels: Vec<u16> = (0..64 * 64).map(|p| (p % 64 * 4) as u16).collect();
    let mut spec = filmd::scu::FilmSpec::gray(
        "STANDARD\\1,1",
        vec![Some(filmd::scu::gray_image(
            64,
            64,
            8,
            "MONOCHROME2",
            &pixels,
        ))],
    );
    spec.label = label;
    spec.size = "14INX17IN";
    spec
}

/// Prints [`film`] on filmd's plain listener; the print N-ACTION must succeed.
pub fn print(server: &Server, label: &'static str) {
    let mut scu = Scu::connect(server.port, &[GRAY_META]);
    let (status, _) = print_film(&mut scu, &film(label));
    assert_eq!(status, 0, "print N-ACTION");
    scu.release();
}

/// The job with this label, once `pred` holds for it.
pub fn job_where(server: &Server, label: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    wait_for(
        what,
        || {
            format!(
                "jobs: {:#?}\nfilmd log:\n{}",
                jobs(&server.data_dir),
                server.log_text()
            )
        },
        || {
            jobs(&server.data_dir)
                .into_iter()
                .find(|j| j["label"] == label && pred(j))
        },
    )
}

/// The state of the job's one destination.
pub fn destination_state(job: &Value) -> String {
    job["destinations"][0]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A configuration with filmd's AE FILMD and one queue "pacs" (no PDF, 100 dpi) plus
/// `extra` keys of that queue.
pub fn pacs_queue(extra: &str) -> String {
    format!(
        "[server]\nae_title = \"FILMD\"\n\n[[queue]]\nname = \"pacs\"\npdf_dir = \"\"\n\
         dpi = 100\n{extra}"
    )
}

/// `dcmdump +E`: the file's dump; any error it reports fails the test.
pub fn dcmdump(path: &Path) -> String {
    let out = output_within(dcmtk_command("dcmdump").arg("+E").arg(path), PEER_DEADLINE);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "dcmdump: {err}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
