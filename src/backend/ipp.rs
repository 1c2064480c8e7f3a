//! IPP client for one printer (RFC 8011 operations, RFC 8010 encoding, PWG 5100.14 IPP
//! Everywhere attributes). It knows documents and job tickets, nothing of DICOM or the
//! spool.
//!
//! The ipp crate encodes requests and parses responses; the HTTP exchange is ours (one
//! reqwest client per printer), because the crate's own client reads a response of any
//! size, creates a connection per request, sends documents chunked, and honours proxy
//! environment variables, none of which suits a spooler talking to a printer on its LAN.
//! Responses are bounded ([`MAX_RESPONSE_BYTES`]) and checked structurally
//! ([`wire::check_response`]) before the crate parses them.

mod attrs;
mod failure;
mod format;
mod wire;

pub use attrs::{
    JobSnapshot, JobState, MAX_LIST, MAX_TEXT, PrinterSnapshot, PrinterState, Resolution,
};
pub use failure::{IppFailure, status_name};
pub use format::{DocumentFormat, PwgType, choose_format};

use ::ipp::attribute::{IppAttribute, IppAttributes};
use ::ipp::model::{DelimiterTag, IppVersion, Operation};
use ::ipp::parser::IppParser;
use ::ipp::reader::IppReader;
use ::ipp::request::IppRequestResponse;
use ::ipp::value::{IppName, IppValue};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// Largest IPP response read (attributes only: filmd never fetches documents).
pub const MAX_RESPONSE_BYTES: usize = 2 << 20;
/// `requesting-user-name` of every request. Job privacy (CUPS `JobPrivateValues`) shows
/// a job's name only to its owner, so finding a job by name needs the same user.
pub const USER_NAME: &str = "filmd";
/// Longest wait for a TCP/TLS connection, within the request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default port of ipp:// (RFC 7472 §4.1).
const IPP_PORT: u16 = 631;

/// `print-color-mode` (PWG 5100.13 §5.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    Monochrome,
    Color,
}

impl ColorMode {
    pub fn keyword(self) -> &'static str {
        match self {
            ColorMode::Monochrome => "monochrome",
            ColorMode::Color => "color",
        }
    }
}

/// `orientation-requested` (RFC 8011 §5.2.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    Portrait = 3,
    Landscape = 4,
    ReverseLandscape = 5,
    ReversePortrait = 6,
}

/// The Job Template and operation attributes of one Print-Job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobTicket {
    /// `document-format`, a MIME type such as `application/pdf`.
    pub format: String,
    /// `job-name`; cut to 255 bytes. The spool makes it unique per film so that
    /// [`IppPrinter::find_job_by_name`] can tell whether a film was already sent.
    pub job_name: String,
    /// `copies` (at least 1).
    pub copies: u32,
    /// `media` as a PWG 5101.1 self-describing name, e.g. `iso_a4_210x297mm`; `None`
    /// leaves the printer's `media-default`.
    pub media: Option<String>,
    pub print_color_mode: ColorMode,
    pub orientation_requested: Orientation,
    /// `printer-resolution` in dpi, when the document should be printed at a given one.
    pub printer_resolution: Option<Resolution>,
    /// `print-scaling` (PWG 5100.13 §6.2.20) when it matters, e.g. `fit` for a page
    /// larger than the media, `none` to keep a film at its true size.
    pub print_scaling: Option<String>,
}

/// An IPP printer at one URI (`ipp://host[:port]/path` or `ipps://host:port/path`).
pub struct IppPrinter {
    /// The printer URI as sent in `printer-uri`.
    uri: String,
    /// The HTTP(S) URL the requests are posted to.
    url: reqwest::Url,
    client: reqwest::Client,
    /// Bound on a request without a document; uploads get [`upload_allowance`] more.
    timeout: Duration,
    request_id: AtomicI32,
}

/// A response's status code, status message and attribute groups (see
/// [`decode_response`]).
pub struct Response {
    status: u16,
    message: Option<String>,
    attributes: IppAttributes,
}

