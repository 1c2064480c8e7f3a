//! Shared test helpers: the harness that runs the tests and knows their peers, filmd
//! started on a free loopback port, a Rust Print SCU built on dicom-ul's client
//! association, and readers for the PDFs filmd writes.
#![allow(dead_code)]

pub mod certs;
pub mod dcmtk_peers;
pub mod harness;
pub mod ipp_peers;
pub mod pacs_jobs;
pub mod pacs_peers;
pub mod pdf;
pub mod scu;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// A filmd process on 127.0.0.1; killed (by PID) when dropped.
pub struct Server {
    pub child: Child,
    /// The plain listener's port, else (TLS only) the TLS listener's.
    pub port: u16,
    /// The DICOM TLS listener's port, when the configuration has `[tls] listen`.
    pub tls_port: Option<u16>,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub log: PathBuf,
    /// filmd's stdout, kept open: a closed pipe would fail its later writes.
    stdout: BufReader<ChildStdout>,
    /// The web console's base URL, once read from stdout ([`Server::console_url`]).
    console: Option<String>,
}

/// Whether a configuration's text sets `[admin] http_listen`: otherwise the test server's
/// console listens on a free port (`--http-listen 127.0.0.1:0`), not on the default 8631
/// that every test would share.
fn sets_http_listen(config: Option<&str>) -> bool {
    config.is_some_and(|text| {
        toml::from_str::<toml::Table>(text)
            .is_ok_and(|t| t.get("admin").and_then(|a| a.get("http_listen")).is_some())
    })
}

/// `--http-listen 127.0.0.1:0` unless `extra` or the configuration says where.
fn console_args(extra: &[&str], config: Option<&str>) -> Vec<String> {
    if extra.contains(&"--http-listen") || sets_http_listen(config) {
        Vec::new()
    } else {
        vec!["--http-listen".into(), "127.0.0.1:0".into()]
    }
}

/// Whether a configuration's text sets `[tls] listen`: filmd then prints a second
/// "listening with TLS on" line (or only that one, with `server.listen = ""`).
fn listens_with_tls(config: &str) -> bool {
    toml::from_str::<toml::Table>(config).is_ok_and(|t| {
        t.get("tls")
            .and_then(|tls| tls.get("listen"))
            .and_then(|l| l.as_str())
            .is_some_and(|l| !l.is_empty())
    })
}

impl Server {
    /// Starts filmd with the embedded configuration on a free port.
    pub fn start() -> Server {
        Self::start_with(&[], None)
    }

    /// Starts filmd with extra arguments and optionally a configuration file's text. A
    /// `--listen` among `extra` replaces the default 127.0.0.1:0 (`--listen ""` leaves
    /// only the TLS listener).
    pub fn start_with(extra: &[&str], config: Option<&str>) -> Server {
        Self::start_on("127.0.0.1:0", extra, config)
    }

    /// [`Server::start_with`] listening on `listen` (a loopback address, e.g. `[::1]:0`).
    pub fn start_on(listen: &str, extra: &[&str], config: Option<&str>) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().join("data");
        let log = tmp.path().join("filmd.log");
        let mut args: Vec<String> = vec!["serve".into()];
        if !extra.contains(&"--listen") {
            args.extend(["--listen".into(), listen.into()]);
        }
        args.extend(["--data-dir".into(), data_dir.display().to_string()]);
        args.extend(console_args(extra, config));
        let tls = config.is_some_and(listens_with_tls);
        if let Some(text) = config {
            let p = tmp.path().join("filmd.toml");
            std::fs::write(&p, text).unwrap();
            args.push("--config".into());
            args.push(p.display().to_string());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        Self::spawn(args, data_dir, log, Some(tmp), tls)
    }

