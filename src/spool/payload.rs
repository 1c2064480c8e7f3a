//! Payload files: the films of a job, and the documents composed from them.
//!
//! Layout under `DATA/spool/`:
//!
//! ```text
//! jobs.sqlite         job state (store/)
//! jobs/<id>.job       the job's films: magic + postcard-encoded PrintJob
//! out/<id>/           what composition wrote for the printer
//! ```
//!
//! A payload is made durable before its row is committed (temp file, fsync, rename, fsync of
//! the directory: the rename is atomic and the directory fsync makes it survive power loss,
//! POSIX rename(2) and fsync(2)). So a payload without a row is a job whose N-ACTION was
//! never answered with success, and is removed at start. The directory fsync is shared:
//! payloads committed in one group (engine/intake.rs) share one, and files written by
//! [`write_durably`] while another's directory fsync is in flight share the next one
//! (group.rs). Removals are not fsynced: a file whose unlink a crash undid is removed
//! again at the next start or by the retention sweep.

use super::PrintJob;
use super::group::GroupCommit;
use crate::data_dir::DataDir;
use std::cell::RefCell;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// File magic and format version of a job file. The encoding has no field names, so any
/// change to [`PrintJob`] takes a new version: 05 dropped the archive and preview
/// directories (the archive output knows its own).
const JOB_MAGIC: &[u8; 8] = b"FILMDJ05";
/// The prefix every version shares, to tell an older filmd's job file from garbage.
const JOB_MAGIC_FAMILY: &[u8; 6] = b"FILMDJ";

/// Writes `bytes` to `path` atomically and durably: temp file, fsync, rename, fsync dir.
/// Writers whose renames come while a directory fsync is in flight share the next one
/// (each returns once its own rename is durable).
///
/// On a compose thread inside [`deferring_dir_syncs`], the directory fsync is left to
/// the thread's caller, which does it before anything depends on the file (before the
/// job that wrote it is recorded done, engine/compose.rs): jobs done together share it.
pub fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_synced(path, bytes)?;
    let dir = directory_of(path)?;
    let deferred = DEFERRED_DIRS.with(|d| match d.borrow_mut().as_mut() {
        Some(dirs) => {
            if !dirs.iter().any(|d| d == dir) {
                dirs.push(dir.to_path_buf());
            }
            true
        }
        None => false,
    });
    if deferred {
        return Ok(());
    }
    DIR_SYNCS.commit(dir.to_path_buf(), sync_dirs, || {
        Err(std::io::Error::other(
            "the directory fsync holding this file failed (its leader panicked)",
        ))
    })
}

thread_local! {
    /// Directories whose fsync [`write_durably`] left to [`deferring_dir_syncs`]'s caller.
    static DEFERRED_DIRS: RefCell<Option<Vec<PathBuf>>> = const { RefCell::new(None) };
}

/// Runs `f`; when `defer`, the directory fsyncs of the [`write_durably`] calls it makes on
/// this thread are not done but returned, for the caller to do with [`sync_dirs_now`]
/// before anything depends on those files.
pub(crate) fn deferring_dir_syncs<T>(defer: bool, f: impl FnOnce() -> T) -> (T, Vec<PathBuf>) {
    struct Scope;
    impl Drop for Scope {
        fn drop(&mut self) {
            DEFERRED_DIRS.with(|d| d.borrow_mut().take());
        }
    }
    if !defer {
        return (f(), Vec::new());
    }
    DEFERRED_DIRS.with(|d| *d.borrow_mut() = Some(Vec::new()));
    let scope = Scope;
    let out = f();
    let dirs = DEFERRED_DIRS
        .with(|d| d.borrow_mut().take())
        .unwrap_or_default();
    drop(scope);
    (out, dirs)
}

/// fsyncs each distinct directory of `dirs` (what [`deferring_dir_syncs`] returned).
pub(crate) fn sync_dirs_now(dirs: &[PathBuf]) -> std::io::Result<()> {
    let mut done: Vec<&PathBuf> = Vec::new();
    for dir in dirs {
        if !done.contains(&dir) {
            sync_dir(dir)?;
            done.push(dir);
        }
    }
    Ok(())
}