impl IppPrinter {
    /// A client for the printer at `uri`. `ca_pem` (PEM certificates) replaces the system
    /// trust store for ipps, e.g. with a printer's self-signed certificate; `timeout`
    /// bounds each whole request, plus [`upload_allowance`] for one carrying a document.
    ///
    /// An `ipps://` URI must name its port: IPPS printers listen on 631 (RFC 7472 §4.2)
    /// while an HTTPS client would go to 443, and guessing either way hides a
    /// configuration mistake.
    pub fn new(uri: &str, ca_pem: Option<Vec<u8>>, timeout: Duration) -> Result<Self, IppFailure> {
        let invalid = |m: String| IppFailure::permanent("invalid-uri", m);
        let parsed = reqwest::Url::parse(uri).map_err(|e| invalid(format!("{uri}: {e}")))?;
        let (http_scheme, default_port) = match parsed.scheme() {
            "ipp" => ("http", Some(IPP_PORT)),
            "ipps" => ("https", None),
            other => {
                return Err(invalid(format!(
                    "{uri}: scheme {other}: is not ipp: or ipps:"
                )));
            }
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid(format!("{uri}: no host")))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid(format!(
                "{uri}: credentials in the URI are not supported"
            )));
        }
        let port = parsed.port().or(default_port).ok_or_else(|| {
            invalid(format!(
                "{uri}: an ipps URI needs an explicit port (usually 631, e.g. ipps://{host}:631{})",
                parsed.path()
            ))
        })?;
        let path = match parsed.path() {
            "" => "/",
            p => p,
        };
        let query = parsed.query().map(|q| format!("?{q}")).unwrap_or_default();
        let url = reqwest::Url::parse(&format!("{http_scheme}://{host}:{port}{path}{query}"))
            .map_err(|e| invalid(format!("{uri}: {e}")))?;
        if timeout.is_zero() {
            return Err(IppFailure::permanent(
                "invalid-request",
                "timeout must not be zero",
            ));
        }

        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .http1_only()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(CONNECT_TIMEOUT))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("filmd/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                IppFailure::permanent("tls-configuration", format!("CA certificates: {e}"))
            })?;
            if certs.is_empty() {
                return Err(IppFailure::permanent(
                    "tls-configuration",
                    "no certificate in the CA PEM",
                ));
            }
            builder = builder.tls_certs_only(certs);
        }
        let client = builder
            .build()
            .map_err(|e| IppFailure::permanent("tls-configuration", error_chain(&e)))?;
        Ok(IppPrinter {
            uri: parsed.to_string(),
            url,
            client,
            timeout,
            request_id: AtomicI32::new(1),
        })
    }

    /// The printer URI as sent in requests.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Get-Printer-Attributes (RFC 8011 §4.2.5) for [`PrinterSnapshot::REQUESTED`].
    pub async fn get_attributes(&self) -> Result<PrinterSnapshot, IppFailure> {
        let mut req = self.request(Operation::GetPrinterAttributes)?;
        add_op(
            &mut req,
            "requested-attributes",
            keywords(&PrinterSnapshot::REQUESTED)?,
        );
        let rsp = self.send(req, None).await?;
        rsp.printer_snapshot()
    }

    /// Print-Job (RFC 8011 §4.2.1): sends `document` with the ticket and returns the
    /// printer's `job-id`.
    pub async fn print_job(
        &self,
        document: impl Into<DocumentBody>,
        ticket: &JobTicket,
    ) -> Result<i32, IppFailure> {
        let document = document.into();
        let mut req = self.request(Operation::PrintJob)?;
        add_op(&mut req, "job-name", name(&ticket.job_name)?);
        add_op(
            &mut req,
            "document-format",
            value(IppValue::new_mime_media_type(ticket.format.as_str()))?,
        );
        let copies = i32::try_from(ticket.copies.max(1)).unwrap_or(i32::MAX);
        add_job(&mut req, "copies", IppValue::Integer(copies))?;
        if let Some(media) = &ticket.media {
            add_job(
                &mut req,
                "media",
                value(IppValue::new_keyword(media.as_str()))?,
            )?;
        }
        add_job(
            &mut req,
            "print-color-mode",
            value(IppValue::new_keyword(ticket.print_color_mode.keyword()))?,
        )?;
        add_job(
            &mut req,
            "orientation-requested",
            IppValue::Enum(ticket.orientation_requested as i32),
        )?;
        if let Some(scaling) = &ticket.print_scaling {
            add_job(
                &mut req,
                "print-scaling",
                value(IppValue::new_keyword(scaling.as_str()))?,
            )?;
        }
        if let Some(r) = ticket.printer_resolution {
            let dpi = |d: u32| i32::try_from(d).unwrap_or(i32::MAX);
            add_job(
                &mut req,
                "printer-resolution",
                IppValue::new_resolution(dpi(r.x), dpi(r.y), 3),
            )?;
        }
        let rsp = self.send(req, Some(document)).await?;
        if rsp.status != 0 {
            tracing::info!(printer = %self.uri, "Print-Job: {}", rsp.summary());
        }
        rsp.job_id()
    }

    /// Get-Job-Attributes (RFC 8011 §4.3.4) for [`JobSnapshot::REQUESTED`].
    pub async fn job_status(&self, id: i32) -> Result<JobSnapshot, IppFailure> {
        let mut req = self.request(Operation::GetJobAttributes)?;
        add_op(&mut req, "job-id", IppValue::Integer(id));
        add_op(
            &mut req,
            "requested-attributes",
            keywords(&JobSnapshot::REQUESTED)?,
        );
        let rsp = self.send(req, None).await?;
        rsp.job_snapshot()
    }

    /// The most recent job named `job_name`, or `<job_name> <label>`, among this
    /// printer's jobs, finished ones included: Get-Jobs with `which-jobs=all` (PWG 5100.7 §6.3.1; RFC 8011's
    /// `completed` and `not-completed` when the printer does not know `all`). The spool
    /// asks this after a crash between Print-Job and recording the job id, so that a film
    /// is not printed twice.
    pub async fn find_job_by_name(
        &self,
        job_name: &str,
    ) -> Result<Option<JobSnapshot>, IppFailure> {
        let jobs = match self.get_jobs("all").await {
            Ok(Some(jobs)) => jobs,
            Ok(None) | Err(IppFailure::Permanent { .. }) => {
                let mut jobs = self.get_jobs("not-completed").await?.unwrap_or_default();
                jobs.extend(self.get_jobs("completed").await?.unwrap_or_default());
                jobs
            }
            Err(e) => return Err(e),
        };
        Ok(jobs
            .into_iter()
            .filter(|j| {
                j.name
                    .as_deref()
                    .is_some_and(|n| n == job_name || n.starts_with(&format!("{job_name} ")))
            })
            .max_by_key(|j| j.id))
    }

    /// Get-Jobs (RFC 8011 §4.2.6) for one `which-jobs` value; `None` when the printer
    /// ignored or refused that value.
    async fn get_jobs(&self, which: &str) -> Result<Option<Vec<JobSnapshot>>, IppFailure> {
        let mut req = self.request(Operation::GetJobs)?;
        add_op(&mut req, "which-jobs", value(IppValue::new_keyword(which))?);
        add_op(
            &mut req,
            "requested-attributes",
            keywords(&["job-id", "job-name", "job-state", "job-state-reasons"])?,
        );
        let rsp = self.send(req, None).await?;
        Ok(rsp.jobs())
    }

    /// Cancel-Job (RFC 8011 §4.3.3).
    pub async fn cancel_job(&self, id: i32) -> Result<(), IppFailure> {
        let mut req = self.request(Operation::CancelJob)?;
        add_op(&mut req, "job-id", IppValue::Integer(id));
        self.send(req, None).await.map(|_| ())
    }

    /// A request with the operation attributes every request starts with, in the order
    /// RFC 8011 §4.1.4 and §4.1.5 require: charset, natural language, target, user.
    fn request(&self, op: Operation) -> Result<IppRequestResponse, IppFailure> {
        let mut req = IppRequestResponse::new(IppVersion::v1_1(), op, None)
            .map_err(|e| IppFailure::permanent("invalid-request", e.to_string()))?;
        req.header_mut().request_id = self.request_id.fetch_add(1, Ordering::Relaxed) & i32::MAX;
        add_op(
            &mut req,
            "printer-uri",
            value(IppValue::new_uri(self.uri.as_str()))?,
        );
        add_op(&mut req, "requesting-user-name", name(USER_NAME)?);
        Ok(req)
    }

    /// Posts a request (and document) and returns its response if the status is a
    /// success.
    async fn send(
        &self,
        req: IppRequestResponse,
        document: Option<DocumentBody>,
    ) -> Result<Response, IppFailure> {
        let request_id = req.header().request_id;
        let head = req.to_bytes();
        let doc_len = document.as_ref().map_or(0, DocumentBody::len);
        let timeout =
            self.timeout + upload_allowance(usize::try_from(doc_len).unwrap_or(usize::MAX));
        // Every body goes out with Content-Length, which every printer accepts; some
        // reject chunked requests.
        let length = head.len() as u64 + doc_len;
        let body = match document {
            None => reqwest::Body::from(head.to_vec()),
            Some(DocumentBody::Bytes(doc)) => {
                let mut body = Vec::with_capacity(head.len() + doc.len());
                body.extend_from_slice(&head);
                body.extend_from_slice(&doc);
                reqwest::Body::from(body)
            }
            Some(DocumentBody::File { path, len }) => {
                let file =
                    tokio::fs::File::open(&path)
                        .await
                        .map_err(|e| IppFailure::Retryable {
                            reason: format!("opening the document {}: {e}", path.display()),
                        })?;
                reqwest::Body::wrap_stream(file_stream(head.to_vec(), file, len))
            }
        };
        let rsp = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/ipp")
            .header(reqwest::header::CONTENT_LENGTH, length)
            .timeout(timeout)
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        if !rsp.status().is_success() {
            return Err(IppFailure::from_http(rsp.status().as_u16()));
        }
        let bytes = read_bounded(rsp).await?;
        decode_response(bytes, request_id)
    }
}

