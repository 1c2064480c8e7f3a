//! The Print Management service (PS3.4 Annex H): DIMSE requests become changes of the film
//! model and statuses. One file per SOP class; finished films go to the spool.
//!
//! Each association owns its film session, film boxes, image and annotation boxes and
//! presentation LUTs; they are freed when the association ends (H.4.1.1: the end of an
//! association acts as an N-DELETE of its film session). A print job is a copy that lives on
//! in the spool. Storage Commitment reports a PACS sends back on an association of its
//! own (PS3.4 J.3.3) arrive here too, see [`commitment`].

pub mod annotation;
pub mod attrs;
pub mod commitment;
pub mod film_box;
pub mod film_session;
pub mod image_box;
pub mod presentation_lut;
pub mod print_job;
pub mod printer;
pub mod status;
pub mod uids;

use crate::audit::Auditor;
use crate::config::{PrinterIdentity, QueueSettings, Settings};
use crate::film::AnnotationFormats;
use crate::film::custom::CustomLayouts;
use crate::metrics::Metrics;
use crate::net::dimse::command_field as cf;
use crate::net::{
    AssociationAttempt, AssociationHandler, AssociationInfo, EventSender, Request, Response,
    Service,
};
use crate::outputs::board::PrinterBoard;
use crate::spool::Spool;
use attrs::Refusal;
use dicom_object::InMemDicomObject;
use std::collections::HashMap;
use std::sync::Arc;
use tracing::{info, warn};

/// What the Print Management service is configured with: the queues it serves and what
/// the films they accept may name.
#[derive(Debug, Clone)]
pub struct PrintSettings {
    /// In configuration order; an unknown called AE title selects the first.
    pub queues: Vec<Arc<QueueSettings>>,
    /// What Printer N-GET reports of the device.
    pub printer: PrinterIdentity,
    /// `CUSTOM\i` Image Display Formats.
    pub custom_layouts: CustomLayouts,
    /// Annotation Display Formats a film box may name.
    pub annotation_formats: AnnotationFormats,
    /// Bytes of image pixel data one association may hold at once.
    pub max_association_image_bytes: usize,
    /// Admit any peer proposing only Verification, whatever the queues' access rules say.
    pub echo_from_anyone: bool,
}

impl PrintSettings {
    pub fn of(settings: &Settings) -> PrintSettings {
        PrintSettings {
            queues: settings.queues.clone(),
            printer: settings.printer.clone(),
            custom_layouts: settings.custom_layouts.clone(),
            annotation_formats: settings.annotation_formats.clone(),
            max_association_image_bytes: settings.server.max_association_image_bytes,
            echo_from_anyone: settings.server.echo_from_anyone,
        }
    }
}

/// Shared by every association.
pub struct PrintService {
    pub config: Arc<PrintSettings>,
    pub spool: Arc<Spool>,
    pub jobs: Arc<print_job::JobRegistry>,
    /// The live status of every queue's printer.
    pub printers: Arc<PrinterBoard>,
    /// Where refusals and TLS failures are reported (PS3.15 A.5.3.11 Security Alert).
    pub auditor: Auditor,
    /// Counts the films received per queue.
    pub metrics: Arc<Metrics>,
    /// Where Storage Commitment reports go; `None`: the Storage Commitment Push Model
    /// class is not accepted at all.
    pub commitment: Option<Arc<dyn commitment::CommitmentInbox>>,
}

impl PrintService {
    /// `printers` is the board the printer pollers post to.
    pub fn new(config: PrintSettings, spool: Arc<Spool>, printers: Arc<PrinterBoard>) -> Self {
        PrintService {
            config: Arc::new(config),
            spool,
            jobs: Arc::new(print_job::JobRegistry::default()),
            printers,
            auditor: Auditor::off(),
            metrics: Arc::default(),
            commitment: None,
        }
    }

