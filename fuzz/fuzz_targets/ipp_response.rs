//! IPP responses (RFC 8010 §3.1, RFC 8011): the body of an HTTP response from a printer,
//! decoded as filmd's client decodes it (`backend::ipp::decode_response`), then read as
//! each operation reads its answer: Get-Printer-Attributes, Print-Job, Get-Job-Attributes,
//! Get-Jobs. The request-id filmd expects is the one in the input (a mismatch is refused
//! before anything else, and would hide the rest from the fuzzer).
#![no_main]

use filmd::backend::ipp::{choose_format, decode_response};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: filmd_fuzz::CappedAlloc = filmd_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let request_id = match data.get(4..8) {
        Some(b) => i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        None => 1,
    };
    let Ok(rsp) = decode_response(data.to_vec(), request_id) else {
        return;
    };
    let _ = rsp.summary();
    if let Ok(printer) = rsp.printer_snapshot() {
        let _ = choose_format(&printer, false, 300);
        let _ = choose_format(&printer, true, 600);
    }
    let _ = rsp.job_id();
    let _ = rsp.job_snapshot();
    let _ = rsp.jobs();
});
