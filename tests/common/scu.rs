//! A Rust Print SCU for tests: dicom-ul's client association (not filmd's code) carries
//! the PDUs; filmd's public DIMSE codec builds and reads command sets.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_ul::ClientAssociationOptions;
use dicom_ul::association::client::ClientAssociation;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
use filmd::net::dataset;
use filmd::net::dimse::{Command, command_field as cf};
use filmd::print::uids;
use std::net::TcpStream;
use std::time::Duration;

pub const GRAY_META: &str = uids::BASIC_GRAYSCALE_PRINT_MANAGEMENT_META;
pub const COLOR_META: &str = uids::BASIC_COLOR_PRINT_MANAGEMENT_META;

/// A response: command and optional data set.
#[derive(Debug)]
pub struct Reply {
    pub command: Command,
    pub data: Option<InMemDicomObject>,
}

impl Reply {
    pub fn status(&self) -> u16 {
        self.command.status.unwrap_or(0xFFFF)
    }
}

pub struct Scu {
    pub assoc: Option<ClientAssociation<TcpStream>>,
    next_id: u16,
    /// N-EVENT-REPORT requests received (answered with success).
    pub events: Vec<Command>,
    pub event_data: Vec<Option<InMemDicomObject>>,
}

impl Scu {
    /// Associates with the given abstract syntaxes (Verification always added).
    pub fn connect(port: u16, abstract_syntaxes: &[&str]) -> Scu {
        Self::try_connect(port, "FILMD", abstract_syntaxes).expect("association")
    }

    pub fn try_connect(port: u16, called: &str, abstract_syntaxes: &[&str]) -> Result<Scu, String> {
        let mut opts = ClientAssociationOptions::new()
            .calling_ae_title("TESTSCU")
            .called_ae_title(called.to_string())
            .max_pdu_length(16384)
            .read_timeout(Duration::from_secs(30))
            .with_abstract_syntax("1.2.840.10008.1.1");
        for a in abstract_syntaxes {
            opts = opts.with_abstract_syntax(a.to_string());
        }
        let assoc = opts
            .establish(("127.0.0.1", port))
            .map_err(|e| e.to_string())?;
        Ok(Scu {
            assoc: Some(assoc),
            next_id: 1,
            events: Vec::new(),
            event_data: Vec::new(),
        })
    }

    fn assoc(&mut self) -> &mut ClientAssociation<TcpStream> {
        self.assoc.as_mut().expect("open association")
    }

    /// The accepted context for an abstract syntax: (id, transfer syntax).
    pub fn context(&self, abstract_syntax: &str) -> Option<(u8, String)> {
        self.assoc
            .as_ref()?
            .presentation_contexts()
            .iter()
            .find(|c| {
                c.abstract_syntax == abstract_syntax
                    && c.reason == dicom_ul::pdu::PresentationContextResultReason::Acceptance
            })
            .map(|c| (c.id, c.transfer_syntax.clone()))
    }

    fn send_message(&mut self, ctx: u8, command: &Command, data: Option<&[u8]>) {
        let max = self.assoc().acceptor_max_pdu_length().clamp(1024, 1 << 20) as usize - 6;
        let max = max & !1;
        let cmd = command.encode();
        for (bytes, ty) in [
            (Some(&cmd[..]), PDataValueType::Command),
            (data, PDataValueType::Data),
        ] {
            let Some(bytes) = bytes else { continue };
            let chunks: Vec<&[u8]> = if bytes.is_empty() {
                vec![&[][..]]
            } else {
                bytes.chunks(max).collect()
            };
            let n = chunks.len();
            for (i, c) in chunks.into_iter().enumerate() {
                let pdu = Pdu::PData {
                    data: vec![PDataValue {
                        presentation_context_id: ctx,
                        value_type: ty.clone(),
                        is_last: i + 1 == n,
                        data: c.to_vec(),
                    }],
                };
                self.assoc().send(&pdu).expect("send");
            }
        }
    }

    /// Receives one complete message.
    fn receive_message(&mut self) -> (u8, Command, Option<Vec<u8>>) {
        let mut cmd_bytes = Vec::new();
        let mut data_bytes = Vec::new();
        let mut command: Option<Command> = None;
        loop {
            let pdu = self.assoc().receive().expect("receive");
            let Pdu::PData { data } = pdu else {
                panic!("unexpected PDU {pdu:?}")
            };
            for pdv in data {
                let ctx = pdv.presentation_context_id;
                match pdv.value_type {
                    PDataValueType::Command => {
                        cmd_bytes.extend_from_slice(&pdv.data);
                        if pdv.is_last {
                            let c = Command::decode(&cmd_bytes).expect("command");
                            if !c.has_data_set {
                                return (ctx, c, None);
                            }
                            command = Some(c);
                        }
                    }
                    PDataValueType::Data => {
                        data_bytes.extend_from_slice(&pdv.data);
                        if pdv.is_last {
                            return (ctx, command.expect("command before data"), Some(data_bytes));
                        }
                    }
                }
            }
        }
    }