/// Decodes the body of an IPP response to the request numbered `request_id`: the
/// structural check ([`wire::check_response`]), the ipp crate's parser, the request-id
/// and the status (RFC 8010 §3.1, RFC 8011 §4.1.6). Everything a printer sends goes
/// through here; it is public for the fuzz targets (fuzz/fuzz_targets/ipp_response.rs).
pub fn decode_response(bytes: Vec<u8>, request_id: i32) -> Result<Response, IppFailure> {
    wire::check_response(&bytes).map_err(|m| malformed(&m))?;
    let (header, attributes, _) = IppParser::new(IppReader::new(std::io::Cursor::new(bytes)))
        .parse_parts()
        .map_err(|e| malformed(&e.to_string()))?;
    if header.request_id != request_id {
        return Err(malformed(&format!(
            "request-id {} answered as {}",
            request_id, header.request_id
        )));
    }
    let status = header.operation_or_status as u16;
    let message = attributes
        .groups_of(DelimiterTag::OperationAttributes)
        .find_map(|g| {
            g.get("status-message")
                .and_then(|a| attrs::text_of(a.value()))
        });
    if !failure::is_success(status) {
        return Err(IppFailure::from_status(status, message));
    }
    Ok(Response {
        status,
        message,
        attributes,
    })
}