    /// Starts filmd on an existing data directory (restart after a crash).
    pub fn restart_on(data_dir: &Path, log: &Path) -> Server {
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
        ];
        args.extend(console_args(&[], None));
        Self::spawn(args, data_dir.to_path_buf(), log.to_path_buf(), None, false)
    }

    /// Starts filmd on an existing data directory with extra arguments (e.g. the same
    /// `--config` as before the crash).
    pub fn restart_with(data_dir: &Path, log: &Path, extra: &[&str]) -> Server {
        let mut args: Vec<String> = vec!["serve".into()];
        if !extra.contains(&"--listen") {
            args.extend(["--listen".into(), "127.0.0.1:0".into()]);
        }
        args.extend(["--data-dir".into(), data_dir.display().to_string()]);
        let config = extra
            .iter()
            .position(|a| *a == "--config")
            .and_then(|i| extra.get(i + 1))
            .and_then(|p| std::fs::read_to_string(p).ok());
        args.extend(console_args(extra, config.as_deref()));
        args.extend(extra.iter().map(|s| s.to_string()));
        let tls = config.is_some_and(|text| listens_with_tls(&text));
        Self::spawn(args, data_dir.to_path_buf(), log.to_path_buf(), None, tls)
    }

    /// The configuration file [`Server::start_with`] wrote, if it was given one.
    pub fn config_path(&self) -> Option<PathBuf> {
        let p = self._tmp.as_ref()?.path().join("filmd.toml");
        p.exists().then_some(p)
    }

    fn spawn(
        args: Vec<String>,
        data_dir: PathBuf,
        log: PathBuf,
        tmp: Option<tempfile::TempDir>,
        tls: bool,
    ) -> Server {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_filmd"))
            .args(&args)
            .env("FILMD_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("start filmd");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        // "listening on ADDR", then "listening with TLS on ADDR"; either may be alone.
        let read_port = |stdout: &mut BufReader<ChildStdout>| {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            let port: u16 = line
                .trim()
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| {
                    panic!(
                        "filmd did not report its port: {line:?}; log: {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    )
                });
            (line.starts_with("listening with TLS"), port)
        };
        let (first_is_tls, port) = read_port(&mut stdout);
        let tls_port = match (tls, first_is_tls) {
            (_, true) => Some(port),
            (true, false) => Some(read_port(&mut stdout).1),
            (false, false) => None,
        };
        Server {
            child,
            port,
            tls_port,
            data_dir,
            _tmp: tmp,
            log,
            stdout,
            console: None,
        }
    }

    /// The web console's base URL, `http://127.0.0.1:PORT/` (or `https://`): the line
    /// "console on URL" filmd prints after its listening lines. Panics when the console is
    /// off.
    pub fn console_url(&mut self) -> String {
        if let Some(url) = &self.console {
            return url.clone();
        }
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("console on ")
            .unwrap_or_else(|| panic!("filmd did not report its console: {line:?}"))
            .to_string();
        self.console = Some(url.clone());
        url
    }

    pub fn pdf_dir(&self) -> PathBuf {
        self.data_dir.join("pdf")
    }

    /// PDFs written so far, sorted by name (= by job order).
    pub fn pdfs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.pdf_dir())
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Waits until at least `n` PDFs exist.
    pub fn wait_pdfs(&self, n: usize) -> Vec<PathBuf> {
        let start = Instant::now();
        loop {
            let v = self.pdfs();
            if v.len() >= n {
                return v;
            }
            if start.elapsed() > Duration::from_secs(60) {
                panic!(
                    "expected {n} PDFs, found {}; log:\n{}",
                    v.len(),
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for `n` PDFs that are not in `seen` (the jobs just printed), marks them seen
    /// and returns them in job order.
    pub fn new_pdfs(
        &self,
        seen: &mut std::collections::BTreeSet<PathBuf>,
        n: usize,
    ) -> Vec<PathBuf> {
        let all = self.wait_pdfs(seen.len() + n);
        let fresh: Vec<PathBuf> = all.into_iter().filter(|p| !seen.contains(p)).collect();
        assert_eq!(fresh.len(), n, "expected {n} new PDFs, found {fresh:?}");
        seen.extend(fresh.iter().cloned());
        fresh
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether a command exists on PATH.
pub fn have_command(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether python3 can import the given modules.
pub fn have_python_modules(modules: &str) -> bool {
    Command::new("python3")
        .arg("-c")
        .arg(format!("import {modules}"))
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The repository root (for scripts under tests/peers).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// How long a peer program run by a test may take before it is stopped: far above any
/// healthy run (the longest peers wait 60 s for a printer), and short enough that a test
/// running two peers still stops with their stacks before nextest's 5-minute limit.
pub const PEER_DEADLINE: Duration = Duration::from_secs(150);

/// Runs the `filmd` binary with `args` within [`PEER_DEADLINE`]: (exit status, stdout,
/// stderr).
pub fn filmd(args: &[&str]) -> (i32, String, String) {
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_filmd")).args(args),
        PEER_DEADLINE,
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Runs `cmd` to completion like [`Command::output`], but never for longer than
/// `deadline`: a peer that hangs (a deadlocked SCU, a printer that never answers) is
/// sent SIGUSR1, so the Python peers print every thread's stack (faulthandler), then
/// killed by its PID, and the test fails with what it printed. Without this one hung
/// peer holds the whole suite until CI's own limit.
pub fn output_within(cmd: &mut Command, deadline: Duration) -> std::process::Output {
    use std::io::Read;
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as _));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as _));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for peer") {
            break Some(status);
        }
        if start.elapsed() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let Some(status) = status else {
        let _ = Command::new("kill")
            .args(["-USR1", &child.id().to_string()])
            .status();
        std::thread::sleep(Duration::from_secs(2));
        let _ = child.kill();
        let _ = child.wait();
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        panic!(
            "{what} still running after {deadline:?}: stopped\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    };
    std::process::Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}