    /// Accepts Storage Commitment reports (N-EVENT-REPORT on the Push Model class, from a
    /// PACS filmd stored films in) and gives them to `inbox`.
    pub fn with_commitment_inbox(mut self, inbox: Arc<dyn commitment::CommitmentInbox>) -> Self {
        self.commitment = Some(inbox);
        self
    }

    /// Counts the films received in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Reports refused associations and failed TLS handshakes to `auditor`.
    pub fn with_auditor(mut self, auditor: Auditor) -> Self {
        self.auditor = auditor;
        self
    }

    /// The queue `called_ae` selects, or the first queue for an unknown one (which
    /// negotiation rejects anyway).
    fn queue_for(&self, called_ae: &str) -> &Arc<QueueSettings> {
        self.queue_answering(called_ae)
            .unwrap_or(&self.config.queues[0])
    }

    /// The queue whose AE titles include `called_ae`, if any.
    fn queue_answering(&self, called_ae: &str) -> Option<&Arc<QueueSettings>> {
        self.config
            .queues
            .iter()
            .find(|q| q.ae_titles.iter().any(|ae| ae.trim() == called_ae))
    }
}

impl Service for PrintService {
    type Handler = PrintHandler;

    fn abstract_syntaxes(&self, called_ae: &str) -> Vec<String> {
        let mut v: Vec<String> = [
            uids::BASIC_GRAYSCALE_PRINT_MANAGEMENT_META,
            uids::PRINTER,
            uids::PRESENTATION_LUT,
            uids::BASIC_ANNOTATION_BOX,
            uids::PRINT_JOB,
            uids::PRINTER_CONFIGURATION_RETRIEVAL,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Colour is accepted when the queue the called AE title selects prints colour or
        // converts colour films to gray; a queue that refuses them rejects the context at
        // negotiation (PS3.4 H.3: the Meta SOP class is the unit of negotiation).
        if self.queue_for(called_ae).accepts_color() {
            v.push(uids::BASIC_COLOR_PRINT_MANAGEMENT_META.to_string());
        }
        if self.commitment.is_some() {
            v.push(commitment::STORAGE_COMMITMENT_PUSH_MODEL.to_string());
        }
        v
    }

    fn called_ae_titles(&self) -> Vec<String> {
        self.config
            .queues
            .iter()
            .flat_map(|q| q.ae_titles.iter().cloned())
            .collect()
    }

    /// The rules of the queue the called AE title selects. An unknown called AE title
    /// selects no queue, so no rules: it is admitted here and rejected by negotiation
    /// with reason 7 "called AE title not recognized", the true reason (the first
    /// queue's rules, which [`PrintService::queue_for`] would pick, are not its rules).
    fn admit(&self, attempt: &AssociationAttempt) -> Result<(), crate::net::Refusal> {
        let Some(queue) = self.queue_answering(&attempt.called_ae_title) else {
            return Ok(());
        };
        match queue
            .access
            .check(attempt.peer.ip(), &attempt.calling_ae_title)
        {
            Err(refusal) if self.config.echo_from_anyone && attempt.verification_only => {
                info!(
                    peer = %attempt.peer, calling = %attempt.calling_ae_title,
                    called = %attempt.called_ae_title,
                    "{refusal}, admitted for Verification only (echo_from_anyone)"
                );
                Ok(())
            }
            Err(refusal) => {
                self.auditor.association_refused(
                    attempt.peer,
                    &attempt.calling_ae_title,
                    &attempt.called_ae_title,
                    &refusal.to_string(),
                );
                Err(refusal)
            }
            Ok(()) => Ok(()),
        }
    }

    fn tls_failed(&self, peer: std::net::SocketAddr, detail: &str) {
        self.auditor.tls_failure(peer, detail);
    }

    fn open(&self, info: &AssociationInfo, events: EventSender) -> PrintHandler {
        let queue = self.queue_for(&info.called_ae_title).clone();
        printer::watch_printer(info, &queue, &self.printers, events.clone());
        PrintHandler {
            info: info.clone(),
            config: self.config.clone(),
            queue,
            spool: self.spool.clone(),
            jobs: self.jobs.clone(),
            printers: self.printers.clone(),
            metrics: self.metrics.clone(),
            commitment: self.commitment.clone(),
            events,
            session: None,
            film_boxes: Vec::new(),
            luts: HashMap::new(),
            image_bytes: 0,
        }
    }
}

/// The state of one association.
pub struct PrintHandler {
    pub(crate) info: AssociationInfo,
    pub(crate) config: Arc<PrintSettings>,
    /// The queue the called AE title selected.
    pub(crate) queue: Arc<QueueSettings>,
    pub(crate) spool: Arc<Spool>,
    pub(crate) jobs: Arc<print_job::JobRegistry>,
    pub(crate) printers: Arc<PrinterBoard>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) commitment: Option<Arc<dyn commitment::CommitmentInbox>>,
    pub(crate) events: EventSender,
    pub(crate) session: Option<film_session::FilmSession>,
    /// Film boxes of the session in creation order; the last one is the live one.
    pub(crate) film_boxes: Vec<film_box::FilmBox>,
    pub(crate) luts: HashMap<String, presentation_lut::StoredLut>,
    /// Pixel bytes held by this association's image boxes.
    pub(crate) image_bytes: usize,
}

