//! The spool: a print job is written to disk and fsynced before its N-ACTION is answered,
//! then composed and delivered by worker threads; jobs left unfinished by a crash are
//! resumed when the server starts.
//!
//! Layout under the data directory: `spool/<id>.job` for queued jobs (postcard-encoded
//! [`PrintJob`], written to a temp file, fsynced, renamed, directory fsynced), and
//! `spool/failed/` for jobs that could not be delivered. A job file is removed only after
//! its PDF has been renamed into place and fsynced, so a crash in between delivers the same
//! PDF again under the same name: the archive holds it once.

pub mod printers;

use crate::backend::pdf::{DocumentInfo, FilmMetadata, PdfBuilder};
use crate::film::{Device, Film, compose::compose};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use tracing::{error, info, warn};

/// File magic and format version of a job file.
const JOB_MAGIC: &[u8; 8] = b"FILMDJ04";

/// A print job: films copied at N-ACTION time with everything needed to deliver them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrintJob {
    /// File-safe job ID, assigned by the spool.
    pub id: String,
    /// Print Job SOP Instance UID.
    pub uid: String,
    pub queue: String,
    pub calling_ae_title: String,
    pub film_session_label: String,
    pub owner_id: String,
    pub priority: String,
    pub copies: u32,
    pub created_unix: u64,
    pub device: Device,
    pub pdf_dir: PathBuf,
    /// Where the small PNG previews of the job's films go.
    pub preview_dir: PathBuf,
    pub films: Vec<Film>,
}

/// A job's progress (PS3.3 C.13.9 Execution Status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Pending,
    Printing,
    Done,
    Failed(String),
}

impl JobState {
    /// DONE or FAILURE.
    pub fn is_final(&self) -> bool {
        matches!(self, JobState::Done | JobState::Failed(_))
    }
}

/// Told of every state change of one job.
pub type Observer = Box<dyn Fn(JobState) + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("print queue full: {0}")]
    Full(String),
    #[error("spool i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("job encoding: {0}")]
    Encode(String),
}

struct Queued {
    job: PrintJob,
    path: PathBuf,
    observer: Option<Observer>,
}

/// The spool and its workers.
pub struct Spool {
    dir: PathBuf,
    sender: Mutex<Option<Sender<Queued>>>,
    seq: AtomicU64,
    queued: Arc<AtomicUsize>,
    max_queued: usize,
    workers: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// Writes `bytes` to `path` atomically and durably: temp file, fsync, rename, fsync dir.
pub fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("path without a directory"))?;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("path without a file name"))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

/// fsyncs a directory so that a rename or unlink in it survives a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

fn encode_job(job: &PrintJob) -> Result<Vec<u8>, SpoolError> {
    let mut out = JOB_MAGIC.to_vec();
    postcard::to_io(job, &mut out).map_err(|e| SpoolError::Encode(e.to_string()))?;
    Ok(out)
}

fn decode_job(bytes: &[u8]) -> Result<PrintJob, String> {
    let body = bytes
        .strip_prefix(JOB_MAGIC)
        .ok_or("not a filmd job file")?;
    postcard::from_bytes(body).map_err(|e| e.to_string())
}

