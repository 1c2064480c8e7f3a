//! Basic Film Box N-SET and N-CREATE (PS3.4 H.4.2): the input is the data set, after one
//! selector byte (bit 0: Explicit VR LE; bit 1: color film session; bit 2: the data set
//! is an N-CREATE's, else an N-SET's of a film box created with STANDARD\2,2). For an
//! N-CREATE, the film session gets the UID the data set refers to, as a real SCU's
//! session would have.
#![no_main]

use filmd::net::dimse::command_field;
use filmd::print::uids;
use filmd_fuzz::{Association, session_uid_in, succeeded, transfer_syntax};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: filmd_fuzz::CappedAlloc = filmd_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let color = selector & 2 != 0;
    let ts = transfer_syntax(selector);
    if selector & 4 != 0 {
        let mut a = Association::open(color, ts, session_uid_in(bytes, ts));
        let rsp = a.request_bytes(
            command_field::N_CREATE_RQ,
            uids::BASIC_FILM_BOX,
            None,
            bytes,
        );
        if let Some(rsp) = rsp
            && succeeded(rsp.status)
        {
            assert!(
                rsp.data.is_some(),
                "a film box created without its data set"
            );
        }
    } else {
        let mut a = Association::open(color, ts, None);
        let rsp = a.create_film_box(a.film_box_data("STANDARD\\2,2", None));
        assert_eq!(rsp.status, 0, "film box N-CREATE: {:?}", rsp.error_comment);
        let uid = a.film_box.clone();
        let _ = a.request_bytes(command_field::N_SET_RQ, uids::BASIC_FILM_BOX, uid, bytes);
    }
});