impl PrintHandler {
    pub(crate) fn queue(&self) -> &QueueSettings {
        &self.queue
    }

    /// Which SOP classes may be addressed on a context (PS3.4 H.3: a Meta SOP class groups
    /// its component classes on one context).
    fn class_allowed_on(abstract_syntax: &str, class: &str) -> bool {
        match abstract_syntax {
            uids::BASIC_GRAYSCALE_PRINT_MANAGEMENT_META => matches!(
                class,
                uids::BASIC_FILM_SESSION
                    | uids::BASIC_FILM_BOX
                    | uids::BASIC_GRAYSCALE_IMAGE_BOX
                    | uids::PRINTER
            ),
            uids::BASIC_COLOR_PRINT_MANAGEMENT_META => matches!(
                class,
                uids::BASIC_FILM_SESSION
                    | uids::BASIC_FILM_BOX
                    | uids::BASIC_COLOR_IMAGE_BOX
                    | uids::PRINTER
            ),
            other => other == class,
        }
    }

    fn route(&mut self, req: Request) -> Result<Response, Refusal> {
        let cmd = &req.command;
        let Some(class) = cmd.sop_class_uid().map(str::to_string) else {
            return Err(Refusal::new(
                status::MISSING_ATTRIBUTE,
                "SOP Class UID missing from the command",
            ));
        };
        if !Self::class_allowed_on(&req.context.abstract_syntax, &class) {
            return Err(Refusal::new(
                status::NO_SUCH_SOP_CLASS,
                format!(
                    "SOP class {class} is not part of context {}",
                    req.context.abstract_syntax
                ),
            ));
        }
        let field = cmd.command_field;
        if let (commitment::STORAGE_COMMITMENT_PUSH_MODEL, cf::N_EVENT_REPORT_RQ, Some(inbox)) =
            (class.as_str(), field, &self.commitment)
        {
            return Ok(commitment::report(
                inbox.as_ref(),
                &self.info.calling_ae_title,
                cmd,
                req.data.as_ref(),
            ));
        }
        let data = req.data.unwrap_or_else(InMemDicomObject::new_empty);
        let instance = cmd.sop_instance_uid().map(str::to_string);
        let meta = req.context.abstract_syntax.as_str();
        match (class.as_str(), field) {
            (uids::BASIC_FILM_SESSION, cf::N_CREATE_RQ) => {
                self.film_session_create(instance, &data, meta)
            }
            (uids::BASIC_FILM_SESSION, cf::N_SET_RQ) => self.film_session_set(instance, &data),
            (uids::BASIC_FILM_SESSION, cf::N_DELETE_RQ) => self.film_session_delete(instance),
            (uids::BASIC_FILM_SESSION, cf::N_ACTION_RQ) => {
                self.film_session_print(instance, cmd.action_type_id)
            }
            (uids::BASIC_FILM_BOX, cf::N_CREATE_RQ) => self.film_box_create(instance, &data),
            (uids::BASIC_FILM_BOX, cf::N_SET_RQ) => self.film_box_set(instance, &data),
            (uids::BASIC_FILM_BOX, cf::N_DELETE_RQ) => self.film_box_delete(instance),
            (uids::BASIC_FILM_BOX, cf::N_ACTION_RQ) => {
                self.film_box_print(instance, cmd.action_type_id)
            }
            (uids::BASIC_GRAYSCALE_IMAGE_BOX, cf::N_SET_RQ) => {
                self.image_box_set(instance, &data, false)
            }
            (uids::BASIC_COLOR_IMAGE_BOX, cf::N_SET_RQ) => {
                self.image_box_set(instance, &data, true)
            }
            (uids::BASIC_ANNOTATION_BOX, cf::N_SET_RQ) => self.annotation_box_set(instance, &data),
            (uids::PRESENTATION_LUT, cf::N_CREATE_RQ) => {
                self.presentation_lut_create(instance, &data)
            }
            (uids::PRESENTATION_LUT, cf::N_DELETE_RQ) => self.presentation_lut_delete(instance),
            (uids::PRINTER, cf::N_GET_RQ) => {
                self.printer_get(instance, &cmd.attribute_identifier_list)
            }
            (uids::PRINTER_CONFIGURATION_RETRIEVAL, cf::N_GET_RQ) => {
                self.printer_configuration_get(instance, &cmd.attribute_identifier_list)
            }
            (uids::PRINT_JOB, cf::N_GET_RQ) => {
                self.print_job_get(instance, &cmd.attribute_identifier_list)
            }
            _ => Err(Refusal::new(
                status::UNRECOGNIZED_OPERATION,
                format!(
                    "{} is not an operation of SOP class {class}",
                    cf::name(field)
                ),
            )),
        }
    }
}

