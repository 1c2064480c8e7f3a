//! PDU framing (PS3.8 section 9.3): reading whole PDUs from the socket with a bound checked
//! before any allocation, our own P-DATA-TF codec, and dicom-ul's codec for the rest.
//!
//! dicom-ul's own receive loop buffers whatever length a PDU header declares when
//! `strict(false)` is set, so a peer declaring 2 GiB could make us buffer 2 GiB. We frame
//! PDUs ourselves: the 6-byte header is read, its type and length are checked against our
//! limits, and only then is the body read. A-ASSOCIATE-RQ and the small control PDUs are
//! decoded by `dicom_ul::pdu::read_pdu`; P-DATA-TF, the only large PDU, is split into PDVs
//! here without an extra copy of the PDU.

use dicom_ul::pdu::{AbortRQServiceProviderReason, AbortRQSource, Pdu, write_pdu};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Size of a PDU header: type, reserved, 4-byte length.
pub const PDU_HEADER_LEN: usize = 6;
/// Size of a PDV item header: 4-byte length, presentation context ID, message control header.
pub const PDV_HEADER_LEN: usize = 6;

/// PDU types (PS3.8 Table 9-11).
pub mod pdu_type {
    pub const A_ASSOCIATE_RQ: u8 = 0x01;
    pub const A_ASSOCIATE_AC: u8 = 0x02;
    pub const A_ASSOCIATE_RJ: u8 = 0x03;
    pub const P_DATA_TF: u8 = 0x04;
    pub const A_RELEASE_RQ: u8 = 0x05;
    pub const A_RELEASE_RP: u8 = 0x06;
    pub const A_ABORT: u8 = 0x07;
}

/// One presentation data value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdv {
    pub context_id: u8,
    pub is_command: bool,
    pub is_last: bool,
    pub data: Vec<u8>,
}

/// A PDU as filmd's association layer sees it.
#[derive(Debug)]
pub enum Frame {
    /// A decoded non-P-DATA PDU.
    Control(Pdu),
    /// The PDVs of a P-DATA-TF PDU.
    Data(Vec<Pdv>),
}

/// Why a PDU could not be read. Every variant ends the association; all but `Closed` and
/// `Io` are answered with an A-ABORT carrying `abort_reason()`.
#[derive(Debug, thiserror::Error)]
pub enum PduError {
    #[error("connection closed by peer")]
    Closed,
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("unrecognized PDU type 0x{0:02X}")]
    UnknownType(u8),
    #[error("PDU of type 0x{pdu_type:02X} declares {length} bytes, above the limit of {limit}")]
    TooLarge {
        pdu_type: u8,
        length: u32,
        limit: u32,
    },
    #[error("malformed PDU: {0}")]
    Malformed(String),
}

impl PduError {
    /// The A-ABORT reason for this error (PS3.8 Table 9-26), or `None` when the transport
    /// is already gone.
    pub fn abort_reason(&self) -> Option<AbortRQServiceProviderReason> {
        match self {
            PduError::Closed | PduError::Io(_) => None,
            PduError::UnknownType(_) => Some(AbortRQServiceProviderReason::UnrecognizedPdu),
            PduError::TooLarge { .. } => Some(AbortRQServiceProviderReason::InvalidPduParameter),
            PduError::Malformed(_) => Some(AbortRQServiceProviderReason::InvalidPduParameter),
        }
    }
}

/// What is set aside for a PDU body before its bytes arrive.
const BODY_PREALLOCATION: usize = 256 * 1024;

/// Reads one PDU. `limit` bounds the body length of any PDU before it is allocated.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    limit: u32,
) -> Result<Frame, PduError> {
    let mut header = [0u8; PDU_HEADER_LEN];
    match reader.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(PduError::Closed),
        Err(e) => return Err(e.into()),
    }
    let pdu_type = header[0];
    let length = u32::from_be_bytes([header[2], header[3], header[4], header[5]]);
    if !(pdu_type::A_ASSOCIATE_RQ..=pdu_type::A_ABORT).contains(&pdu_type) {
        return Err(PduError::UnknownType(pdu_type));
    }
    // Control PDUs are small: A-ASSOCIATE-RQ with a hundred contexts is a few KiB.
    let type_limit = if pdu_type == pdu_type::P_DATA_TF {
        limit
    } else {
        limit.min(1 << 20)
    };
    if length > type_limit {
        return Err(PduError::TooLarge {
            pdu_type,
            length,
            limit: type_limit,
        });
    }
    // The buffer grows with the bytes that arrive, not with the declared length: six
    // bytes of header cannot make filmd set aside the whole cap.
    let mut body = Vec::with_capacity((length as usize).min(BODY_PREALLOCATION));
    (&mut *reader)
        .take(u64::from(length))
        .read_to_end(&mut body)
        .await?;
    if body.len() < length as usize {
        return Err(PduError::Malformed(format!(
            "connection closed inside a PDU of type 0x{pdu_type:02X} declaring {length} bytes"
        )));
    }
    if pdu_type == pdu_type::P_DATA_TF {
        return parse_pdata(body).map(Frame::Data);
    }
    let mut whole = Vec::with_capacity(PDU_HEADER_LEN + body.len());
    whole.extend_from_slice(&header);
    whole.extend_from_slice(&body);
    decode_control(&whole).map(Frame::Control)
}