    /// Sends a request on the context of `abstract_syntax` and waits for its response,
    /// answering N-EVENT-REPORTs that arrive meanwhile.
    pub fn request(
        &mut self,
        abstract_syntax: &str,
        mut command: Command,
        data: Option<&InMemDicomObject>,
    ) -> Reply {
        let (ctx, ts) = self
            .context(abstract_syntax)
            .unwrap_or_else(|| panic!("context {abstract_syntax} not accepted"));
        let id = self.next_id;
        self.next_id += 1;
        command.message_id = Some(id);
        command.has_data_set = data.is_some();
        let bytes = data.map(|d| dataset::encode(d, &ts).expect("encode"));
        self.send_message(ctx, &command, bytes.as_deref());
        self.send_raw_and_wait(id, &ts)
    }

    /// Sends a request whose data set bytes are given raw (for malformed input tests).
    pub fn request_raw(
        &mut self,
        abstract_syntax: &str,
        mut command: Command,
        data: &[u8],
    ) -> Reply {
        let (ctx, ts) = self.context(abstract_syntax).expect("context");
        let id = self.next_id;
        self.next_id += 1;
        command.message_id = Some(id);
        command.has_data_set = true;
        self.send_message(ctx, &command, Some(data));
        self.send_raw_and_wait(id, &ts)
    }

    fn send_raw_and_wait(&mut self, id: u16, ts: &str) -> Reply {
        loop {
            let (ctx, c, data) = self.receive_message();
            let data = data.map(|d| dataset::decode(&d, ts).expect("decode response data set"));
            if c.command_field == cf::N_EVENT_REPORT_RQ {
                self.answer_event(ctx, &c);
                self.events.push(c);
                self.event_data.push(data);
                continue;
            }
            assert_eq!(
                c.message_id_being_responded_to,
                Some(id),
                "response to another message"
            );
            return Reply { command: c, data };
        }
    }

    fn answer_event(&mut self, ctx: u8, c: &Command) {
        let rsp = Command {
            command_field: cf::N_EVENT_REPORT_RSP,
            message_id_being_responded_to: c.message_id,
            affected_sop_class_uid: c.affected_sop_class_uid.clone(),
            affected_sop_instance_uid: c.affected_sop_instance_uid.clone(),
            event_type_id: c.event_type_id,
            status: Some(0),
            ..Default::default()
        };
        self.send_message(ctx, &rsp, None);
    }

    /// Waits for N-EVENT-REPORTs until `n` have arrived in total.
    pub fn wait_events(&mut self, n: usize) {
        while self.events.len() < n {
            let (ctx, c, data) = self.receive_message();
            assert_eq!(
                c.command_field,
                cf::N_EVENT_REPORT_RQ,
                "expected an event, got {c}"
            );
            let ts = self
                .assoc
                .as_ref()
                .unwrap()
                .presentation_contexts()
                .iter()
                .find(|p| p.id == ctx)
                .unwrap()
                .transfer_syntax
                .clone();
            self.answer_event(ctx, &c);
            self.events.push(c);
            self.event_data
                .push(data.map(|d| dataset::decode(&d, &ts).unwrap()));
        }
    }

    pub fn echo(&mut self) -> u16 {
        self.request(
            "1.2.840.10008.1.1",
            Command {
                command_field: cf::C_ECHO_RQ,
                affected_sop_class_uid: Some("1.2.840.10008.1.1".into()),
                ..Default::default()
            },
            None,
        )
        .status()
    }

    pub fn n_create(
        &mut self,
        meta: &str,
        class: &str,
        instance: Option<&str>,
        data: &InMemDicomObject,
    ) -> Reply {
        self.request(
            meta,
            Command {
                command_field: cf::N_CREATE_RQ,
                affected_sop_class_uid: Some(class.into()),
                affected_sop_instance_uid: instance.map(String::from),
                ..Default::default()
            },
            Some(data),
        )
    }

    pub fn n_set(
        &mut self,
        meta: &str,
        class: &str,
        instance: &str,
        data: &InMemDicomObject,
    ) -> Reply {
        self.request(
            meta,
            Command {
                command_field: cf::N_SET_RQ,
                requested_sop_class_uid: Some(class.into()),
                requested_sop_instance_uid: Some(instance.into()),
                ..Default::default()
            },
            Some(data),
        )
    }

    pub fn n_action(&mut self, meta: &str, class: &str, instance: &str) -> Reply {
        self.request(
            meta,
            Command {
                command_field: cf::N_ACTION_RQ,
                requested_sop_class_uid: Some(class.into()),
                requested_sop_instance_uid: Some(instance.into()),
                action_type_id: Some(1),
                ..Default::default()
            },
            None,
        )
    }