/// [`write_durably`] but for the directory fsync: the file's data is durable under its
/// name once its directory is fsynced. For a caller that fsyncs the directory once for
/// many files (engine/intake.rs).
pub fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = directory_of(path)?;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("path without a file name"))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        // The data before the name: a rename that reaches the disk before the data
        // would leave an empty or partial file under the final name after a crash.
        f.sync_all()
    })();
    if let Err(e) = written {
        // Nothing half-written stays behind (a full disk must not leave a partial file).
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path)
}

/// The directory `path` is in: "." for a bare file name (`filmd render -o film.png`),
/// whose parent is the empty path, which cannot be opened to be fsynced.
fn directory_of(path: &Path) -> std::io::Result<&Path> {
    match path.parent() {
        Some(dir) if dir.as_os_str().is_empty() => Ok(Path::new(".")),
        Some(dir) => Ok(dir),
        None => Err(std::io::Error::other("path without a directory")),
    }
}

/// fsyncs a directory so that a rename or unlink in it survives a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The directory fsyncs of [`write_durably`], shared by the writers of one group.
static DIR_SYNCS: LazyLock<GroupCommit<PathBuf, std::io::Result<()>>> =
    LazyLock::new(GroupCommit::default);

/// One fsync per distinct directory of a group; each writer gets its directory's outcome.
fn sync_dirs(dirs: Vec<PathBuf>) -> Vec<std::io::Result<()>> {
    /// An fsync's outcome, to hand to every writer of the directory.
    type Outcome = Result<(), (std::io::ErrorKind, String)>;
    let mut done: Vec<(PathBuf, Outcome)> = Vec::new();
    dirs.into_iter()
        .map(|dir| {
            let outcome = match done.iter().find(|(d, _)| *d == dir) {
                Some((_, outcome)) => outcome.clone(),
                None => {
                    let outcome = sync_dir(&dir).map_err(|e| (e.kind(), e.to_string()));
                    done.push((dir, outcome.clone()));
                    outcome
                }
            };
            outcome.map_err(|(kind, message)| std::io::Error::new(kind, message))
        })
        .collect()
}

/// True for "no space left" and "quota exceeded": the spool is full, not broken.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(code) if code == libc::ENOSPC || code == libc::EDQUOT
    )
}

