//! The data directory: every file a running server keeps lives under one root, and this is
//! the one place that knows where. A server takes the directory for itself
//! ([`DataDir::lock`]): two servers on one spool would each recover and deliver its jobs.
//!
//! | path | what |
//! |---|---|
//! | `spool/` | the durable job queue: `jobs.sqlite`, `jobs/<id>.job` payloads, `out/<id>/` documents |
//! | `pdf/` | the default PDF archive of a queue (`pdf_dir` relative paths resolve here) |
//! | `previews/<id>-<n>.png` | small PNG previews of film n of job id, kept as long as the job's row |
//! | `admin.sock` | the operator's Unix socket, mode 0600 |
//! | `filmd.lock` | held (flock) by the server using the directory |

use std::fs::File;
use std::path::{Path, PathBuf};

/// The operator's socket's file name.
pub const SOCKET_NAME: &str = "admin.sock";
/// The lock file's name.
pub const LOCK_NAME: &str = "filmd.lock";

/// Where a server's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The spool's own directory.
    pub fn spool(&self) -> PathBuf {
        self.root.join("spool")
    }

    /// The spool's job database.
    pub fn database(&self) -> PathBuf {
        self.spool().join("jobs.sqlite")
    }

    /// A path from the configuration: relative paths are under the data directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.root.join(path)
        }
    }

    /// Where film previews go.
    pub fn previews(&self) -> PathBuf {
        self.root.join("previews")
    }

    /// The preview of film `film` (1-based) of job `job_id`.
    pub fn preview(&self, job_id: &str, film: usize) -> PathBuf {
        self.previews().join(format!("{job_id}-{film}.png"))
    }

    /// Removes the previews of films 1 to `films` of `job_id` (absent ones are fine):
    /// they go with the job's row, at the end of its retention.
    pub fn remove_previews(&self, job_id: &str, films: u32) -> std::io::Result<()> {
        for film in 1..=films as usize {
            match std::fs::remove_file(self.preview(job_id, film)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// The operator's socket.
    pub fn admin_socket(&self) -> PathBuf {
        self.root.join(SOCKET_NAME)
    }

    /// The lock file.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join(LOCK_NAME)
    }

    /// Creates the directory if needed.
    pub fn create(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.root)
    }

    /// Takes the data directory for this process, for as long as the returned file is
    /// open (the kernel lets go when the process ends, however it ends). A second server
    /// on the same directory is refused with `AddrInUse`.
    pub fn lock(&self) -> std::io::Result<File> {
        let path = self.lock_file();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!(
                    "another filmd is using {} (it holds {})",
                    self.root.display(),
                    path.display()
                ),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_of_the_directory() {
        let d = DataDir::new("/var/lib/filmd");
        assert_eq!(d.database(), Path::new("/var/lib/filmd/spool/jobs.sqlite"));
        assert_eq!(
            d.preview("J7", 2),
            Path::new("/var/lib/filmd/previews/J7-2.png")
        );
        assert_eq!(d.admin_socket(), Path::new("/var/lib/filmd/admin.sock"));
        assert_eq!(d.lock_file(), Path::new("/var/lib/filmd/filmd.lock"));
        assert_eq!(d.resolve(Path::new("pdf")), Path::new("/var/lib/filmd/pdf"));
        assert_eq!(d.resolve(Path::new("/srv/films")), Path::new("/srv/films"));
    }

    #[test]
    fn previews_go_with_their_job_only() {
        let tmp = tempfile::tempdir().unwrap();
        let d = DataDir::new(tmp.path());
        d.remove_previews("J1", 2)
            .expect("no previews directory yet");
        std::fs::create_dir_all(d.previews()).unwrap();
        for name in ["J1-1.png", "J1-2.png", "J10-1.png", "J2-1.png"] {
            std::fs::write(d.previews().join(name), b"png").unwrap();
        }
        d.remove_previews("J1", 3).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(d.previews())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["J10-1.png", "J2-1.png"]);
    }

    #[test]
    fn a_second_lock_on_one_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let d = DataDir::new(tmp.path());
        let held = d.lock().unwrap();
        let err = d.lock().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
        drop(held);
        d.lock().expect("free again");
    }
}
