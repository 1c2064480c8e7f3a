//! PDV reassembly (PS3.7 9.1, PS3.8 Annex E): the input is a sequence of PDV items as
//! they appear in P-DATA-TF bodies (4-byte length, presentation context ID, message
//! control header, fragment), fed one by one to `net::reassembly::Reassembler` with the
//! server's message cap. A length past the input is cut to what is left, so every input
//! is a PDV sequence. Completed messages with a data set are decoded as the server does.
#![no_main]

use filmd::net::dataset;
use filmd::net::pdu::Pdv;
use filmd::net::reassembly::Reassembler;
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: filmd_fuzz::CappedAlloc = filmd_fuzz::CappedAlloc;

/// Kept small so that the cap is reachable by the fuzzer's inputs.
const MAX_MESSAGE: usize = 16 * 1024;

fuzz_target!(|data: &[u8]| {
    let mut reassembler = Reassembler::new(MAX_MESSAGE);
    let mut at = 0usize;
    while data.len() - at >= 6 {
        let declared =
            u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
        let context_id = data[at + 4];
        let control = data[at + 5];
        at += 6;
        let len = declared.saturating_sub(2).min(data.len() - at);
        let pdv = Pdv {
            context_id,
            is_command: control & 1 != 0,
            is_last: control & 2 != 0,
            data: data[at..at + len].to_vec(),
        };
        at += len;
        match reassembler.feed(pdv) {
            Ok(Some(message)) => {
                assert!(message.data.as_ref().is_none_or(|d| d.len() <= MAX_MESSAGE));
                if let Some(bytes) = &message.data {
                    let ts = if message.context_id & 1 == 1 {
                        dataset::EXPLICIT_VR_LE
                    } else {
                        dataset::IMPLICIT_VR_LE
                    };
                    let _ = dataset::decode(bytes, ts);
                }
            }
            Ok(None) => {}
            Err(_) => return, // the association is aborted
        }
    }
});
