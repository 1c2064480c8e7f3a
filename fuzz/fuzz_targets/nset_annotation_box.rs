//! Basic Annotation Box N-SET (PS3.4 H.4.5): the input is the data set, after one
//! selector byte (bit 0: Explicit VR LE; bits 1-3: the Annotation Display Format of the
//! film box, among the embedded ones; bits 4-7: which annotation box).
#![no_main]

use filmd::net::dimse::command_field;
use filmd::print::uids;
use filmd_fuzz::{Association, annotation_format_ids, transfer_syntax};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: filmd_fuzz::CappedAlloc = filmd_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let formats = annotation_format_ids();
    let format = &formats[usize::from(selector >> 1 & 7) % formats.len()];
    let mut a = Association::open(false, transfer_syntax(selector), None);
    let rsp = a.create_film_box(a.film_box_data("STANDARD\\1,1", Some(format)));
    assert_eq!(rsp.status, 0, "film box N-CREATE: {:?}", rsp.error_comment);
    let n = a.annotation_boxes.len();
    assert!(n > 0, "format {format} made no annotation box");
    let uid = a.annotation_boxes[usize::from(selector >> 4) % n].clone();
    let _ = a.request_bytes(
        command_field::N_SET_RQ,
        uids::BASIC_ANNOTATION_BOX,
        Some(uid),
        bytes,
    );
});
