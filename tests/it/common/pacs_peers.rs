//! Real PACS peers on loopback for the films-to-PACS tests: Orthanc 1.10 (Storage SCP,
//! Storage Commitment Push Model SCP, PS3.4 J, and Modality Worklist SCP, PS3.4 K, with a
//! REST API to read back what it stored), plus DCMTK's storescp and wlmscpfs
//! ([`super::dcmtk_peers`]). These programs bind the wildcard address; an LD_PRELOAD shim
//! (tests/peers/bind_loopback.c) keeps them on 127.0.0.1. Each runs in a temporary
//! directory on free ports and is stopped by PID when dropped.

pub use super::dcmtk_peers::{
    StoreScp, Wlmscpfs, WorklistItem, dcmtk, dcmtk_command, write_test_image, write_worklist_item,
};
use super::ipp_peers::{find_command, free_port, log_file, stop_child};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Longest wait for a peer to listen (Orthanc opens its database and loads its plugins
/// first: about a second here).
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Orthanc's binary in Debian's `orthanc` package.
pub const ORTHANC: &str = "/usr/sbin/Orthanc";
/// The Modality Worklists sample plugin shipped with Debian's `orthanc`.
pub const WORKLIST_PLUGIN: &str = "/usr/share/orthanc/plugins/libModalityWorklists.so";

const SHIM_SOURCE: &str = include_str!("../../peers/bind_loopback.c");

/// The bind-to-loopback shim, built with `cc` once per source version into cargo's
/// target tmp dir (`libbind_loopback-<hash>.so`, written to a temporary name then
/// renamed, so that concurrent test processes never load a half-written file).
pub fn bind_loopback_shim() -> Result<PathBuf, String> {
    static SHIM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    SHIM.get_or_init(build_shim).clone()
}

fn build_shim() -> Result<PathBuf, String> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    SHIM_SOURCE.hash(&mut h);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let lib = dir.join(format!("libbind_loopback-{:016x}.so", h.finish()));
    if lib.is_file() {
        return Ok(lib);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let src = dir.join(format!("bind_loopback-{}.c", std::process::id()));
    let tmp = dir.join(format!("libbind_loopback-{}.so.tmp", std::process::id()));
    std::fs::write(&src, SHIM_SOURCE).map_err(|e| format!("{}: {e}", src.display()))?;
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-o"])
        .arg(&tmp)
        .arg(&src)
        .arg("-ldl")
        .output()
        .map_err(|e| format!("cannot run cc: {e}"))?;
    let _ = std::fs::remove_file(&src);
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "cc bind_loopback.c failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::rename(&tmp, &lib).map_err(|e| format!("{}: {e}", lib.display()))?;
    Ok(lib)
}

/// `program` with the shim preloaded: its wildcard `bind()`s land on loopback.
pub fn on_loopback(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let shim = bind_loopback_shim().unwrap_or_else(|e| panic!("bind_loopback shim: {e}"));
    let preload = match std::env::var_os("LD_PRELOAD") {
        Some(old) if !old.is_empty() => {
            let mut v = shim.into_os_string();
            v.push(":");
            v.push(old);
            v
        }
        _ => shim.into_os_string(),
    };
    let mut cmd = Command::new(program);
    cmd.env("LD_PRELOAD", preload);
    cmd
}

/// The TCP addresses process `pid` listens on, from /proc/PID/net/tcp{,6} restricted to
/// the socket inodes among /proc/PID/fd (the process's own sockets, not its namespace's).
pub fn listening_sockets(pid: u32) -> Vec<SocketAddr> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    l.strip_prefix("socket:[")
                        .and_then(|r| r.strip_suffix(']'))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if f.len() < 10 || f[3] != "0A" || !inodes.iter().any(|i| i == f[9]) {
                continue;
            }
            if let Some(addr) = parse_proc_addr(f[1]) {
                found.push(addr);
            }
        }
    }
    found
}

