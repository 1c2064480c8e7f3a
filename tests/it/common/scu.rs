//! The tests' Print SCU: filmd's own SCU ([`filmd::scu`], on dicom-ul's client
//! association, not filmd's upper layer) with the panicking calls tests want: a test
//! that gets an error or an unexpected status fails right there with the reason.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use filmd::net::dimse::Command;
// Each test binary uses a different part of the re-exports.
#[allow(unused_imports)]
pub use filmd::scu::{
    COLOR_META, FilmSpec, GRAY_META, Reply, film_box, film_session, gray_image, image_box,
    image_item, reference, referenced_uids, rgb_image,
};
use std::time::Duration;

/// [`filmd::scu::Scu`] whose requests panic on transport and protocol errors; the
/// fields (`assoc`, `events`, `event_data`) and `context` are reached through `Deref`.
pub struct Scu(pub filmd::scu::Scu);

impl std::ops::Deref for Scu {
    type Target = filmd::scu::Scu;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Scu {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

fn ok<T>(what: &str, r: Result<T, filmd::scu::ScuError>) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

impl Scu {
    /// Associates with the given abstract syntaxes (Verification always added).
    pub fn connect(port: u16, abstract_syntaxes: &[&str]) -> Scu {
        Self::try_connect(port, "FILMD", abstract_syntaxes).expect("association")
    }

    pub fn try_connect(port: u16, called: &str, abstract_syntaxes: &[&str]) -> Result<Scu, String> {
        let options = filmd::scu::ScuOptions {
            calling_ae: "TESTSCU".into(),
            called_ae: called.into(),
            abstract_syntaxes: abstract_syntaxes.iter().map(|s| s.to_string()).collect(),
            max_pdu: 16384,
            connect_timeout: Duration::from_secs(30),
            dimse_timeout: Duration::from_secs(30),
            tls: None,
        };
        filmd::scu::Scu::connect(("127.0.0.1", port), &options)
            .map(Scu)
            .map_err(|e| e.to_string())
    }

    /// Sends a request and waits for its response, answering N-EVENT-REPORTs meanwhile.
    pub fn request(
        &mut self,
        abstract_syntax: &str,
        command: Command,
        data: Option<&InMemDicomObject>,
    ) -> Reply {
        ok("request", self.0.request(abstract_syntax, command, data))
    }

    /// Sends a request whose data set bytes are given raw (for malformed input tests).
    pub fn request_raw(&mut self, abstract_syntax: &str, command: Command, data: &[u8]) -> Reply {
        ok(
            "request",
            self.0.request_raw(abstract_syntax, command, Some(data)),
        )
    }

    /// Waits for N-EVENT-REPORTs until `n` have arrived in total.
    pub fn wait_events(&mut self, n: usize) {
        ok("waiting for events", self.0.wait_events(n))
    }

    pub fn echo(&mut self) -> u16 {
        ok("C-ECHO", self.0.echo())
    }

    pub fn n_create(
        &mut self,
        meta: &str,
        class: &str,
        instance: Option<&str>,
        data: &InMemDicomObject,
    ) -> Reply {
        ok("N-CREATE", self.0.n_create(meta, class, instance, data))
    }

    pub fn n_set(
        &mut self,
        meta: &str,
        class: &str,
        instance: &str,
        data: &InMemDicomObject,
    ) -> Reply {
        ok("N-SET", self.0.n_set(meta, class, instance, data))
    }

    pub fn n_action(&mut self, meta: &str, class: &str, instance: &str) -> Reply {
        ok("N-ACTION", self.0.n_action(meta, class, instance))
    }

    pub fn n_get(&mut self, meta: &str, class: &str, instance: &str, attributes: &[u32]) -> Reply {
        ok("N-GET", self.0.n_get(meta, class, instance, attributes))
    }

    pub fn n_delete(&mut self, meta: &str, class: &str, instance: &str) -> Reply {
        ok("N-DELETE", self.0.n_delete(meta, class, instance))
    }

    pub fn release(self) {
        ok("release", self.0.release())
    }
}

/// Prints `spec` on an open association; returns (N-ACTION status, film box response
/// data). Every other step must answer 0x0000: an error or any other status panics.
pub fn print_film(scu: &mut Scu, spec: &FilmSpec) -> (u16, InMemDicomObject) {
    let printed = ok("print_film", filmd::scu::print_film(&mut scu.0, spec));
    assert!(
        printed.warnings.is_empty(),
        "warning statuses before or after the N-ACTION: {:x?}",
        printed.warnings
    );
    (printed.action.status(), printed.film_box)
}

/// Writes `item` (an image pixel item) as a Part 10 Secondary Capture file of SOP
/// Instance UID `uid`, in Explicit VR Little Endian.
pub fn write_secondary_capture(path: &std::path::Path, mut item: InMemDicomObject, uid: &str) {
    use dicom_object::FileMetaTableBuilder;
    let sop_class = "1.2.840.10008.5.1.4.1.1.7";
    item.put(DataElement::new(
        tags::SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::from(sop_class),
    ));
    item.put(DataElement::new(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(uid),
    ));
    let file = InMemDicomObject::with_meta(
        item,
        FileMetaTableBuilder::new()
            .transfer_syntax("1.2.840.10008.1.2.1")
            .media_storage_sop_class_uid(sop_class)
            .media_storage_sop_instance_uid(uid),
    )
    .unwrap();
    file.write_to_file(path).unwrap();
}
