//! DCMTK's network peers on loopback: `storescp`, a strict Storage SCP (PS3.4 B), and
//! `wlmscpfs`, a Modality Worklist SCP (PS3.4 K) serving `.wl` files written here with
//! `dump2dcm`. Both bind the wildcard address, so they run under the bind-to-loopback
//! shim ([`super::pacs_peers::on_loopback`]); each is stopped by PID when dropped.

use super::ipp_peers::{free_port, log_file, stop_child};
use super::pacs_peers::{on_loopback, wait_ports};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// DCMTK's program `name` (storescp, findscu, echoscu, storescu, ...). The same names on
/// PATH may be pynetdicom's Python scripts (a pyenv shim comes first here), so a
/// candidate counts only when its `--version` says `$dcmtk:`. /usr/bin is tried first.
pub fn dcmtk(name: &str) -> Option<PathBuf> {
    static FOUND: Mutex<Option<HashMap<String, Option<PathBuf>>>> = Mutex::new(None);
    let mut guard = FOUND.lock().unwrap_or_else(|e| e.into_inner());
    let cache = guard.get_or_insert_with(HashMap::new);
    if let Some(found) = cache.get(name) {
        return found.clone();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = ["/usr/bin", "/usr/local/bin"]
        .into_iter()
        .map(PathBuf::from)
        .chain(std::env::split_paths(&path))
        .map(|d| d.join(name))
        .filter(|p| p.is_file())
        .find(|p| is_dcmtk(p));
    cache.insert(name.to_string(), found.clone());
    found
}

fn is_dcmtk(program: &Path) -> bool {
    Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("$dcmtk:"))
}

/// A command running DCMTK's `name`; panics when it is not installed.
pub fn dcmtk_command(name: &str) -> Command {
    Command::new(dcmtk(name).unwrap_or_else(|| panic!("DCMTK's {name} not found")))
}

fn program(name: &str) -> PathBuf {
    dcmtk(name).unwrap_or_else(|| panic!("DCMTK's {name} not found"))
}

/// Starts `make(port)` on `fixed` or else a free port (retrying when the port was taken
/// meanwhile) until it listens; returns the child and its port.
fn spawn_listening(
    what: &str,
    log: &Path,
    fixed: Option<u16>,
    mut make: impl FnMut(u16) -> Command,
) -> (Child, u16) {
    let mut last = String::new();
    for _ in 0..5 {
        let port = fixed.unwrap_or_else(free_port);
        let mut child = make(port)
            .stdin(Stdio::null())
            .stdout(log_file(log))
            .stderr(log_file(log))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        match wait_ports(&mut child, &[port], log) {
            Ok(()) => return (child, port),
            Err(e) => {
                stop_child(&mut child);
                last = e;
            }
        }
    }
    panic!("{what} did not start: {last}");
}

/// The PEM files of a TLS storescp ([`StoreScp::start_tls`]).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Its certificate: clients check it names the host they connect to (127.0.0.1).
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The CA its clients' certificates must be signed by; `None` asks for none.
    pub client_ca: Option<PathBuf>,
}

/// DCMTK `storescp` on 127.0.0.1: accepts the storage SOP classes in uncompressed
/// transfer syntaxes and writes each received object to its output directory.
pub struct StoreScp {
    dir: tempfile::TempDir,
    pub aet: String,
    pub port: u16,
    child: Child,
}

impl StoreScp {
    /// Starts storescp answering to `aet` (a test that does needs
    /// [`super::harness::Peer::DcmtkStore`]).
    pub fn start(aet: &str) -> StoreScp {
        Self::start_at(aet, None)
    }

    /// Starts storescp on a given port: a PACS that comes back where filmd expects it.
    pub fn start_on(aet: &str, port: u16) -> StoreScp {
        Self::start_at(aet, Some(port))
    }

