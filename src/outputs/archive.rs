//! The PDF archive output: every film of a job composed into one PDF/A in the queue's
//! archive directory under its file-name template, with small PNG previews in the data
//! directory. A queue served only by it has no printer, so its jobs are done once the PDF
//! is durable.

use crate::backend::deflate::{compress_strip, zlib_from_strips};
use crate::backend::pdf::{DocumentInfo, FilmMetadata, PdfBuilder};
use crate::data_dir::DataDir;
use crate::film::compose::{compose_streamed, page_channels, page_shape};
use crate::film::preview::StripPreview;
use crate::film::{Device, Film, Page, PageShape};
use crate::metrics::Metrics;
use crate::spool::{Composed, DeliveryError, PrintJob, QueueOutputs, write_durably};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tracing::warn;

/// Largest side of a preview, pixels.
pub const PREVIEW_SIDE: u32 = 512;

/// Writes each job's PDF into `dir` under the `name` template, and its previews; no
/// printer.
#[derive(Debug, Clone)]
pub struct PdfArchive {
    /// The archive directory (a queue's `pdf_dir`, resolved).
    pub dir: PathBuf,
    pub name: PdfName,
    /// Whose `previews/` the films' previews go to.
    pub previews: DataDir,
    /// Times the PDF's encoding (`filmd_encode_duration_seconds{format="pdf"}`).
    pub metrics: Arc<Metrics>,
}

impl PdfArchive {
    /// Composes every film of `job` into `dir/<file name>`. Idempotent: run again after a
    /// crash it rewrites the same file under the same name, so the archive holds it once.
    /// Encoding errors are permanent; file system errors may pass (a full disk).
    pub fn write(&self, job: &PrintJob) -> Result<PathBuf, DeliveryError> {
        let started = Instant::now();
        let bytes = job_pdf_copies(job, 1, Some(&self.previews))?;
        self.metrics.observe_encode("pdf", started.elapsed());
        fs::create_dir_all(&self.dir).map_err(|e| {
            DeliveryError::Retryable(format!("creating {}: {e}", self.dir.display()))
        })?;
        let path = self.dir.join(self.name.file_name(job));
        write_durably(&path, &bytes)
            .map_err(|e| DeliveryError::Retryable(format!("writing {}: {e}", path.display())))?;
        if job.copies > 1 {
            warn!(job = %job.id, "{} copies requested: the PDF archive keeps one; copies go to printers", job.copies);
        }
        Ok(path)
    }
}

impl QueueOutputs for PdfArchive {
    fn compose(&self, job: &PrintJob, _out_dir: &Path) -> Result<Composed, DeliveryError> {
        let path = self.write(job)?;
        Ok(Composed {
            document: None,
            note: format!("archived as {}", path.display()),
        })
    }

    fn has_printer(&self) -> bool {
        false
    }
}

/// Writes `preview` ([`compose_preview`], [`compose_compressed_with_preview`]) as the
/// preview PNG of film `n` (0-based) of `job`; a failure is logged, never fatal.
pub(crate) fn write_preview(data: &DataDir, job: &PrintJob, n: usize, preview: &Page) {
    let result = crate::backend::png::encode_png(preview)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            fs::create_dir_all(data.previews()).map_err(|e| e.to_string())?;
            fs::write(data.preview(&job.id, n + 1), bytes).map_err(|e| e.to_string())
        });
    if let Err(e) = result {
        warn!(job = %job.id, "preview of film {} not written: {e}", n + 1);
    }
}

/// Composes `film` on `device` and compresses its image for a PDF page
/// ([`PdfBuilder::add_compressed_page`]) or a PNG IDAT while it is composed: each strip of
/// rows is PNG-filtered and deflated by the core that composed it, while it is still in
/// that core's cache, and the strips are joined into one zlib stream. The page itself is
/// never held ([`compose_streamed`]).
pub fn compose_compressed(film: &Film, device: &Device) -> (PageShape, Vec<u8>) {
    let channels = page_channels(film, device);
    let (shape, strips) = compose_streamed(film, device, |strip| {
        compress_strip(strip.rows, strip.row_bytes, channels)
    });
    debug_assert_eq!(usize::from(shape.channels), channels);
    (shape, zlib_from_strips(&strips))
}