impl AssociationHandler for PrintHandler {
    fn handle(&mut self, request: Request) -> Response {
        let what = request.command.to_string();
        match self.route(request) {
            Ok(r) => {
                if r.status != status::SUCCESS {
                    info!(
                        assoc = self.info.id,
                        "{what}: status 0x{:04X} {}",
                        r.status,
                        r.error_comment.as_deref().unwrap_or("")
                    );
                }
                r
            }
            Err(refusal) => {
                warn!(
                    assoc = self.info.id,
                    "{what}: refused with 0x{:04X}: {}", refusal.status, refusal.comment
                );
                refusal.into()
            }
        }
    }

    fn event_confirmed(
        &mut self,
        sop_class_uid: &str,
        sop_instance_uid: &str,
        event_type_id: u16,
        status: u16,
    ) {
        if sop_class_uid == uids::PRINT_JOB {
            self.jobs.confirmed(sop_instance_uid, event_type_id, status);
        }
    }

    fn close(&mut self) {
        if self.session.is_some() || !self.film_boxes.is_empty() || !self.luts.is_empty() {
            info!(
                assoc = self.info.id,
                "freeing the association's film session, {} film box(es), {} presentation LUT(s)",
                self.film_boxes.len(),
                self.luts.len()
            );
        }
        self.session = None;
        self.film_boxes.clear();
        self.luts.clear();
        self.image_bytes = 0;
        self.jobs.detach_association(self.info.id);
    }
}

/// A new UID under the UUID-derived root 2.25 (PS3.5 B.2).
pub fn new_uid() -> String {
    format!("2.25.{}", rand::random::<u128>())
}