/// Decodes a control PDU with dicom-ul. Its reader indexes buffers directly in places, so
/// a panic on hostile input is contained here and reported as a malformed PDU.
fn decode_control(whole: &[u8]) -> Result<Pdu, PduError> {
    let result = std::panic::catch_unwind(|| {
        dicom_ul::pdu::read_pdu(whole, dicom_ul::pdu::MAXIMUM_PDU_SIZE, false)
    });
    match result {
        Ok(Ok(Some(pdu))) => Ok(pdu),
        Ok(Ok(None)) => Err(PduError::Malformed("PDU shorter than its fields".into())),
        Ok(Err(e)) => Err(PduError::Malformed(e.to_string())),
        Err(_) => Err(PduError::Malformed("PDU decoder rejected the input".into())),
    }
}

/// Splits a P-DATA-TF body into PDVs (PS3.8 9.3.5, Annex E).
pub fn parse_pdata(body: Vec<u8>) -> Result<Vec<Pdv>, PduError> {
    let mut pdvs = Vec::new();
    let mut at = 0usize;
    if body.is_empty() {
        return Err(PduError::Malformed("P-DATA-TF without any PDV".into()));
    }
    while at < body.len() {
        if body.len() - at < PDV_HEADER_LEN {
            return Err(PduError::Malformed("truncated PDV header".into()));
        }
        let len = u32::from_be_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]) as usize;
        if len < 2 || len > body.len() - at - 4 {
            return Err(PduError::Malformed(format!(
                "PDV length {len} does not fit the {} bytes left in the PDU",
                body.len() - at - 4
            )));
        }
        let context_id = body[at + 4];
        let control = body[at + 5];
        if control & 0xFC != 0 {
            return Err(PduError::Malformed(format!(
                "PDV message control header 0x{control:02X}"
            )));
        }
        pdvs.push(Pdv {
            context_id,
            is_command: control & 0x01 != 0,
            is_last: control & 0x02 != 0,
            data: body[at + 6..at + 4 + len].to_vec(),
        });
        at += 4 + len;
    }
    Ok(pdvs)
}

/// Encodes one P-DATA-TF PDU holding a single PDV.
pub fn encode_pdata(
    context_id: u8,
    is_command: bool,
    is_last: bool,
    data: &[u8],
    out: &mut Vec<u8>,
) {
    let pdv_len = (data.len() + 2) as u32;
    let pdu_len = pdv_len + 4;
    out.push(pdu_type::P_DATA_TF);
    out.push(0);
    out.extend_from_slice(&pdu_len.to_be_bytes());
    out.extend_from_slice(&pdv_len.to_be_bytes());
    out.push(context_id);
    out.push(u8::from(is_command) | (u8::from(is_last) << 1));
    out.extend_from_slice(data);
}

/// Writes a message (command or data set bytes) as PDVs no larger than the peer accepts.
/// `peer_max_pdu` is the peer's Maximum Length (0 = unlimited, PS3.8 D.1).
pub async fn write_message<W: AsyncWrite + Unpin>(
    writer: &mut W,
    context_id: u8,
    is_command: bool,
    data: &[u8],
    peer_max_pdu: u32,
) -> std::io::Result<()> {
    // The peer's limit counts the PDV items, i.e. the PDU body; keep fragments even.
    let max_fragment = if peer_max_pdu == 0 {
        1 << 20
    } else {
        (peer_max_pdu as usize)
            .saturating_sub(PDV_HEADER_LEN)
            .max(2)
            & !1
    };
    let mut buf =
        Vec::with_capacity(max_fragment.min(data.len()) + PDU_HEADER_LEN + PDV_HEADER_LEN);
    let mut chunks = data.chunks(max_fragment).peekable();
    if data.is_empty() {
        encode_pdata(context_id, is_command, true, &[], &mut buf);
        return writer.write_all(&buf).await;
    }
    while let Some(chunk) = chunks.next() {
        buf.clear();
        encode_pdata(
            context_id,
            is_command,
            chunks.peek().is_none(),
            chunk,
            &mut buf,
        );
        writer.write_all(&buf).await?;
    }
    Ok(())
}