    pub fn n_get(&mut self, meta: &str, class: &str, instance: &str, attributes: &[u32]) -> Reply {
        self.request(
            meta,
            Command {
                command_field: cf::N_GET_RQ,
                requested_sop_class_uid: Some(class.into()),
                requested_sop_instance_uid: Some(instance.into()),
                attribute_identifier_list: attributes.to_vec(),
                ..Default::default()
            },
            None,
        )
    }

    pub fn n_delete(&mut self, meta: &str, class: &str, instance: &str) -> Reply {
        self.request(
            meta,
            Command {
                command_field: cf::N_DELETE_RQ,
                requested_sop_class_uid: Some(class.into()),
                requested_sop_instance_uid: Some(instance.into()),
                ..Default::default()
            },
            None,
        )
    }

    pub fn release(mut self) {
        if let Some(a) = self.assoc.take() {
            a.release().expect("release");
        }
    }
}

/// Film session attributes.
pub fn film_session(copies: u32, label: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::NUMBER_OF_COPIES,
            VR::IS,
            PrimitiveValue::from(copies.to_string()),
        ),
        DataElement::new(
            tags::FILM_SESSION_LABEL,
            VR::LO,
            PrimitiveValue::from(label),
        ),
        DataElement::new(tags::MEDIUM_TYPE, VR::CS, PrimitiveValue::from("BLUE FILM")),
    ])
}

/// Film box attributes referencing `session`, plus `extra` (tag, VR, value) strings.
pub fn film_box(
    session: &str,
    format: &str,
    size: &str,
    orientation: &str,
    extra: &[(dicom_core::Tag, VR, &str)],
) -> InMemDicomObject {
    let mut obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::IMAGE_DISPLAY_FORMAT,
            VR::ST,
            PrimitiveValue::from(format),
        ),
        DataElement::new(tags::FILM_SIZE_ID, VR::CS, PrimitiveValue::from(size)),
        DataElement::new(
            tags::FILM_ORIENTATION,
            VR::CS,
            PrimitiveValue::from(orientation),
        ),
        DataElement::new(
            tags::REFERENCED_FILM_SESSION_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![reference(uids::BASIC_FILM_SESSION, session)]),
        ),
    ]);
    for (tag, vr, v) in extra {
        if *vr == VR::US {
            obj.put(DataElement::new(
                *tag,
                VR::US,
                PrimitiveValue::from(v.parse::<u16>().unwrap()),
            ));
        } else {
            obj.put(DataElement::new(*tag, *vr, PrimitiveValue::from(*v)));
        }
    }
    obj
}

pub fn reference(class: &str, instance: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(class),
        ),
        DataElement::new(
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(instance),
        ),
    ])
}

/// A grayscale image item: `bits` 8 or 12, pixels row-major.
pub fn gray_image(
    rows: u16,
    cols: u16,
    bits: u16,
    photometric: &str,
    pixels: &[u16],
) -> InMemDicomObject {
    let (allocated, high) = if bits == 8 {
        (8u16, 7u16)
    } else {
        (16, bits - 1)
    };
    let data: Vec<u8> = if bits == 8 {
        pixels.iter().map(|&v| v as u8).collect()
    } else {
        pixels.iter().flat_map(|v| v.to_le_bytes()).collect()
    };
    image_item(
        rows,
        cols,
        1,
        photometric,
        allocated,
        bits,
        high,
        data,
        None,
    )
}

/// An RGB image item, planar configuration 1 (color-by-plane) from interleaved pixels.
pub fn rgb_image(rows: u16, cols: u16, rgb: &[[u8; 3]]) -> InMemDicomObject {
    let n = rgb.len();
    let mut data = vec![0u8; n * 3];
    for (i, p) in rgb.iter().enumerate() {
        data[i] = p[0];
        data[n + i] = p[1];
        data[2 * n + i] = p[2];
    }
    image_item(rows, cols, 3, "RGB", 8, 8, 7, data, Some(1))
}

#[allow(clippy::too_many_arguments)]
pub fn image_item(
    rows: u16,
    cols: u16,
    samples: u16,
    photometric: &str,
    allocated: u16,
    stored: u16,
    high: u16,
    data: Vec<u8>,
    planar: Option<u16>,
) -> InMemDicomObject {
    let mut obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SAMPLES_PER_PIXEL,
            VR::US,
            PrimitiveValue::from(samples),
        ),
        DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from(photometric),
        ),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(rows)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(cols)),
        DataElement::new(
            tags::BITS_ALLOCATED,
            VR::US,
            PrimitiveValue::from(allocated),
        ),
        DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(stored)),
        DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(high)),
        DataElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(0u16),
        ),
        DataElement::new(
            tags::PIXEL_DATA,
            if allocated == 8 { VR::OB } else { VR::OW },
            PrimitiveValue::from(data),
        ),
    ]);
    if let Some(p) = planar {
        obj.put(DataElement::new(
            tags::PLANAR_CONFIGURATION,
            VR::US,
            PrimitiveValue::from(p),
        ));
    }
    obj
}

