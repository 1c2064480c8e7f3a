//! PDU framing and A-ASSOCIATE-RQ decoding (PS3.8 9.3): the input is what a peer sends
//! on a fresh connection. Frames are read as the association reader reads them
//! (`net::pdu::read_frame` with the server's PDU cap); an A-ASSOCIATE-RQ is negotiated
//! against a policy like the print service's (`net::negotiation::negotiate`).
#![no_main]

use filmd::net::negotiation::{AcceptorPolicy, negotiate};
use filmd::net::pdu::{Frame, read_frame};
use filmd_fuzz::block_on;
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: filmd_fuzz::CappedAlloc = filmd_fuzz::CappedAlloc;

/// The server's default cap on one PDU (`server.pdu_cap`, 16 MiB): a header may make
/// the reader allocate this much, within `filmd_fuzz::MAX_ALLOCATION`.
const PDU_CAP: u32 = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let policy = AcceptorPolicy {
        called_ae_titles: vec!["FILMD".into()],
        abstract_syntaxes: vec![
            "1.2.840.10008.1.1".into(),
            "1.2.840.10008.5.1.1.9".into(),
            "1.2.840.10008.5.1.1.18".into(),
            "1.2.840.10008.5.1.1.15".into(),
        ],
        max_pdu: 16384,
    };
    let mut reader = data;
    // At most as many frames as the input has PDU headers.
    for _ in 0..=data.len() / 6 {
        match block_on(read_frame(&mut reader, PDU_CAP)) {
            Ok(Frame::Control(dicom_ul::pdu::Pdu::AssociationRQ(rq))) => {
                if let Ok(n) = negotiate(&rq, &policy) {
                    // The A-ASSOCIATE-AC goes back to the peer (an encoding error closes
                    // the connection).
                    let mut out = Vec::new();
                    let ac = dicom_ul::pdu::Pdu::AssociationAC(n.ac);
                    let _ = dicom_ul::pdu::write_pdu(&mut out, &ac);
                }
            }
            Ok(_) => {}
            Err(e) => {
                let _ = e.abort_reason();
                break;
            }
        }
    }
});