/// Encodes and writes a control PDU (A-ASSOCIATE-AC/RJ, A-RELEASE-RQ/RP, A-ABORT).
pub async fn write_control<W: AsyncWrite + Unpin>(
    writer: &mut W,
    pdu: &Pdu,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    write_pdu(&mut buf, pdu).map_err(|e| std::io::Error::other(e.to_string()))?;
    writer.write_all(&buf).await?;
    writer.flush().await
}

/// An A-ABORT from the service provider with the given reason.
pub fn provider_abort(reason: AbortRQServiceProviderReason) -> Pdu {
    Pdu::AbortRQ {
        source: AbortRQSource::ServiceProvider(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdata(pdvs: &[(u8, u8, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (ctx, ctl, data) in pdvs {
            body.extend_from_slice(&((data.len() + 2) as u32).to_be_bytes());
            body.push(*ctx);
            body.push(*ctl);
            body.extend_from_slice(data);
        }
        let mut pdu = vec![4, 0];
        pdu.extend_from_slice(&(body.len() as u32).to_be_bytes());
        pdu.extend_from_slice(&body);
        pdu
    }

    #[tokio::test]
    async fn reads_several_pdvs_from_one_pdu() {
        let bytes = pdata(&[(1, 0x01, b"ab"), (1, 0x03, b"cd"), (3, 0x02, b"xyz")]);
        let Frame::Data(pdvs) = read_frame(&mut &bytes[..], 1000).await.unwrap() else {
            panic!()
        };
        assert_eq!(pdvs.len(), 3);
        assert!(pdvs[0].is_command && !pdvs[0].is_last);
        assert!(pdvs[1].is_command && pdvs[1].is_last);
        assert!(!pdvs[2].is_command && pdvs[2].is_last && pdvs[2].context_id == 3);
        assert_eq!(pdvs[2].data, b"xyz");
    }

    #[tokio::test]
    async fn a_pdu_declaring_two_gib_is_refused_before_allocation() {
        let bytes = [4u8, 0, 0x80, 0, 0, 0, 1, 2, 3];
        let err = read_frame(&mut &bytes[..], 1 << 20).await.unwrap_err();
        assert!(matches!(
            err,
            PduError::TooLarge {
                length: 0x8000_0000,
                ..
            }
        ));
        assert!(err.abort_reason().is_some());
    }

    #[tokio::test]
    async fn unknown_types_truncation_and_bad_pdv_lengths_are_errors() {
        let unknown = [0x55u8, 0, 0, 0, 0, 0];
        assert!(matches!(
            read_frame(&mut &unknown[..], 1000).await,
            Err(PduError::UnknownType(0x55))
        ));
        let truncated = [4u8, 0, 0, 0, 0, 100, 0, 0];
        assert!(matches!(
            read_frame(&mut &truncated[..], 1000).await,
            Err(PduError::Malformed(_))
        ));
        let bad_pdv = [4u8, 0, 0, 0, 0, 6, 0, 0, 0, 200, 1, 3];
        assert!(matches!(
            read_frame(&mut &bad_pdv[..], 1000).await,
            Err(PduError::Malformed(_))
        ));
        let empty: [u8; 0] = [];
        assert!(matches!(
            read_frame(&mut &empty[..], 1000).await,
            Err(PduError::Closed)
        ));
        let garbage_rq = [1u8, 0, 0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef];
        assert!(matches!(
            read_frame(&mut &garbage_rq[..], 1000).await,
            Err(PduError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn write_message_fragments_to_the_peer_limit() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let mut out = Vec::new();
        write_message(&mut out, 5, false, &data, 106).await.unwrap();
        let mut reader = &out[..];
        let mut got = Vec::new();
        let mut pdus = 0;
        loop {
            let Frame::Data(pdvs) = read_frame(&mut reader, 106).await.unwrap() else {
                panic!()
            };
            pdus += 1;
            assert_eq!(pdvs.len(), 1);
            assert!(pdvs[0].data.len() <= 100 && pdvs[0].data.len() % 2 == 0);
            got.extend_from_slice(&pdvs[0].data);
            if pdvs[0].is_last {
                break;
            }
        }
        assert_eq!(got, data);
        assert_eq!(pdus, 10);
        assert!(reader.is_empty());
    }
}
