//! Shared parts of filmd's fuzz targets: a poll-once executor for the async PDU reader,
//! and a Print Management service like `filmd serve` builds (embedded configuration, a
//! spool in a temporary directory) whose associations are driven request by request,
//! through the same decode path as the server: data set bytes → `net::dataset::decode`
//! (bound walk, then dicom-object) → the association's handler.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use filmd::config::{Overrides, Settings};
use filmd::net::dimse::{Command, command_field};
use filmd::net::{
    AcceptedContext, AssociationHandler, AssociationInfo, EventReport, Request, Response, Service,
    dataset,
};
use filmd::outputs::board::PrinterBoard;
use filmd::print::{PrintHandler, PrintService, PrintSettings, uids};
use filmd::spool::Spool;
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

/// The allocation caps of every target, enforced by [`CappedAlloc`]: no single allocation
/// above [`MAX_ALLOCATION`], no more than [`MAX_LIVE`] bytes allocated at once. The
/// largest allocation filmd makes from a peer's word alone is one PDU body up to
/// `server.pdu_cap` (16 MiB by default); everything else grows with bytes received, and
/// a fuzz input is at most a few hundred KiB.
///
/// libFuzzer's own `-malloc_limit_mb` needs a sanitizer's malloc hooks, which a
/// `--sanitizer none` build (the only kind stable Rust makes) does not have; its
/// `-rss_limit_mb` works but misses an allocation that is never touched. Hence this.
pub const MAX_ALLOCATION: usize = 32 << 20;
/// See [`MAX_ALLOCATION`].
pub const MAX_LIVE: usize = 256 << 20;

/// The system allocator with [`MAX_ALLOCATION`] and [`MAX_LIVE`]: an allocation beyond
/// them aborts, which libFuzzer reports as a crash and saves the input of.
/// Each target declares `#[global_allocator] static A: CappedAlloc = CappedAlloc;`.
pub struct CappedAlloc;

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn over_cap(what: &str, size: usize) -> ! {
    use std::io::Write;
    // No allocation here: digits on the stack, unbuffered stderr.
    let mut digits = [0u8; 20];
    let mut n = size;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut err = std::io::stderr();
    let _ = err.write_all(b"==filmd-fuzz== ");
    let _ = err.write_all(what.as_bytes());
    let _ = err.write_all(&digits[i..]);
    let _ = err.write_all(b" bytes: beyond the fuzz allocation caps\n");
    std::process::abort();
}

unsafe impl std::alloc::GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        self.check(layout.size());
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        self.check(layout.size());
        // SAFETY: as above.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        self.check(new_size);
        // SAFETY: as above.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

impl CappedAlloc {
    fn check(&self, size: usize) {
        if size > MAX_ALLOCATION {
            over_cap("one allocation of ", size);
        }
        let live = LIVE.fetch_add(size, std::sync::atomic::Ordering::Relaxed) + size;
        if live > MAX_LIVE {
            over_cap("live allocations reaching ", live);
        }
    }
}

/// Runs a future that never waits (the PDU reader over a byte slice) to its end.
/// A future still pending after many polls would be a hang: that is a finding.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("future over an in-memory reader still pending after 1000 polls");
}

/// Selects the transfer syntax of a print target's input: bit 0 of its first byte.
pub fn transfer_syntax(selector: u8) -> &'static str {
    if selector & 1 == 1 {
        dataset::EXPLICIT_VR_LE
    } else {
        dataset::IMPLICIT_VR_LE
    }
}

struct Fixture {
    service: PrintService,
    settings: Settings,
    /// Keeps the spool's runtime (its delivery tasks never run: nothing is printed).
    _runtime: tokio::runtime::Runtime,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();
static DATA_DIR: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_data_dir() {
    if let Some(dir) = DATA_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

unsafe extern "C" {
    fn atexit(cb: extern "C" fn()) -> std::ffi::c_int;
}

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("filmd-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        DATA_DIR.get_or_init(|| dir.clone());
        // SAFETY: registers a plain function without arguments; libFuzzer ends with exit().
        unsafe { atexit(remove_data_dir) };
        let overrides = Overrides {
            data_dir: Some(dir),
            ..Overrides::default()
        };
        let settings = filmd::config::load(None, &overrides)
            .expect("the embedded configuration loads")
            .settings;
        settings
            .server
            .data_dir
            .create()
            .expect("creating the fuzz data directory");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let spool = {
            let _in_runtime = runtime.enter();
            Spool::open(
                &settings.server.data_dir,
                settings.spool.clone(),
                HashMap::new(),
            )
            .expect("opening the spool")
        };
        let board = PrinterBoard::new(settings.queues.iter().map(|q| q.name.as_str()));
        let service = PrintService::new(PrintSettings::of(&settings), spool, board);
        Fixture {
            service,
            settings,
            _runtime: runtime,
        }
    })
}

