//! Basic Grayscale / Color Image Box N-SET (PS3.4 H.4.3, H.4.4): the input is the data
//! set of an N-SET, after one selector byte (bit 0: Explicit VR LE; bit 1: color film
//! session; bits 2-3: the film box's Image Display Format; bits 4-5: which image box).
//! The association is opened, the film session and film box N-CREATEd as an SCU would,
//! and the data set goes through the server's decode path into the handler.
#![no_main]

use filmd::net::dimse::command_field;
use filmd::print::uids;
use filmd_fuzz::{Association, FORMATS, transfer_syntax};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: filmd_fuzz::CappedAlloc = filmd_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let color = selector & 2 != 0;
    let mut a = Association::open(color, transfer_syntax(selector), None);
    let format = FORMATS[usize::from(selector >> 2) & 3];
    let film_box = a.film_box_data(format, None);
    let rsp = a.create_film_box(film_box);
    assert_eq!(
        rsp.status, 0,
        "film box N-CREATE {format}: {:?}",
        rsp.error_comment
    );
    let n = a.image_boxes.len();
    assert!(n > 0);
    let uid = a.image_boxes[usize::from(selector >> 4) % n].clone();
    let class = if color {
        uids::BASIC_COLOR_IMAGE_BOX
    } else {
        uids::BASIC_GRAYSCALE_IMAGE_BOX
    };
    if let Some(rsp) = a.request_bytes(command_field::N_SET_RQ, class, Some(uid.clone()), bytes) {
        // A second N-SET of the same box replaces what the first one kept.
        if rsp.status == 0 {
            let _ = a.request_bytes(command_field::N_SET_RQ, class, Some(uid), bytes);
        }
    }
});