impl std::fmt::Debug for IppPrinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IppPrinter")
            .field("uri", &self.uri)
            .finish()
    }
}

impl Response {
    /// The printer of a Get-Printer-Attributes response.
    pub fn printer_snapshot(&self) -> Result<PrinterSnapshot, IppFailure> {
        let group = self
            .attributes
            .groups_of(DelimiterTag::PrinterAttributes)
            .next()
            .ok_or_else(|| malformed("no printer attributes in the response"))?;
        Ok(PrinterSnapshot::from_group(group))
    }

    /// The `job-id` of a Print-Job response.
    pub fn job_id(&self) -> Result<i32, IppFailure> {
        self.attributes
            .groups_of(DelimiterTag::JobAttributes)
            .find_map(|g| match g.get("job-id").map(|a| a.value()) {
                Some(IppValue::Integer(id)) => Some(*id),
                _ => None,
            })
            .ok_or_else(|| malformed("Print-Job response without job-id"))
    }

    /// The job of a Get-Job-Attributes response.
    pub fn job_snapshot(&self) -> Result<JobSnapshot, IppFailure> {
        self.attributes
            .groups_of(DelimiterTag::JobAttributes)
            .find_map(JobSnapshot::from_group)
            .ok_or_else(|| malformed("Get-Job-Attributes response without job-id"))
    }

    /// The jobs of a Get-Jobs response; `None` when the printer ignored `which-jobs`.
    pub fn jobs(&self) -> Option<Vec<JobSnapshot>> {
        let ignored = self
            .attributes
            .groups_of(DelimiterTag::UnsupportedAttributes)
            .any(|g| g.get("which-jobs").is_some());
        if ignored {
            return None;
        }
        Some(
            self.attributes
                .groups_of(DelimiterTag::JobAttributes)
                .filter_map(JobSnapshot::from_group)
                .collect(),
        )
    }

    /// The status keyword and message, for logs (e.g. attributes the printer ignored).
    pub fn summary(&self) -> String {
        format!(
            "{}{}",
            status_name(self.status),
            self.message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )
    }
}

