//! Real IPP peers on loopback for backend tests: CUPS's `ippeveprinter` (an IPP
//! Everywhere printer that keeps what it receives) and an unprivileged `cupsd` with one
//! raw queue forwarding to it. Each runs in its own temporary directory on a free port
//! and is stopped by PID when dropped.

#[cfg(doc)]
use super::harness::Peer;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for a peer to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Finds a peer command on PATH or in the sbin directories (ippeveprinter, cupsd and
/// lpadmin live in /usr/sbin, which an unprivileged user's PATH may lack).
pub fn find_command(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A command for peer program `name`, found as [`find_command`] finds it.
pub fn command(name: &str) -> Command {
    Command::new(find_command(name).unwrap_or_else(|| PathBuf::from(name)))
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free loopback port")
}

/// Waits until something accepts connections on 127.0.0.1:`port`, or `child` exits.
fn wait_listening(port: u16, child: &mut Child, log: &Path) -> Result<(), String> {
    let start = Instant::now();
    loop {
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
            .is_ok()
        {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "exited ({status}) before listening on {port}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            ));
        }
        if start.elapsed() > START_TIMEOUT {
            return Err(format!(
                "not listening on {port} after {START_TIMEOUT:?}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops a child by its PID: SIGTERM (cupsd then stops its backends), SIGKILL if it is
/// still there after two seconds, and reaps it.
pub fn stop_child(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .stderr(Stdio::null())
        .status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub fn log_file(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("peer log file")
}

/// How to start an [`IppEve`].
#[derive(Debug, Clone)]
pub struct IppEveOptions {
    /// `-f`: document formats to accept; `None` keeps ippeveprinter's default
    /// (PWG raster and URF only).
    pub formats: Option<String>,
    /// `-s 10,10`: a color printer (`color-supported`, `srgb_8`).
    pub color: bool,
    /// `-K keydir`: also serve ipps, with a self-signed certificate made on the first
    /// TLS handshake.
    pub tls: bool,
    pub name: String,
    /// Listen on this loopback port (e.g. one a client was configured with before the
    /// printer existed); `None` picks a free one.
    pub port: Option<u16>,
}

impl Default for IppEveOptions {
    fn default() -> Self {
        IppEveOptions {
            formats: None,
            color: false,
            tls: false,
            name: "filmd test printer".into(),
            port: None,
        }
    }
}

impl IppEveOptions {
    /// PDF, JPEG, PNG and PWG raster, as a printer with a PDF interpreter offers.
    pub fn pdf() -> Self {
        IppEveOptions {
            formats: Some("application/pdf,image/jpeg,image/png,image/pwg-raster".into()),
            ..Default::default()
        }
    }
}

/// An `ippeveprinter` on 127.0.0.1 with a private D-Bus (it will not start without a
/// system bus, even with DNS-SD off), keeping every document it receives (`-k`).
pub struct IppEve {
    dir: tempfile::TempDir,
    pub port: u16,
    pub spool_dir: PathBuf,
    pub key_dir: PathBuf,
    opts: IppEveOptions,
    dbus: Child,
    eve: Option<Child>,
}

impl IppEve {
    /// Starts the printer (a test that does needs [`Peer::Ippeveprinter`]).
    pub fn start(opts: IppEveOptions) -> IppEve {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool_dir = dir.path().join("spool");
        let key_dir = dir.path().join("keys");
        std::fs::create_dir_all(&spool_dir).unwrap();
        std::fs::create_dir_all(&key_dir).unwrap();
        let dbus = start_dbus(dir.path());
        let mut eve = IppEve {
            dir,
            port: 0,
            spool_dir,
            key_dir,
            opts,
            dbus,
            eve: None,
        };
        let fixed = eve.opts.port;
        // The free port may be taken before ippeveprinter binds it: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            eve.port = fixed.unwrap_or_else(free_port);
            match eve.spawn() {
                Ok(()) => return eve,
                Err(e) => last = e,
            }
            if fixed.is_some() {
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        panic!("ippeveprinter did not start: {last}");
    }

    fn dbus_socket(&self) -> PathBuf {
        self.dir.path().join("dbus.sock")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("ippeveprinter.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut cmd = command("ippeveprinter");
        cmd.env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            format!("unix:path={}", self.dbus_socket().display()),
        )
        // -n localhost makes it bind the loopback addresses only.
        .args(["-n", "localhost", "-p", &self.port.to_string()])
        .arg("-d")
        .arg(&self.spool_dir)
        .args(["-k", "-r", "off"]);
        if let Some(f) = &self.opts.formats {
            cmd.args(["-f", f]);
        }
        if self.opts.color {
            cmd.args(["-s", "10,10"]);
        }
        if self.opts.tls {
            cmd.arg("-K").arg(&self.key_dir);
        }
        cmd.arg(&self.opts.name);
        let log = self.log_path();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(log_file(&log))
            .stderr(log_file(&log))
            .spawn()
            .map_err(|e| format!("spawn ippeveprinter: {e}"))?;
        match wait_listening(self.port, &mut child, &log) {
            Ok(()) => {
                self.eve = Some(child);
                Ok(())
            }
            Err(e) => {
                stop_child(&mut child);
                Err(e)
            }
        }
    }

    /// `ipp://127.0.0.1:PORT/ipp/print`.
    pub fn uri(&self) -> String {
        format!("ipp://127.0.0.1:{}/ipp/print", self.port)
    }

    /// `ipps://localhost:PORT/ipp/print`: the self-signed certificate names `localhost`
    /// only (subjectAltName DNS:localhost, no IP address), so ipps with verification
    /// must use that name.
    pub fn ipps_uri(&self) -> String {
        format!("ipps://localhost:{}/ipp/print", self.port)
    }

    /// The printer's certificate, PEM. ippeveprinter writes `KEYDIR/<server name>.crt`
    /// (here `localhost.crt`) during its first TLS handshake, so this makes one with
    /// ipptool first.
    pub fn tls_cert_pem(&self) -> Vec<u8> {
        assert!(self.opts.tls, "started without tls");
        let cert = self.key_dir.join("localhost.crt");
        if !cert.exists() {
            let test = self.dir.path().join("gpa.test");
            std::fs::write(&test, GET_PRINTER_ATTRIBUTES_TEST).unwrap();
            let _ = command("ipptool")
                .args(["-T", "10"])
                .arg(format!("ipps://127.0.0.1:{}/ipp/print", self.port))
                .arg(&test)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let start = Instant::now();
        while !cert.exists() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::fs::read(&cert).unwrap_or_else(|e| {
            panic!(
                "no certificate at {}: {e}; keys: {:?}; log: {}",
                cert.display(),
                std::fs::read_dir(&self.key_dir).map(|d| d.count()),
                self.log()
            )
        })
    }

    /// Documents kept so far (`SPOOL/<job-id>-<job name>.<ext>`), sorted by name.
    pub fn kept_documents(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.spool_dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        v.retain(|p| p.is_file());
        v.sort();
        v
    }

    /// The kept document of job `id` (its file name starts with `<id>-`), waiting up to
    /// `timeout` for it to appear.
    pub fn wait_kept_document(&self, id: i32, timeout: Duration) -> PathBuf {
        let prefix = format!("{id}-");
        let start = Instant::now();
        loop {
            if let Some(p) = self.kept_documents().into_iter().find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
            }) {
                return p;
            }
            if start.elapsed() > timeout {
                panic!(
                    "no kept document for job {id} in {:?}; log: {}",
                    self.kept_documents(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the printer (the private D-Bus stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.eve.take() {
            stop_child(&mut child);
        }
    }

    /// Starts the printer again on the same port, spool and keys.
    pub fn restart(&mut self) {
        self.stop();
        // The old socket may linger briefly; the port is ours as long as nobody else
        // took it meanwhile.
        let mut last = String::new();
        for _ in 0..20 {
            match self.spawn() {
                Ok(()) => return,
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("ippeveprinter did not restart on {}: {last}", self.port);
    }

    /// `ipptool -tv` Get-Printer-Attributes (all attributes), as text (lines such as
    /// `media-ready (1setOf keyword) = na_letter_8.5x11in,...`).
    pub fn ipptool_printer_attributes(&self) -> String {
        let test = self.dir.path().join("gpa.test");
        std::fs::write(&test, GET_PRINTER_ATTRIBUTES_TEST).unwrap();
        let out = super::output_within(
            command("ipptool")
                .args(["-T", "10", "-tv"])
                .arg(self.uri())
                .arg(&test),
            super::PEER_DEADLINE,
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `ipptool -tv` Get-Job-Attributes for job `id` (all attributes), as text.
    pub fn ipptool_job_attributes(&self, printer_uri: &str, id: i32) -> String {
        ipptool_job_attributes(self.dir.path(), printer_uri, id)
    }
}

impl Drop for IppEve {
    fn drop(&mut self) {
        self.stop();
        stop_child(&mut self.dbus);
    }
}

/// A private `dbus-daemon` listening on DIR/dbus.sock, in the foreground so that its PID
/// is the child's.
fn start_dbus(dir: &Path) -> Child {
    let socket = dir.join("dbus.sock");
    let log = dir.join("dbus.log");
    let mut child = command("dbus-daemon")
        .args(["--session", "--nofork", "--nopidfile"])
        .arg(format!("--address=unix:path={}", socket.display()))
        .stdin(Stdio::null())
        .stdout(log_file(&log))
        .stderr(log_file(&log))
        .spawn()
        .expect("spawn dbus-daemon");
    let start = Instant::now();
    while !socket.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "dbus-daemon exited ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        if start.elapsed() > START_TIMEOUT {
            stop_child(&mut child);
            panic!("dbus-daemon made no socket at {}", socket.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

const GET_PRINTER_ATTRIBUTES_TEST: &str = "{
  OPERATION Get-Printer-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
}
";

const GET_JOB_ATTRIBUTES_TEST: &str = "{
  OPERATION Get-Job-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR integer job-id $job_id
  ATTR name requesting-user-name filmd
  STATUS successful-ok
}
";

/// `ipptool -tv` Get-Job-Attributes for job `id` at `printer_uri`, as text (lines such
/// as `copies (integer) = 2`).
pub fn ipptool_job_attributes(dir: &Path, printer_uri: &str, id: i32) -> String {
    let test = dir.join("get-job-attributes.test");
    std::fs::write(&test, GET_JOB_ATTRIBUTES_TEST).unwrap();
    let out = super::output_within(
        command("ipptool")
            .args(["-T", "10", "-tv", "-d"])
            .arg(format!("job_id={id}"))
            .arg(printer_uri)
            .arg(&test),
        super::PEER_DEADLINE,
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An unprivileged `cupsd` on 127.0.0.1 with its own configuration and state in a
/// temporary directory and one raw queue, `films`, forwarding to an IPP printer. As
/// root it runs as nobody:nogroup (under setpriv), which also keeps its backends
/// unprivileged.
pub struct Cupsd {
    dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
    /// Which `lpadmin -m` made the queue (`raw`, or `everywhere` where raw is refused).
    pub model: &'static str,
}

impl Cupsd {
    /// Starts cupsd and creates the queue (a test that does needs [`Peer::Cupsd`]).
    pub fn start(forward_to_uri: &str) -> Cupsd {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = is_root();
        let (user, group) = if root {
            ("nobody".to_string(), "nogroup".to_string())
        } else {
            (id("-un"), id("-gn"))
        };
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            write_config(dir.path(), port, &user, &group);
            if root {
                let status = Command::new("chown")
                    .arg("-R")
                    .arg(format!("{user}:{group}"))
                    .arg(dir.path())
                    .status()
                    .expect("chown");
                assert!(status.success(), "chown of the cupsd directory");
            }
            let log = dir.path().join("cupsd.out");
            let mut cmd = if root {
                let mut c = command("setpriv");
                c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
                    .arg(find_command("cupsd").unwrap_or_else(|| "cupsd".into()));
                c
            } else {
                command("cupsd")
            };
            let mut child = cmd
                .arg("-f")
                .arg("-c")
                .arg(dir.path().join("cupsd.conf"))
                .arg("-s")
                .arg(dir.path().join("cups-files.conf"))
                .stdin(Stdio::null())
                .stdout(log_file(&log))
                .stderr(log_file(&log))
                .spawn()
                .expect("spawn cupsd");
            if let Err(e) = wait_listening(port, &mut child, &log) {
                stop_child(&mut child);
                last = e;
                continue;
            }
            let mut cupsd = Cupsd {
                dir,
                port,
                child,
                model: "raw",
            };
            cupsd.model = cupsd.add_queue(forward_to_uri);
            return cupsd;
        }
        panic!("cupsd did not start: {last}");
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `lpadmin -p films -E -v URI -m raw`; CUPS 2.4 still takes raw queues (with a
    /// deprecation warning), a later CUPS may not, then an IPP Everywhere queue.
    fn add_queue(&self, uri: &str) -> &'static str {
        let mut errors = Vec::new();
        for model in ["raw", "everywhere"] {
            for _ in 0..10 {
                let mut lpadmin = command("lpadmin");
                lpadmin.args([
                    "-h",
                    &self.host(),
                    "-p",
                    "films",
                    "-E",
                    "-v",
                    uri,
                    "-m",
                    model,
                ]);
                let out = super::output_within(&mut lpadmin, super::PEER_DEADLINE);
                if out.status.success() {
                    return model;
                }
                errors.push(format!(
                    "-m {model}: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        panic!("lpadmin failed: {errors:?}; log: {}", self.error_log());
    }

    /// `ipp://127.0.0.1:PORT/printers/films`.
    pub fn queue_uri(&self) -> String {
        format!("ipp://127.0.0.1:{}/printers/films", self.port)
    }

    /// `cupsdisable`: the queue stops (printer-state stopped, reason `paused`) and holds
    /// new jobs.
    pub fn disable(&self) {
        self.run("cupsdisable");
    }

    /// `cupsenable`: the queue resumes.
    pub fn enable(&self) {
        self.run("cupsenable");
    }

    fn run(&self, cmd: &str) {
        let out = super::output_within(
            command(cmd).args(["-h", &self.host(), "films"]),
            super::PEER_DEADLINE,
        );
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log/error_log")).unwrap_or_default()
    }

    /// `ipptool -tv` Get-Job-Attributes for job `id` on the queue.
    pub fn ipptool_job_attributes(&self, id: i32) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        ipptool_job_attributes(dir.path(), &self.queue_uri(), id)
    }
}

impl Drop for Cupsd {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// Whether the tests run as root (cupsd is then started under setpriv as nobody).
pub fn is_root() -> bool {
    id("-u") == "0"
}

fn id(flag: &str) -> String {
    Command::new("id")
        .arg(flag)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// cupsd.conf (loopback only, no browsing, no web interface, anyone on 127.0.0.1 may
/// administer) and cups-files.conf (every path inside `dir`).
fn write_config(dir: &Path, port: u16, user: &str, group: &str) {
    for sub in ["root", "state", "cache", "spool/tmp", "log"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let cupsd_conf = format!(
        "Listen 127.0.0.1:{port}\n\
         Browsing No\n\
         WebInterface No\n\
         LogLevel debug\n\
         MaxLogSize 0\n\
         DefaultAuthType None\n\
         <Location />\n  Order allow,deny\n  Allow 127.0.0.1\n</Location>\n\
         <Policy default>\n  <Limit All>\n    Order allow,deny\n    Allow 127.0.0.1\n  </Limit>\n</Policy>\n"
    );
    let d = dir.display();
    let files_conf = format!(
        "ServerRoot {d}/root\n\
         StateDir {d}/state\n\
         CacheDir {d}/cache\n\
         RequestRoot {d}/spool\n\
         TempDir {d}/spool/tmp\n\
         AccessLog {d}/log/access_log\n\
         ErrorLog {d}/log/error_log\n\
         PageLog {d}/log/page_log\n\
         ServerBin /usr/lib/cups\n\
         DataDir /usr/share/cups\n\
         User {user}\n\
         Group {group}\n\
         SystemGroup {group}\n\
         FileDevice No\n\
         Sandboxing relaxed\n"
    );
    let mut f = std::fs::File::create(dir.join("cupsd.conf")).unwrap();
    f.write_all(cupsd_conf.as_bytes()).unwrap();
    std::fs::write(dir.join("root/cupsd.conf"), &cupsd_conf).unwrap();
    std::fs::write(dir.join("cups-files.conf"), files_conf).unwrap();
}