/// `0100007F:2B67` (IPv4) or 32 hex digits `:PORT` (IPv6): the address as the kernel
/// prints it, in 32-bit words of host (little-endian) order.
pub fn parse_proc_addr(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| {
        addr.get(i * 8..i * 8 + 8)
            .and_then(|w| u32::from_str_radix(w, 16).ok())
            .map(u32::to_le_bytes)
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Waits until `child` listens on every one of `ports` (seen in /proc, so no probe
/// connection disturbs a single-association peer), or fails with its log.
pub fn wait_ports(child: &mut Child, ports: &[u16], log: &Path) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let listening = listening_sockets(child.id());
        if ports
            .iter()
            .all(|p| listening.iter().any(|a| a.port() == *p))
        {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "exited ({status}) before listening on {ports:?}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            ));
        }
        if start.elapsed() > START_TIMEOUT {
            return Err(format!(
                "not listening on {ports:?} after {START_TIMEOUT:?} (listening: {listening:?}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An HTTP response: status code and body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A minimal HTTP/1.1 client for Orthanc's REST API on 127.0.0.1:`port`: one request
/// per connection (`Connection: close`), Content-Length or chunked bodies.
pub fn http(port: u16, method: &str, path: &str, body: &[u8]) -> Result<HttpResponse, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body))
        .map_err(|e| format!("send {method} {path}: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .map_err(|e| format!("read {method} {path}: {e}"))?;
    parse_response(&raw).map_err(|e| format!("{method} {path}: {e}"))
}

pub fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else {
        match length {
            Some(n) if n <= rest.len() => rest[..n].to_vec(),
            Some(n) => return Err(format!("body of {} bytes, {n} announced", rest.len())),
            None => rest.to_vec(),
        }
    };
    Ok(HttpResponse { status, body })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunk size line")?;
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("chunk size {size_text:?}: {e}"))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest.get(..size).ok_or("short chunk")?;
        body.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("chunk without CRLF")?;
    }
}

/// A remote modality Orthanc knows (`DicomModalities`): who may ask it for Storage
/// Commitment, and where it opens the association that carries the report.
#[derive(Debug, Clone)]
pub struct RemoteModality {
    /// The key in `DicomModalities` (a symbolic name).
    pub name: String,
    /// Its AE title: Orthanc finds the modality by the Calling AE Title of the N-ACTION's
    /// association (an N-ACTION from an AE not listed is refused), and calls this title
    /// when it reports.
    pub aet: String,
    pub host: String,
    pub port: u16,
    /// `LocalAet`: the Calling AE Title of Orthanc's associations to this modality.
    /// Without it Orthanc's report calls from the AE title the N-ACTION had called.
    pub local_aet: Option<String>,
}

impl RemoteModality {
    pub fn new(name: &str, aet: &str, host: &str, port: u16) -> RemoteModality {
        RemoteModality {
            name: name.into(),
            aet: aet.into(),
            host: host.into(),
            port,
            local_aet: None,
        }
    }
}

/// How to start an [`Orthanc`].
#[derive(Debug, Clone, Default)]
pub struct OrthancConfig {
    /// `DicomAet`; empty means `ORTHANC`.
    pub aet: String,
    /// A directory of `.wl` files (one worklist item each) served by the Modality
    /// Worklists plugin; `None` loads no plugin (C-FIND of the MWL model is then refused).
    pub worklists: Option<PathBuf>,
    /// `DicomModalities`, each allowed Storage Commitment.
    pub modalities: Vec<RemoteModality>,
    /// More configuration options, merged last (e.g. `{"DicomScuTimeout": 2}`).
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// `--trace-dicom` instead of `--verbose`: every DIMSE message in the log.
    pub trace_dicom: bool,
}

/// An Orthanc on 127.0.0.1 (DICOM and HTTP ports), its storage and index in a
/// temporary directory, no authentication, storing from any AE.
pub struct Orthanc {
    dir: tempfile::TempDir,
    pub aet: String,
    pub dicom_port: u16,
    pub http_port: u16,
    child: Child,
}

impl Orthanc {
    /// Starts Orthanc (a test that does needs [`super::harness::Peer::Orthanc`]); ready
    /// once both ports listen and `GET /system` answers.
    pub fn start(config: OrthancConfig) -> Orthanc {
        let dir = tempfile::tempdir().expect("tempdir");
        let aet = if config.aet.is_empty() {
            "ORTHANC".to_string()
        } else {
            config.aet.clone()
        };
        let log = dir.path().join("orthanc.log");
        let mut last = String::new();
        for _ in 0..5 {
            let (dicom_port, http_port) = (free_port(), free_port());
            if dicom_port == http_port {
                continue;
            }
            let json = orthanc_json(dir.path(), &aet, dicom_port, http_port, &config);
            let cfg = dir.path().join("orthanc.json");
            std::fs::write(&cfg, serde_json::to_vec_pretty(&json).expect("json")).unwrap();
            let program = find_command("Orthanc").unwrap_or_else(|| ORTHANC.into());
            let mut child = on_loopback(program)
                .arg(if config.trace_dicom {
                    "--trace-dicom"
                } else {
                    "--verbose"
                })
                .arg(&cfg)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log_file(&log))
                .stderr(log_file(&log))
                .spawn()
                .expect("spawn Orthanc");
            let ready = wait_ports(&mut child, &[dicom_port, http_port], &log)
                .and_then(|()| wait_rest(http_port, &mut child));
            match ready {
                Ok(()) => {
                    return Orthanc {
                        dir,
                        aet,
                        dicom_port,
                        http_port,
                        child,
                    };
                }
                Err(e) => {
                    stop_child(&mut child);
                    last = e;
                }
            }
        }
        panic!("Orthanc did not start: {last}");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `AET@127.0.0.1:PORT`, as filmd's configuration names a destination.
    pub fn destination(&self) -> String {
        format!("{}@127.0.0.1:{}", self.aet, self.dicom_port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("orthanc.log")).unwrap_or_default()
    }

    /// A REST request; panics (with the log) when Orthanc cannot be reached.
    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> HttpResponse {
        http(self.http_port, method, path, body)
            .unwrap_or_else(|e| panic!("Orthanc REST: {e}; log:\n{}", self.log()))
    }

    /// `GET path` as JSON; panics unless 200 with a JSON body.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let r = self.request("GET", path, b"");
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {}", r.text()))
    }

    /// Orthanc's identifiers of the stored instances.
    pub fn instances(&self) -> Vec<String> {
        let v = self.get_json("/instances");
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until at least `n` instances are stored.
    pub fn wait_instances(&self, n: usize, timeout: Duration) -> Vec<String> {
        let start = Instant::now();
        loop {
            let v = self.instances();
            if v.len() >= n {
                return v;
            }
            if start.elapsed() > timeout {
                panic!(
                    "Orthanc holds {} instance(s), expected {n}; log:\n{}",
                    v.len(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `{"PatientName": "Doe^Jane", ...}` of instance `id`.
    pub fn simplified_tags(&self, id: &str) -> serde_json::Value {
        self.get_json(&format!("/instances/{id}/simplified-tags"))
    }

    /// `{"0010,0010": {"Name": "PatientName", "Type": "String", "Value": ...}, ...}`.
    pub fn tags(&self, id: &str) -> serde_json::Value {
        self.get_json(&format!("/instances/{id}/tags"))
    }

    /// The stored Part-10 file of instance `id`.
    pub fn file(&self, id: &str) -> Vec<u8> {
        let r = self.request("GET", &format!("/instances/{id}/file"), b"");
        assert_eq!(r.status, 200, "GET file of {id}: {}", r.text());
        r.body
    }

    /// Adds (or replaces) a modality while Orthanc runs (`PUT /modalities/{name}`): for a
    /// modality whose port is known only after Orthanc started, e.g. filmd configured
    /// with Orthanc's destination.
    pub fn add_modality(&self, m: &RemoteModality) {
        let body = serde_json::to_vec(&modality_json(m)).expect("json");
        let r = self.request("PUT", &format!("/modalities/{}", m.name), &body);
        assert_eq!(r.status, 200, "PUT /modalities/{}: {}", m.name, r.text());
    }

    /// `GET /statistics` (CountInstances, CountStudies, ...).
    pub fn statistics(&self) -> serde_json::Value {
        self.get_json("/statistics")
    }

    /// `GET /jobs?expand`: among them the `StorageCommitmentScp` jobs, whose `State` is
    /// `Success` once the report was answered with status 0000 (`Failure` otherwise; a
    /// failed report is not retried).
    pub fn jobs(&self) -> serde_json::Value {
        self.get_json("/jobs?expand")
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// Waits until `GET /system` answers 200.
fn wait_rest(port: u16, child: &mut Child) -> Result<(), String> {
    let start = Instant::now();
    loop {
        match http(port, "GET", "/system", b"") {
            Ok(r) if r.status == 200 => return Ok(()),
            Ok(r) if start.elapsed() > START_TIMEOUT => {
                return Err(format!("GET /system: {} {}", r.status, r.text()));
            }
            Err(e) if start.elapsed() > START_TIMEOUT => return Err(e),
            _ => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited ({status})"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `DicomModalities` entry (Orthanc's advanced form), allowed Storage Commitment.
fn modality_json(m: &RemoteModality) -> serde_json::Value {
    let mut entry = serde_json::json!({
        "AET": m.aet,
        "Host": m.host,
        "Port": m.port,
        "AllowStorageCommitment": true,
    });
    if let Some(local) = &m.local_aet {
        entry["LocalAet"] = serde_json::json!(local);
    }
    entry
}

/// Orthanc's JSON configuration (see ../shared/docs/peers.md).
fn orthanc_json(
    dir: &Path,
    aet: &str,
    dicom_port: u16,
    http_port: u16,
    config: &OrthancConfig,
) -> serde_json::Value {
    use serde_json::{Value, json};
    let storage = dir.join("storage");
    let mut modalities = serde_json::Map::new();
    for m in &config.modalities {
        modalities.insert(m.name.clone(), modality_json(m));
    }
    let mut v = json!({
        "Name": "filmd-test",
        "StorageDirectory": storage,
        "IndexDirectory": storage,
        "DicomAet": aet,
        "DicomPort": dicom_port,
        "HttpPort": http_port,
        "RemoteAccessAllowed": false,
        "AuthenticationEnabled": false,
        "DicomAlwaysAllowStore": true,
        "DicomAlwaysAllowEcho": true,
        "DicomAlwaysAllowFind": true,
        "DicomAlwaysAllowFindWorklist": true,
        "DicomModalities": Value::Object(modalities),
        "DicomScuTimeout": 10,
        "SaveJobs": false,
        "Plugins": [],
    });
    if let Some(wl) = &config.worklists {
        v["Plugins"] = json!([WORKLIST_PLUGIN]);
        v["Worklists"] = json!({"Enable": true, "Database": wl});
    }
    if let Value::Object(map) = &mut v {
        for (k, val) in &config.extra {
            map.insert(k.clone(), val.clone());
        }
    }
    v
}