/// [`compose_compressed`] and the page's preview ([`PREVIEW_SIDE`]), made from the same
/// strips while they are in the cache: a preview costs no second pass over the page.
pub fn compose_compressed_with_preview(film: &Film, device: &Device) -> (PageShape, Vec<u8>, Page) {
    let channels = page_channels(film, device);
    let preview = StripPreview::new(&page_shape(film, device), PREVIEW_SIDE);
    let (shape, strips) = compose_streamed(film, device, |strip| {
        (
            compress_strip(strip.rows, strip.row_bytes, channels),
            preview.strip(strip.first_row, strip.rows),
        )
    });
    let (compressed, partial): (Vec<_>, Vec<_>) = strips.into_iter().unzip();
    (
        shape,
        zlib_from_strips(&compressed),
        preview.finish(partial),
    )
}

/// The preview ([`PREVIEW_SIDE`]) of `film` on `device`, composed strip by strip without
/// the page: for a queue whose only output is a PACS, which composes its films again
/// when it stores them.
pub fn compose_preview(film: &Film, device: &Device) -> Page {
    let preview = StripPreview::new(&page_shape(film, device), PREVIEW_SIDE);
    let (_, partial) = compose_streamed(film, device, |strip| {
        preview.strip(strip.first_row, strip.rows)
    });
    preview.finish(partial)
}