impl Spool {
    /// Opens the spool under `data_dir`, resumes unfinished jobs and starts `workers` threads.
    pub fn open(data_dir: &Path, workers: usize, max_queued: usize) -> std::io::Result<Arc<Spool>> {
        let dir = data_dir.join("spool");
        fs::create_dir_all(dir.join("failed"))?;
        let (tx, rx) = channel::<Queued>();
        let rx = Arc::new(Mutex::new(rx));
        let spool = Arc::new(Spool {
            dir: dir.clone(),
            sender: Mutex::new(Some(tx)),
            seq: AtomicU64::new(0),
            queued: Arc::new(AtomicUsize::new(0)),
            max_queued,
            workers: Mutex::new(Vec::new()),
        });
        let mut handles = Vec::new();
        for n in 0..workers.max(1) {
            let rx = rx.clone();
            let failed = dir.join("failed");
            let queued = spool.queued.clone();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("spool-{n}"))
                    .spawn(move || worker(rx, failed, queued))?,
            );
        }
        *spool.workers.lock().unwrap_or_else(|p| p.into_inner()) = handles;
        spool.recover()?;
        Ok(spool)
    }

    fn recover(&self) -> std::io::Result<()> {
        let mut names: Vec<PathBuf> = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') && name.ends_with(".tmp") {
                // A job that was never acknowledged: its N-ACTION got no success.
                let _ = fs::remove_file(&path);
            } else if name.ends_with(".job") {
                names.push(path);
            }
        }
        names.sort();
        for path in names {
            match fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| decode_job(&b))
            {
                Ok(job) => {
                    info!(job = %job.id, "resuming job left unfinished by the previous run");
                    self.enqueue(Queued {
                        job,
                        path,
                        observer: None,
                    });
                }
                Err(e) => {
                    error!(path = %path.display(), "unreadable job file moved to failed/: {e}");
                    if let Some(name) = path.file_name() {
                        let _ = fs::rename(&path, self.dir.join("failed").join(name));
                    }
                }
            }
        }
        Ok(())
    }

    fn enqueue(&self, q: Queued) {
        self.queued.fetch_add(1, Ordering::SeqCst);
        if let Some(tx) = self
            .sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send(q);
        }
    }

    /// Makes a job durable and queues it. Returns its ID once the job file is fsynced.
    pub fn submit(&self, mut job: PrintJob, observer: Observer) -> Result<String, SpoolError> {
        if self.queued.load(Ordering::SeqCst) >= self.max_queued {
            return Err(SpoolError::Full(format!(
                "{} jobs waiting",
                self.max_queued
            )));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        job.id = format!(
            "{now:013}-{:06}-{:04x}",
            self.seq.fetch_add(1, Ordering::SeqCst),
            rand::random::<u16>()
        );
        let path = self.dir.join(format!("{}.job", job.id));
        let bytes = encode_job(&job)?;
        write_durably(&path, &bytes).map_err(|e| {
            let _ = fs::remove_file(&path);
            SpoolError::Io(e)
        })?;
        let id = job.id.clone();
        observer(JobState::Pending);
        self.enqueue(Queued {
            job,
            path,
            observer: Some(observer),
        });
        Ok(id)
    }

    /// Jobs queued or being delivered.
    pub fn backlog(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Stops taking jobs and waits for the workers to finish what is queued.
    pub fn shutdown(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        let handles = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|p| p.into_inner()));
        for h in handles {
            let _ = h.join();
        }
    }
}

fn worker(rx: Arc<Mutex<Receiver<Queued>>>, failed_dir: PathBuf, queued: Arc<AtomicUsize>) {
    loop {
        let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(q) = next else { return };
        let notify = |s: JobState| {
            if let Some(o) = &q.observer {
                o(s);
            }
        };
        notify(JobState::Printing);
        let started = std::time::Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| deliver(&q.job)));
        let result = result.unwrap_or_else(|_| Err("composition panicked".to_string()));
        match result {
            Ok(pdf) => {
                let _ = fs::remove_file(&q.path);
                if let Some(dir) = q.path.parent() {
                    let _ = sync_dir(dir);
                }
                info!(job = %q.job.id, pdf = %pdf.display(), "delivered {} film(s) in {:?}", q.job.films.len(), started.elapsed());
                notify(JobState::Done);
            }
            Err(e) => {
                error!(job = %q.job.id, "delivery failed: {e}");
                if let Some(name) = q.path.file_name() {
                    let _ = fs::rename(&q.path, failed_dir.join(name));
                    let _ = fs::write(failed_dir.join(format!("{}.error", q.job.id)), &e);
                }
                notify(JobState::Failed(e));
            }
        }
        queued.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Largest side of a preview, pixels.