/// Reads a response body, refusing more than [`MAX_RESPONSE_BYTES`].
async fn read_bounded(mut rsp: reqwest::Response) -> Result<Vec<u8>, IppFailure> {
    let too_large = || {
        IppFailure::permanent(
            "response-too-large",
            format!("the printer's response exceeds {MAX_RESPONSE_BYTES} bytes"),
        )
    };
    let declared = rsp.content_length().unwrap_or(0);
    if declared > MAX_RESPONSE_BYTES as u64 {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(declared as usize);
    while let Some(chunk) = rsp.chunk().await.map_err(transport)? {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The document of a Print-Job: in memory, or a file streamed from disk so that a large
/// raster document (many films, copies laid out) is never held in memory whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentBody {
    Bytes(Vec<u8>),
    /// `len` bytes from the start of the file at `path` (its size when rendered).
    File {
        path: std::path::PathBuf,
        len: u64,
    },
}

impl DocumentBody {
    pub fn len(&self) -> u64 {
        match self {
            DocumentBody::Bytes(b) => b.len() as u64,
            DocumentBody::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Vec<u8>> for DocumentBody {
    fn from(bytes: Vec<u8>) -> Self {
        DocumentBody::Bytes(bytes)
    }
}

/// Bytes read from the document file per chunk of the request body.
const UPLOAD_CHUNK: usize = 256 * 1024;

/// The request head, then `len` bytes of `file` in chunks; an error if the file ends
/// sooner (the Content-Length sent must be kept).
fn file_stream(
    head: Vec<u8>,
    file: tokio::fs::File,
    len: u64,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static {
    use tokio::io::AsyncReadExt;
    let first = futures_util::stream::once(async move { Ok(head) });
    let rest = futures_util::stream::try_unfold((file, len), |(mut file, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let want = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(UPLOAD_CHUNK);
        let mut chunk = vec![0u8; want];
        file.read_exact(&mut chunk).await?;
        Ok(Some((chunk, (file, left - want as u64))))
    });
    futures_util::StreamExt::chain(first, rest)
}

/// The slowest upload rate a request is given time for: a raster printer on a busy
/// network, or one that reads its input only as fast as it prints (a 14×17 in page at
/// 300 dpi is 21 MB).
const SLOWEST_UPLOAD_BYTES_PER_SEC: usize = 256 * 1024;

/// Time added to the request timeout for uploading `len` bytes of document, so that a
/// large page on a slow printer is not cut off (and then retried and perhaps doubled)
/// by a bound meant for a small request.
pub fn upload_allowance(len: usize) -> Duration {
    Duration::from_secs(len.div_ceil(SLOWEST_UPLOAD_BYTES_PER_SEC) as u64)
}

/// Connection refused or reset, timeouts, TLS handshakes that fail, a body cut off: the
/// printer may be off, rebooting or unplugged, so these are retried.
fn transport(e: reqwest::Error) -> IppFailure {
    if e.is_builder() {
        return IppFailure::permanent("invalid-request", error_chain(&e));
    }
    IppFailure::Retryable {
        reason: error_chain(&e),
    }
}

/// [`crate::error_chain`], bounded for an Error Comment or a log line.
fn error_chain(e: &dyn std::error::Error) -> String {
    attrs::bounded(&crate::error_chain(e))
}

fn malformed(message: &str) -> IppFailure {
    IppFailure::permanent("malformed-response", attrs::bounded(message))
}

fn value(v: Result<IppValue, ::ipp::parser::IppParseError>) -> Result<IppValue, IppFailure> {
    v.map_err(|e| IppFailure::permanent("invalid-request", e.to_string()))
}

/// A `name(MAX)` value, cut at a character boundary to the 255 bytes IPP allows.
fn name(s: &str) -> Result<IppValue, IppFailure> {
    let mut end = s.len().min(IppName::max());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    value(IppValue::new_name_without_language(&s[..end]))
}

fn keywords(list: &[&str]) -> Result<IppValue, IppFailure> {
    list.iter()
        .map(|k| value(IppValue::new_keyword(*k)))
        .collect::<Result<Vec<_>, _>>()
        .map(IppValue::Array)
}

fn add_op(req: &mut IppRequestResponse, name: &str, value: IppValue) {
    if let Ok(attr) = IppAttribute::with_name(name, value) {
        req.attributes_mut()
            .add(DelimiterTag::OperationAttributes, attr);
    }
}

fn add_job(req: &mut IppRequestResponse, name: &str, value: IppValue) -> Result<(), IppFailure> {
    let attr = IppAttribute::with_name(name, value)
        .map_err(|e| IppFailure::permanent("invalid-request", e.to_string()))?;
    req.attributes_mut().add(DelimiterTag::JobAttributes, attr);
    Ok(())
}

#[cfg(test)]
mod tests;