/// The image box N-SET data set holding `image` at `position`.
pub fn image_box(
    position: u16,
    image: InMemDicomObject,
    color: bool,
    extra: &[(dicom_core::Tag, VR, &str)],
) -> InMemDicomObject {
    let seq = if color {
        tags::BASIC_COLOR_IMAGE_SEQUENCE
    } else {
        tags::BASIC_GRAYSCALE_IMAGE_SEQUENCE
    };
    let mut obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::IMAGE_BOX_POSITION,
            VR::US,
            PrimitiveValue::from(position),
        ),
        DataElement::new(seq, VR::SQ, DataSetSequence::from(vec![image])),
    ]);
    for (tag, vr, v) in extra {
        obj.put(DataElement::new(*tag, *vr, PrimitiveValue::from(*v)));
    }
    obj
}

/// UIDs of a reference sequence in a response.
pub fn referenced_uids(data: &InMemDicomObject, seq: dicom_core::Tag) -> Vec<String> {
    data.get(seq)
        .and_then(|e| e.items())
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    i.element(tags::REFERENCED_SOP_INSTANCE_UID)
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .trim_end_matches('\0')
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A whole film printed over one association: returns the N-ACTION reply.
pub struct FilmSpec<'a> {
    pub meta: &'a str,
    pub format: &'a str,
    pub size: &'a str,
    pub orientation: &'a str,
    pub film_box_extra: Vec<(dicom_core::Tag, VR, &'a str)>,
    /// One image per box, in position order; `None` leaves the box empty.
    pub images: Vec<Option<InMemDicomObject>>,
    pub image_box_extra: Vec<(dicom_core::Tag, VR, &'a str)>,
    pub session_print: bool,
}

impl<'a> FilmSpec<'a> {
    pub fn gray(format: &'a str, images: Vec<Option<InMemDicomObject>>) -> Self {
        FilmSpec {
            meta: GRAY_META,
            format,
            size: "8INX10IN",
            orientation: "PORTRAIT",
            film_box_extra: vec![],
            images,
            image_box_extra: vec![],
            session_print: false,
        }
    }
}

/// Prints `spec` on an open association; returns (N-ACTION status, film box response data).
pub fn print_film(scu: &mut Scu, spec: &FilmSpec) -> (u16, InMemDicomObject) {
    let color = spec.meta == COLOR_META;
    let session_uid = format!("1.2.826.0.1.3680043.10.1.{}", rand_suffix());
    let r = scu.n_create(
        spec.meta,
        uids::BASIC_FILM_SESSION,
        Some(&session_uid),
        &film_session(1, "test film"),
    );
    assert_eq!(r.status(), 0, "film session N-CREATE: {:?}", r.command);
    let fb = scu.n_create(
        spec.meta,
        uids::BASIC_FILM_BOX,
        None,
        &film_box(
            &session_uid,
            spec.format,
            spec.size,
            spec.orientation,
            &spec.film_box_extra,
        ),
    );
    assert_eq!(fb.status(), 0, "film box N-CREATE: {:?}", fb.command);
    let fb_uid = fb
        .command
        .affected_sop_instance_uid
        .clone()
        .expect("SCP assigns the film box UID");
    let data = fb.data.expect("film box N-CREATE response data set");
    let boxes = referenced_uids(&data, tags::REFERENCED_IMAGE_BOX_SEQUENCE);
    let class = if color {
        uids::BASIC_COLOR_IMAGE_BOX
    } else {
        uids::BASIC_GRAYSCALE_IMAGE_BOX
    };
    for (i, img) in spec.images.iter().enumerate() {
        if let Some(img) = img {
            let r = scu.n_set(
                spec.meta,
                class,
                &boxes[i],
                &image_box(i as u16 + 1, img.clone(), color, &spec.image_box_extra),
            );
            assert_eq!(r.status(), 0, "image box {} N-SET: {:?}", i + 1, r.command);
        }
    }
    let action = if spec.session_print {
        scu.n_action(spec.meta, uids::BASIC_FILM_SESSION, &session_uid)
    } else {
        scu.n_action(spec.meta, uids::BASIC_FILM_BOX, &fb_uid)
    };
    let status = action.status();
    let r = scu.n_delete(spec.meta, uids::BASIC_FILM_SESSION, &session_uid);
    assert_eq!(r.status(), 0);
    (status, data)
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    t.wrapping_add(N.fetch_add(1, Ordering::Relaxed)) % 1_000_000_000_000
}