    /// Starts storescp accepting only DICOM TLS (PS3.15 B.9) with `tls`'s key and
    /// certificate; with `tls.client_ca` it requires a client certificate signed by it,
    /// without it it asks for none.
    pub fn start_tls(aet: &str, tls: &TlsFiles) -> StoreScp {
        Self::start_with(aet, None, Some(tls))
    }

    fn start_at(aet: &str, fixed: Option<u16>) -> StoreScp {
        Self::start_with(aet, fixed, None)
    }

    fn start_with(aet: &str, fixed: Option<u16>, tls: Option<&TlsFiles>) -> StoreScp {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("received");
        std::fs::create_dir_all(&out).unwrap();
        let log = dir.path().join("storescp.log");
        let (child, port) = spawn_listening("storescp", &log, fixed, |port| {
            let mut cmd = on_loopback(program("storescp"));
            cmd.args(["--verbose", "--aetitle", aet]);
            if let Some(tls) = tls {
                cmd.arg("+tls").arg(&tls.key).arg(&tls.cert);
                match &tls.client_ca {
                    // --require-peer-cert: no certificate, or one `ca` did not sign, fails.
                    Some(ca) => cmd.arg("+cf").arg(ca).arg("-rc"),
                    // --ignore-peer-cert: no client certificate is asked for.
                    None => cmd.arg("-ic"),
                };
            }
            cmd.arg("--output-directory")
                .arg(&out)
                .arg(port.to_string());
            cmd
        });
        StoreScp {
            dir,
            aet: aet.to_string(),
            port,
            child,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `AET@127.0.0.1:PORT`.
    pub fn destination(&self) -> String {
        format!("{}@127.0.0.1:{}", self.aet, self.port)
    }

    pub fn output_dir(&self) -> PathBuf {
        self.dir.path().join("received")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("storescp.log")).unwrap_or_default()
    }

    /// Files received so far (named `<modality>.<SOP Instance UID>` by storescp), sorted.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.output_dir())
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        v.retain(|p| p.is_file());
        v.sort();
        v
    }