/// Bytes available to an unprivileged writer on the file system holding `dir` (statvfs(3)).
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("path with a NUL byte"))?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: c_path is a valid NUL-terminated string and st points to writable memory of
    // the right type; statvfs fills it completely when it returns 0.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so the struct is initialised.
    let st = unsafe { st.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

pub fn encode_job(job: &PrintJob) -> Result<Vec<u8>, String> {
    let mut out = JOB_MAGIC.to_vec();
    postcard::to_io(job, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Reads a job file; one written in another format version is refused by name, never
/// misread.
pub fn decode_job(bytes: &[u8]) -> Result<PrintJob, String> {
    let Some(body) = bytes.strip_prefix(JOB_MAGIC) else {
        return Err(match bytes.get(..8) {
            Some(magic) if magic.starts_with(JOB_MAGIC_FAMILY) => format!(
                "job file format {} of another filmd version (this one reads {})",
                String::from_utf8_lossy(magic),
                String::from_utf8_lossy(JOB_MAGIC)
            ),
            _ => "not a filmd job file".into(),
        });
    };
    postcard::from_bytes(body).map_err(|e| e.to_string())
}

/// Paths of the spool directory, inside the data directory.
#[derive(Debug, Clone)]
pub struct Layout {
    data: DataDir,
    pub root: PathBuf,
}

impl Layout {
    pub fn new(data: &DataDir) -> Layout {
        Layout {
            root: data.spool(),
            data: data.clone(),
        }
    }

    /// The data directory the spool lives in.
    pub fn data(&self) -> &DataDir {
        &self.data
    }

    pub fn database(&self) -> PathBuf {
        self.data.database()
    }

    pub fn jobs_dir(&self) -> PathBuf {
        self.root.join("jobs")
    }

    pub fn out_root(&self) -> PathBuf {
        self.root.join("out")
    }

    pub fn payload(&self, id: &str) -> PathBuf {
        self.jobs_dir().join(format!("{id}.job"))
    }

    pub fn out_dir(&self, id: &str) -> PathBuf {
        self.out_root().join(id)
    }

    pub fn create(&self) -> std::io::Result<()> {
        fs::create_dir_all(self.jobs_dir())?;
        fs::create_dir_all(self.out_root())
    }

    /// Reads and decodes a job's payload.
    pub fn read(&self, id: &str) -> Result<PrintJob, String> {
        let path = self.payload(id);
        fs::read(&path)
            .map_err(|e| format!("payload {}: {e}", path.display()))
            .and_then(|b| decode_job(&b).map_err(|e| format!("payload {}: {e}", path.display())))
    }

    /// Removes a job's payload and composed documents; absent files are fine. Not
    /// fsynced: a payload whose removal a crash undid is removed again at the next start
    /// (no row: never acknowledged; a `done` row: its retirement was cut short,
    /// engine/recover.rs) or with its row at the end of the retention.
    pub fn remove(&self, id: &str) -> std::io::Result<()> {
        match fs::remove_file(self.payload(id)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        match fs::remove_dir_all(self.out_dir(id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Removes every file a job of `films` films ever made: payload, documents and its
    /// films' previews (at the end of its retention).
    pub fn remove_all(&self, id: &str, films: u32) -> std::io::Result<()> {
        self.remove(id)?;
        self.data.remove_previews(id, films)
    }

    /// IDs of the payload files present, and removes leftover temp files (writes that were
    /// never acknowledged).
    pub fn scan_payloads(&self) -> std::io::Result<Vec<String>> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(self.jobs_dir())? {
            let path = entry?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = fs::remove_file(&path);
            } else if let Some(id) = name.strip_suffix(".job") {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::film::Device;

    #[test]
    fn durable_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        write_durably(&p, b"hello").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"hello");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_bare_file_name_is_in_the_current_directory() {
        assert_eq!(directory_of(Path::new("film.png")).unwrap(), Path::new("."));
        assert_eq!(
            directory_of(Path::new("a/film.png")).unwrap(),
            Path::new("a")
        );
        assert!(directory_of(Path::new("/")).is_err());
    }

    #[test]
    fn job_files_round_trip_and_reject_garbage() {
        let job = PrintJob {
            id: "1".into(),
            uid: "2.25.1".into(),
            queue: "default".into(),
            calling_ae_title: "SCU".into(),
            film_session_label: "label".into(),
            owner_id: String::new(),
            priority: "MED".into(),
            copies: 2,
            created_unix: 5,
            device: Device {
                dpi: 300,
                min_density: 0,
                max_density: 300,
                margin_mm: 0.0,
                gap_mm: 0.0,
                ..Device::default()
            },
            films: vec![],
        };
        let bytes = encode_job(&job).unwrap();
        assert_eq!(decode_job(&bytes).unwrap().copies, 2);
        assert!(decode_job(b"garbage").is_err());
        let mut older = encode_job(&job).unwrap();
        older[..8].copy_from_slice(b"FILMDJ04");
        let e = decode_job(&older).unwrap_err();
        assert!(e.contains("FILMDJ04") && e.contains("FILMDJ05"), "{e}");
        assert!(decode_job(&bytes[..bytes.len() - 3]).is_err());
    }

    #[test]
    fn free_bytes_reports_a_plausible_figure_and_errors_on_a_missing_dir() {
        let dir = tempfile::tempdir().unwrap();
        let free = free_bytes(dir.path()).unwrap();
        assert!(free > 0);
        assert!(free_bytes(&dir.path().join("missing")).is_err());
        assert!(is_disk_full(&std::io::Error::from_raw_os_error(
            libc::ENOSPC
        )));
        assert!(!is_disk_full(&std::io::Error::from_raw_os_error(
            libc::EACCES
        )));
    }
}