/// Presentation context IDs of a fuzz association.
pub const GRAYSCALE_CONTEXT: u8 = 1;
pub const COLOR_CONTEXT: u8 = 3;
pub const ANNOTATION_CONTEXT: u8 = 5;

/// One association of the print service, with a film session and a film box.
pub struct Association {
    handler: PrintHandler,
    contexts: Vec<AcceptedContext>,
    color: bool,
    message_id: u16,
    pub film_session: String,
    pub film_box: Option<String>,
    pub image_boxes: Vec<String>,
    pub annotation_boxes: Vec<String>,
    _events: tokio::sync::mpsc::UnboundedReceiver<EventReport>,
}

/// Reads the first item's Referenced SOP Instance UID of a sequence, if any.
pub fn referenced_uid(obj: &InMemDicomObject, sequence: Tag) -> Option<String> {
    let item = obj.get(sequence)?.items()?.first()?;
    let uid = item.get(tags::REFERENCED_SOP_INSTANCE_UID)?.to_str().ok()?;
    let uid = uid.trim_end_matches(['\0', ' ']).to_string();
    (!uid.is_empty() && uid.len() <= 64).then_some(uid)
}

fn uids_of(obj: &InMemDicomObject, sequence: Tag) -> Vec<String> {
    obj.get(sequence)
        .and_then(|e| e.items())
        .unwrap_or_default()
        .iter()
        .filter_map(|item| {
            item.get(tags::REFERENCED_SOP_INSTANCE_UID)
                .and_then(|e| e.to_str().ok())
                .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        })
        .collect()
}

impl Association {
    /// Opens an association whose contexts use `transfer_syntax`, and N-CREATEs a film
    /// session (UID `session_uid`, as an SCU may choose it, PS3.4 H.4.1.2.1).
    pub fn open(color: bool, transfer_syntax: &str, session_uid: Option<String>) -> Self {
        let f = fixture();
        let context = |id: u8, abstract_syntax: &str| AcceptedContext {
            id,
            abstract_syntax: abstract_syntax.to_string(),
            transfer_syntax: transfer_syntax.to_string(),
        };
        let contexts = vec![
            context(
                GRAYSCALE_CONTEXT,
                uids::BASIC_GRAYSCALE_PRINT_MANAGEMENT_META,
            ),
            context(COLOR_CONTEXT, uids::BASIC_COLOR_PRINT_MANAGEMENT_META),
            context(ANNOTATION_CONTEXT, uids::BASIC_ANNOTATION_BOX),
        ];
        let info = AssociationInfo {
            id: 1,
            calling_ae_title: "FUZZ".into(),
            called_ae_title: f.settings.queues[0].ae_titles[0].clone(),
            peer: std::net::SocketAddr::from(([127, 0, 0, 1], 1)),
            contexts: contexts.clone(),
            channel: filmd::net::tls::Channel::Plain,
            record: Default::default(),
        };
        let (events, _events) = tokio::sync::mpsc::unbounded_channel();
        let handler = f.service.open(&info, events);
        let mut a = Association {
            handler,
            contexts,
            color,
            message_id: 0,
            film_session: String::new(),
            film_box: None,
            image_boxes: Vec::new(),
            annotation_boxes: Vec::new(),
            _events,
        };
        let rsp = a.request(
            command_field::N_CREATE_RQ,
            uids::BASIC_FILM_SESSION,
            session_uid,
            Some(InMemDicomObject::new_empty()),
        );
        assert_eq!(
            rsp.status, 0,
            "film session N-CREATE: {:?}",
            rsp.error_comment
        );
        a.film_session = rsp.affected_sop_instance_uid.unwrap_or_default();
        a
    }

    fn meta_context(&self) -> u8 {
        if self.color {
            COLOR_CONTEXT
        } else {
            GRAYSCALE_CONTEXT
        }
    }