    /// Waits until at least `n` files were received.
    pub fn wait_files(&self, n: usize, timeout: Duration) -> Vec<PathBuf> {
        let start = Instant::now();
        loop {
            let v = self.files();
            if v.len() >= n {
                return v;
            }
            if start.elapsed() > timeout {
                panic!(
                    "storescp received {v:?}, expected {n}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for StoreScp {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// One Modality Worklist item (PS3.4 K.6.1.2: the patient, the requested procedure and
/// one Scheduled Procedure Step), as a RIS would hold it.
#[derive(Debug, Clone)]
pub struct WorklistItem {
    pub patient_name: String,
    pub patient_id: String,
    /// DA, YYYYMMDD.
    pub patient_birth_date: String,
    /// CS: M, F or O.
    pub patient_sex: String,
    pub study_instance_uid: String,
    pub accession_number: String,
    pub referring_physician_name: String,
    pub requested_procedure_description: String,
    pub requested_procedure_id: String,
    /// Scheduled Procedure Step: Modality.
    pub modality: String,
    /// Scheduled Procedure Step: Scheduled Station AE Title.
    pub scheduled_station_aet: String,
    /// Scheduled Procedure Step Start Date (DA) and Time (TM).
    pub start_date: String,
    pub start_time: String,
}

impl WorklistItem {
    /// A complete item with plausible values (ASCII).
    pub fn sample() -> WorklistItem {
        WorklistItem {
            patient_name: "Doe^Jane".into(),
            patient_id: "PID-0001".into(),
            patient_birth_date: "19700101".into(),
            patient_sex: "F".into(),
            study_instance_uid: "1.2.826.0.1.3680043.10.1441.1.1".into(),
            accession_number: "ACC-0001".into(),
            referring_physician_name: "House^Gregory".into(),
            requested_procedure_description: "CT Thorax".into(),
            requested_procedure_id: "RP-0001".into(),
            modality: "CT".into(),
            scheduled_station_aet: "CT1".into(),
            start_date: "20240102".into(),
            start_time: "083000".into(),
        }
    }

    /// The item as a `dump2dcm` text dump; ISO_IR 192 when any value is not ASCII.
    pub fn dump(&self) -> Result<String, String> {
        let values = [
            &self.patient_name,
            &self.patient_id,
            &self.patient_birth_date,
            &self.patient_sex,
            &self.study_instance_uid,
            &self.accession_number,
            &self.referring_physician_name,
            &self.requested_procedure_description,
            &self.requested_procedure_id,
            &self.modality,
            &self.scheduled_station_aet,
            &self.start_date,
            &self.start_time,
        ];
        if let Some(bad) = values
            .iter()
            .find(|v| v.contains(['[', ']', '\n', '\r', '\\']))
        {
            return Err(format!("value {bad:?} cannot be written in a dump"));
        }
        let mut d = String::new();
        if values.iter().any(|v| !v.is_ascii()) {
            d.push_str("(0008,0005) CS [ISO_IR 192]\n");
        }
        let e = |d: &mut String, tag: &str, vr: &str, v: &str| {
            d.push_str(&format!("{tag} {vr} [{v}]\n"));
        };
        e(&mut d, "(0008,0050)", "SH", &self.accession_number);
        e(&mut d, "(0008,0090)", "PN", &self.referring_physician_name);
        e(&mut d, "(0010,0010)", "PN", &self.patient_name);
        e(&mut d, "(0010,0020)", "LO", &self.patient_id);
        e(&mut d, "(0010,0030)", "DA", &self.patient_birth_date);
        e(&mut d, "(0010,0040)", "CS", &self.patient_sex);
        e(&mut d, "(0020,000d)", "UI", &self.study_instance_uid);
        d.push_str("(0040,0100) SQ (Sequence with undefined length)\n");
        d.push_str("  (fffe,e000) na (Item with undefined length)\n");
        e(&mut d, "    (0008,0060)", "CS", &self.modality);
        e(&mut d, "    (0040,0001)", "AE", &self.scheduled_station_aet);
        e(&mut d, "    (0040,0002)", "DA", &self.start_date);
        e(&mut d, "    (0040,0003)", "TM", &self.start_time);
        e(&mut d, "    (0040,0006)", "PN", "");
        e(
            &mut d,
            "    (0040,0007)",
            "LO",
            &self.requested_procedure_description,
        );
        e(&mut d, "    (0040,0009)", "SH", "SPS-0001");
        e(&mut d, "    (0040,0010)", "SH", &self.scheduled_station_aet);
        d.push_str("  (fffe,e00d) na (ItemDelimitationItem)\n");
        d.push_str("(fffe,e0dd) na (SequenceDelimitationItem)\n");
        e(
            &mut d,
            "(0032,1060)",
            "LO",
            &self.requested_procedure_description,
        );
        e(&mut d, "(0040,1001)", "SH", &self.requested_procedure_id);
        Ok(d)
    }
}

/// Writes `item` as a worklist file (`.wl`, Part 10, Explicit VR Little Endian) with
/// DCMTK's `dump2dcm`, for wlmscpfs and Orthanc's worklist plugin alike.
pub fn write_worklist_item(item: &WorklistItem, path: &Path) -> Result<(), String> {
    dump2dcm(&item.dump()?, path)
}

/// Runs `dump2dcm +te` on `dump`, writing the Part-10 file `path`.
pub fn dump2dcm(dump: &str, path: &Path) -> Result<(), String> {
    let txt = path.with_extension("dump");
    std::fs::write(&txt, dump).map_err(|e| format!("{}: {e}", txt.display()))?;
    let program = dcmtk("dump2dcm").ok_or("DCMTK's dump2dcm not found")?;
    let out = Command::new(program)
        .arg("+te")
        .arg(&txt)
        .arg(path)
        .output()
        .map_err(|e| format!("dump2dcm: {e}"))?;
    let _ = std::fs::remove_file(&txt);
    if out.status.success() && path.is_file() {
        Ok(())
    } else {
        Err(format!(
            "dump2dcm failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// DCMTK `wlmscpfs` on 127.0.0.1, one association at a time (`--single-process`: no
/// forked children outlive it), serving the items in DIR/AET/*.wl (the Called AE Title
/// picks the directory; another title is rejected).
pub struct Wlmscpfs {
    dir: tempfile::TempDir,
    pub aet: String,
    pub port: u16,
    child: Child,
    written: usize,
}

impl Wlmscpfs {
    /// Writes `items` and starts wlmscpfs (a test that does needs
    /// [`super::harness::Peer::DcmtkStore`]).
    pub fn start(aet: &str, items: &[WorklistItem]) -> Wlmscpfs {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("worklists");
        std::fs::create_dir_all(db.join(aet)).unwrap();
        // wlmscpfs locks this file in the AE's directory while it reads the items.
        std::fs::write(db.join(aet).join("lockfile"), b"").unwrap();
        let log = dir.path().join("wlmscpfs.log");
        let (child, port) = spawn_listening("wlmscpfs", &log, None, |port| {
            let mut cmd = on_loopback(program("wlmscpfs"));
            cmd.args(["--verbose", "--single-process", "--keep-char-set"])
                .arg("--data-files-path")
                .arg(&db)
                .arg(port.to_string());
            cmd
        });
        let mut wl = Wlmscpfs {
            dir,
            aet: aet.to_string(),
            port,
            child,
            written: 0,
        };
        for item in items {
            wl.add_item(item);
        }
        wl
    }

    /// Adds one more item (read at the next query); returns its file.
    pub fn add_item(&mut self, item: &WorklistItem) -> PathBuf {
        self.written += 1;
        let path = self.item_dir().join(format!("item{:04}.wl", self.written));
        write_worklist_item(item, &path).unwrap_or_else(|e| panic!("worklist item: {e}"));
        path
    }

    /// DIR/AET, where the `.wl` files are.
    pub fn item_dir(&self) -> PathBuf {
        self.dir.path().join("worklists").join(&self.aet)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `AET@127.0.0.1:PORT`.
    pub fn destination(&self) -> String {
        format!("{}@127.0.0.1:{}", self.aet, self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("wlmscpfs.log")).unwrap_or_default()
    }
}

impl Drop for Wlmscpfs {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// Writes a small Secondary Capture image (8×8, MONOCHROME2, a ramp) as a Part-10 file
/// with `dump2dcm`: something any Storage SCP accepts, for tests of the peers alone.
pub fn write_test_image(
    path: &Path,
    sop_instance_uid: &str,
    patient_name: &str,
    patient_id: &str,
) -> Result<(), String> {
    let pixels: Vec<String> = (0..64u8).map(|i| format!("{:02x}", i * 4)).collect();
    let dump = format!(
        "(0008,0016) UI [1.2.840.10008.5.1.4.1.1.7]\n\
         (0008,0018) UI [{sop_instance_uid}]\n\
         (0008,0060) CS [OT]\n\
         (0008,0064) CS [WSD]\n\
         (0010,0010) PN [{patient_name}]\n\
         (0010,0020) LO [{patient_id}]\n\
         (0020,000d) UI [1.2.826.0.1.3680043.10.1441.2.1]\n\
         (0020,000e) UI [1.2.826.0.1.3680043.10.1441.2.2]\n\
         (0020,0013) IS [1]\n\
         (0028,0002) US 1\n\
         (0028,0004) CS [MONOCHROME2]\n\
         (0028,0010) US 8\n\
         (0028,0011) US 8\n\
         (0028,0100) US 8\n\
         (0028,0101) US 8\n\
         (0028,0102) US 7\n\
         (0028,0103) US 0\n\
         (7fe0,0010) OB {}\n",
        pixels.join("\\")
    );
    dump2dcm(&dump, path)
}