pub const PREVIEW_SIDE: u32 = 512;

/// Writes the preview PNG of film `n` of `job`; a failure is logged, never fatal.
fn write_preview(job: &PrintJob, n: usize, page: &crate::film::Page) {
    let small = crate::film::preview::preview(page, PREVIEW_SIDE);
    let result = crate::backend::png::encode_png(&small)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            fs::create_dir_all(&job.preview_dir).map_err(|e| e.to_string())?;
            fs::write(
                job.preview_dir.join(format!("{}-{}.png", job.id, n + 1)),
                bytes,
            )
            .map_err(|e| e.to_string())
        });
    if let Err(e) = result {
        warn!(job = %job.id, "preview of film {} not written: {e}", n + 1);
    }
}

/// Composes every film of a job and writes the job's PDF.
fn deliver(job: &PrintJob) -> Result<PathBuf, String> {
    // One raw page at a time: each is compressed into the PDF as soon as it is composed.
    let mut pdf = PdfBuilder::new().map_err(|e| format!("PDF encoding: {e}"))?;
    for (n, film) in job.films.iter().enumerate() {
        let page = compose(film, &job.device);
        pdf.add_page(&page)
            .map_err(|e| format!("PDF encoding: {e}"))?;
        write_preview(job, n, &page);
    }
    let bytes = pdf
        .finish(&document_info(job))
        .map_err(|e| format!("PDF encoding: {e}"))?;
    fs::create_dir_all(&job.pdf_dir)
        .map_err(|e| format!("creating {}: {e}", job.pdf_dir.display()))?;
    let path = job.pdf_dir.join(format!("{}.pdf", job.id));
    write_durably(&path, &bytes).map_err(|e| format!("writing {}: {e}", path.display()))?;
    if job.copies > 1 {
        warn!(job = %job.id, "{} copies requested: the PDF archive keeps one; copies go to printers", job.copies);
    }
    Ok(path)
}

/// The PDF/A metadata of a job's archive PDF: who sent it, from where, and each film's
/// parameters.
pub fn document_info(job: &PrintJob) -> DocumentInfo {
    DocumentInfo {
        title: if job.film_session_label.is_empty() {
            format!("filmd job {}", job.id)
        } else {
            job.film_session_label.clone()
        },
        author: job.calling_ae_title.clone(),
        subject: format!(
            "DICOM print job {} on queue {} ({} film(s), {} cop(ies))",
            job.uid,
            job.queue,
            job.films.len(),
            job.copies
        ),
        creator: format!("filmd {}", env!("CARGO_PKG_VERSION")),
        created: std::time::UNIX_EPOCH + std::time::Duration::from_secs(job.created_unix),
        job_id: job.id.clone(),
        print_job_uid: job.uid.clone(),
        film_session_label: job.film_session_label.clone(),
        owner_id: job.owner_id.clone(),
        calling_ae_title: job.calling_ae_title.clone(),
        queue: job.queue.clone(),
        films: job.films.iter().map(film_metadata).collect(),
    }
}

/// A film's Film Box parameters as the defined terms of PS3.3 C.13.3 and C.13.4.
pub fn film_metadata(film: &Film) -> FilmMetadata {
    FilmMetadata {
        film_size: film.size.id.to_string(),
        orientation: film.orientation.term().to_string(),
        display_format: film.display_format.to_string(),
        magnification: film.magnification.term().to_string(),
        min_density: film.min_density,
        max_density: film.max_density,
        medium: film.medium.term().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        write_durably(&p, b"hello").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"hello");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
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
            pdf_dir: "/tmp".into(),
            preview_dir: "/tmp".into(),
            films: vec![],
        };
        let bytes = encode_job(&job).unwrap();
        assert_eq!(decode_job(&bytes).unwrap().copies, 2);
        assert!(decode_job(b"garbage").is_err());
        assert!(decode_job(&bytes[..bytes.len() - 3]).is_err());
    }
}