    /// Sends one request with an already decoded data set; returns the response.
    pub fn request(
        &mut self,
        field: u16,
        class: &str,
        instance: Option<String>,
        data: Option<InMemDicomObject>,
    ) -> Response {
        let context_id = if class == uids::BASIC_ANNOTATION_BOX {
            ANNOTATION_CONTEXT
        } else {
            self.meta_context()
        };
        let context = self
            .contexts
            .iter()
            .find(|c| c.id == context_id)
            .cloned()
            .expect("a context of ours");
        self.message_id = self.message_id.wrapping_add(1);
        let creates = field == command_field::N_CREATE_RQ;
        let command = Command {
            command_field: field,
            message_id: Some(self.message_id),
            affected_sop_class_uid: creates.then(|| class.to_string()),
            requested_sop_class_uid: (!creates).then(|| class.to_string()),
            affected_sop_instance_uid: if creates { instance.clone() } else { None },
            requested_sop_instance_uid: if creates { None } else { instance },
            has_data_set: data.is_some(),
            ..Command::default()
        };
        self.handler.handle(Request {
            context,
            command,
            data,
        })
    }

    /// Sends a request whose data set arrives as bytes, decoded as the server decodes
    /// them; `None` when the decoder refused them (the server answers 0x0110 then).
    pub fn request_bytes(
        &mut self,
        field: u16,
        class: &str,
        instance: Option<String>,
        bytes: &[u8],
    ) -> Option<Response> {
        let ts = self.contexts[0].transfer_syntax.clone();
        let data = dataset::decode(bytes, &ts).ok()?;
        Some(self.request(field, class, instance, Some(data)))
    }

    /// N-CREATEs a film box with `data`; on success remembers its boxes.
    pub fn create_film_box(&mut self, data: InMemDicomObject) -> Response {
        let rsp = self.request(
            command_field::N_CREATE_RQ,
            uids::BASIC_FILM_BOX,
            None,
            Some(data),
        );
        self.remember_film_box(&rsp);
        rsp
    }

    fn remember_film_box(&mut self, rsp: &Response) {
        if !succeeded(rsp.status) {
            return;
        }
        if let Some(data) = &rsp.data {
            self.film_box = rsp.affected_sop_instance_uid.clone();
            self.image_boxes = uids_of(data, tags::REFERENCED_IMAGE_BOX_SEQUENCE);
            self.annotation_boxes = uids_of(data, tags::REFERENCED_BASIC_ANNOTATION_BOX_SEQUENCE);
        }
    }

    /// A film box N-CREATE data set: `format` (e.g. `STANDARD\2,2`) and an annotation
    /// format, referencing this association's film session.
    pub fn film_box_data(&self, format: &str, annotation_format: Option<&str>) -> InMemDicomObject {
        use dicom_core::value::DataSetSequence;
        use dicom_core::{DataElement, PrimitiveValue, VR};
        let session_class = uids::BASIC_FILM_SESSION;
        let reference = InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from(session_class),
            ),
            DataElement::new(
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(self.film_session.as_str()),
            ),
        ]);
        let mut obj = InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::IMAGE_DISPLAY_FORMAT,
                VR::ST,
                PrimitiveValue::from(format),
            ),
            DataElement::new(
                tags::REFERENCED_FILM_SESSION_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![reference]),
            ),
        ]);
        if let Some(id) = annotation_format {
            obj.put(DataElement::new(
                tags::ANNOTATION_DISPLAY_FORMAT_ID,
                VR::CS,
                PrimitiveValue::from(id),
            ));
        }
        obj
    }

    /// Whether the color Print Management meta class is in use.
    pub fn color(&self) -> bool {
        self.color
    }
}

/// Success or a warning (PS3.7 C.4, C.5: 0000, 0001, 0107, 0116, Bxxx): the operation
/// was performed.
pub fn succeeded(status: u16) -> bool {
    matches!(status, 0x0000 | 0x0001 | 0x0107 | 0x0116) || status & 0xF000 == 0xB000
}

/// Image Display Formats the print targets create film boxes with, by selector bits.
pub const FORMATS: [&str; 4] = ["STANDARD\\1,1", "STANDARD\\2,2", "ROW\\2,1", "COL\\1,3"];

/// Annotation Display Format IDs of the embedded layouts/annotations.toml.
pub fn annotation_format_ids() -> Vec<String> {
    fixture()
        .settings
        .annotation_formats
        .iter()
        .map(|f| f.id.clone())
        .collect()
}

/// The film session UID a data set refers to, so that an N-CREATE recorded from a real
/// peer finds "its" session.
pub fn session_uid_in(bytes: &[u8], transfer_syntax: &str) -> Option<String> {
    let obj = dataset::decode(bytes, transfer_syntax).ok()?;
    referenced_uid(&obj, tags::REFERENCED_FILM_SESSION_SEQUENCE)
}
