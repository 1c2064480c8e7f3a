//! The PDF archive output: every film of a job composed into one PDF in the queue's
//! `pdf_dir`, with small PNG previews. A queue served only by it has no printer, so its jobs
//! are done once the PDF is durable.

use super::{Composed, DeliveryError, PrintJob, QueueOutputs, write_durably};
use crate::backend::pdf::{DocumentInfo, FilmMetadata, PdfBuilder};
use crate::film::Film;
use crate::film::compose::compose;
use std::fs;
use std::path::{Path, PathBuf};
use tracing::warn;

/// Largest side of a preview, pixels.
pub const PREVIEW_SIDE: u32 = 512;

/// Writes each job's PDF into the queue's archive directory under its `pdf_name` template
/// (and previews); no printer.
#[derive(Debug, Clone)]
pub struct PdfArchive {
    /// File name template (`filmd::config::render_pdf_name`).
    pub name: String,
}

impl Default for PdfArchive {
    fn default() -> Self {
        PdfArchive {
            name: "{job}.pdf".into(),
        }
    }
}

impl PdfArchive {
    /// The archive file name of `job`.
    pub fn file_name(&self, job: &PrintJob) -> String {
        let (date, time) = super::stamp::Stamp(job.created_unix).da_tm();
        crate::config::render_pdf_name(
            &self.name,
            &crate::config::PdfNameFields {
                job: &job.id,
                uid: &job.uid,
                queue: &job.queue,
                label: &job.film_session_label,
                calling_ae: &job.calling_ae_title,
                date: &date,
                time: &time,
            },
        )
    }
}

impl QueueOutputs for PdfArchive {
    fn compose(&self, job: &PrintJob, _out_dir: &Path) -> Result<Composed, DeliveryError> {
        let path = write_archive_pdf(job, &self.file_name(job))?;
        Ok(Composed {
            document: None,
            note: format!("archived as {}", path.display()),
        })
    }

    fn has_printer(&self) -> bool {
        false
    }
}

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

/// Composes every film of a job into one PDF/A document, page by page (each raw page is
/// compressed into the PDF as soon as it is composed), writing previews when asked.
/// Encoding errors are permanent.
pub fn job_pdf(job: &PrintJob, previews: bool) -> Result<Vec<u8>, DeliveryError> {
    job_pdf_copies(job, previews, 1)
}

/// [`job_pdf`] with the films `copies` times over, collated; each film is composed and
/// compressed once, whatever the copies.
pub fn job_pdf_copies(
    job: &PrintJob,
    previews: bool,
    copies: u32,
) -> Result<Vec<u8>, DeliveryError> {
    let encoding =
        |e: crate::backend::pdf::PdfError| DeliveryError::Permanent(format!("PDF encoding: {e}"));
    let mut pdf = PdfBuilder::new().map_err(encoding)?;
    for (n, film) in job.films.iter().enumerate() {
        let page = compose(film, &job.device);
        pdf.add_page(&page).map_err(encoding)?;
        if previews {
            write_preview(job, n, &page);
        }
    }
    pdf.repeat_pages(copies.saturating_sub(1))
        .map_err(encoding)?;
    pdf.finish(&document_info(job)).map_err(encoding)
}

/// Composes every film of a job into `pdf_dir/<file_name>`. Idempotent: run again after a
/// crash it rewrites the same file under the same name, so the archive holds it once.
/// Encoding errors are permanent; file system errors may pass (a full disk).
pub fn write_archive_pdf(job: &PrintJob, file_name: &str) -> Result<PathBuf, DeliveryError> {
    let bytes = job_pdf(job, true)?;
    fs::create_dir_all(&job.pdf_dir).map_err(|e| {
        DeliveryError::Retryable(format!("creating {}: {e}", job.pdf_dir.display()))
    })?;
    let path = job.pdf_dir.join(file_name);
    write_durably(&path, &bytes)
        .map_err(|e| DeliveryError::Retryable(format!("writing {}: {e}", path.display())))?;
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