/// Composes every film of a job into one PDF/A document, page by page (each page is
/// compressed while it is composed, [`compose_compressed`]), the films `copies` times over,
/// collated: each film is composed and compressed once, whatever the copies. Previews are
/// written when `previews` says where. Encoding errors are permanent.
pub fn job_pdf_copies(
    job: &PrintJob,
    copies: u32,
    previews: Option<&DataDir>,
) -> Result<Vec<u8>, DeliveryError> {
    let encoding =
        |e: crate::backend::pdf::PdfError| DeliveryError::Permanent(format!("PDF encoding: {e}"));
    let mut pdf = PdfBuilder::new().map_err(encoding)?;
    for (n, film) in job.films.iter().enumerate() {
        match previews {
            Some(data) => {
                let (shape, image, preview) = compose_compressed_with_preview(film, &job.device);
                pdf.add_compressed_page(&shape, image).map_err(encoding)?;
                write_preview(data, job, n, &preview);
            }
            None => {
                let (shape, image) = compose_compressed(film, &job.device);
                pdf.add_compressed_page(&shape, image).map_err(encoding)?;
            }
        }
    }
    pdf.repeat_pages(copies.saturating_sub(1))
        .map_err(encoding)?;
    pdf.finish(&document_info(job)).map_err(encoding)
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
        created: crate::time::Stamp(job.created_unix).into(),
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

/// The placeholders a `pdf_name` template may use.
pub const PDF_NAME_FIELDS: [&str; 7] =
    ["job", "uid", "queue", "label", "calling_ae", "date", "time"];

/// A checked `pdf_name` template: `{job}` (spool job ID), `{uid}` (Print Job SOP Instance
/// UID), `{queue}`, `{label}` (Film Session Label), `{calling_ae}`, `{date}` (YYYYMMDD,
/// UTC) and `{time}` (HHMMSS). It must contain `{job}` or `{uid}` so that no two jobs
/// share a file, be a file name (not a path) that stays within 255 bytes, and end in
/// `.pdf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfName(String);

impl PdfName {
    /// The template, checked; the error says what is wrong with it.
    pub fn parse(template: &str) -> Result<PdfName, String> {
        check_pdf_name(template).map(|()| PdfName(template.to_string()))
    }

    /// The file name of `job`.
    pub fn file_name(&self, job: &PrintJob) -> String {
        let (date, time) = crate::time::Stamp(job.created_unix).da_tm();
        render_pdf_name(
            &self.0,
            &PdfNameFields {
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

impl Default for PdfName {
    fn default() -> Self {
        PdfName("{job}.pdf".into())
    }
}

fn check_pdf_name(template: &str) -> Result<(), String> {
    let mut rest = template;
    let mut unique = false;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("{template:?}: '{{' without '}}'"));
        };
        let field = &rest[open + 1..open + close];
        if !PDF_NAME_FIELDS.contains(&field) {
            return Err(format!(
                "{template:?}: unknown placeholder {{{field}}} (use {})",
                PDF_NAME_FIELDS.map(|f| format!("{{{f}}}")).join(", ")
            ));
        }
        unique |= field == "job" || field == "uid";
        rest = &rest[open + close + 1..];
    }
    if template.contains(['/', '\\']) || template.starts_with('.') {
        return Err(format!("{template:?}: a file name, not a path"));
    }
    if !unique {
        return Err(format!(
            "{template:?} must contain {{job}} or {{uid}}, or two jobs would share a file"
        ));
    }
    // Each placeholder fills at most 64 bytes: the file name must stay within 255.
    let placeholders = template.matches('{').count();
    let names: usize = PDF_NAME_FIELDS
        .iter()
        .map(|f| template.matches(&format!("{{{f}}}")).count() * (f.len() + 2))
        .sum();
    if template.len() - names + 64 * placeholders > 255 {
        return Err(format!(
            "{template:?} could make a file name over 255 bytes (each placeholder may fill 64)"
        ));
    }
    if !template.ends_with(".pdf") {
        return Err(format!("{template:?} must end in .pdf"));
    }
    Ok(())
}

/// The values a `pdf_name` template is filled with.
#[derive(Debug, Clone, Default)]
struct PdfNameFields<'a> {
    job: &'a str,
    uid: &'a str,
    queue: &'a str,
    label: &'a str,
    calling_ae: &'a str,
    /// YYYYMMDD, UTC.
    date: &'a str,
    /// HHMMSS, UTC.
    time: &'a str,
}

/// Fills a checked `pdf_name` template. Values are reduced to letters, digits, `.`, `-`
/// and `_` (anything else becomes `_`, at most 64 characters each) so that an SCU's
/// Film Session Label can never make a path.
fn render_pdf_name(template: &str, fields: &PdfNameFields) -> String {
    let safe = |v: &str| -> String {
        v.trim()
            .chars()
            .take(64)
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
            .trim_start_matches('.')
            .to_string()
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let value = match &rest[open + 1..open + close] {
            "job" => fields.job,
            "uid" => fields.uid,
            "queue" => fields.queue,
            "label" => fields.label,
            "calling_ae" => fields.calling_ae,
            "date" => fields.date,
            "time" => fields.time,
            _ => "",
        };
        out.push_str(&safe(value));
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(template: &str) -> String {
        PdfName::parse(template).expect_err(template)
    }

    #[test]
    fn pdf_name_templates_are_checked() {
        assert!(PdfName::parse("{job}.pdf").is_ok());
        assert!(problem("{label}.pdf").contains("{job}"));
        assert!(problem("{job}-{owner}.pdf").contains("unknown"));
        assert!(problem("../{job}.pdf").contains("path"));
        assert!(problem("{job}.txt").contains(".pdf"));
        // Each placeholder may fill 64 bytes: 3 x 64 + 4 fits in 255, 4 x 64 + 4 does not.
        assert!(PdfName::parse(&format!("{}{{job}}.pdf", "{label}".repeat(2))).is_ok());
        assert!(problem(&format!("{}{{job}}.pdf", "{label}".repeat(3))).contains("255"));
    }

    #[test]
    fn names_from_a_film_session_never_make_a_path() {
        let name = render_pdf_name(
            "{date}-{queue}-{label}-{job}.pdf",
            &PdfNameFields {
                job: "J1",
                queue: "ct",
                label: "../CT chest/Ärger",
                date: "20261125",
                ..Default::default()
            },
        );
        assert_eq!(name, "20261125-ct-_CT_chest__rger-J1.pdf");
        assert!(!name.contains('/'));
    }
}
