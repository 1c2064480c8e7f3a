//! The SCU's association over plain TCP or DICOM TLS (PS3.15 B.9, the BCP 195 profile):
//! dicom-ul's client association is generic over its stream, so the two kinds are two
//! types; [`Link`] gives the SCU one.

use dicom_ul::association::Error as UlError;
use dicom_ul::association::client::{ClientAssociation, TlsStream};
use dicom_ul::pdu::{Pdu, PresentationContextNegotiated};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// How to reach a TLS listener: the client configuration (see
/// [`crate::net::tls::client_config`]) and the name the server's certificate must carry,
/// a DNS name or an IP address.
#[derive(Debug, Clone)]
pub struct ScuTls {
    pub config: Arc<rustls::ClientConfig>,
    pub server_name: String,
}

/// Bytes that travel the association, decrypted when it runs over TLS.
pub trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// An established association, plain or over TLS.
pub enum Link {
    Tcp(ClientAssociation<TcpStream>),
    Tls(Box<ClientAssociation<TlsStream>>),
}

/// Runs the same expression on either kind of association.
macro_rules! each {
    ($link:expr, $a:ident => $e:expr) => {
        match $link {
            Link::Tcp($a) => $e,
            Link::Tls($a) => $e,
        }
    };
}

impl Link {
    pub fn presentation_contexts(&self) -> &[PresentationContextNegotiated] {
        each!(self, a => a.presentation_contexts())
    }

    /// The acceptor's maximum PDU length (PS3.8 D.1; 0 is no limit).
    pub fn acceptor_max_pdu_length(&self) -> u32 {
        each!(self, a => a.acceptor_max_pdu_length())
    }

    pub fn send(&mut self, pdu: &Pdu) -> Result<(), UlError> {
        each!(self, a => a.send(pdu))
    }

    pub fn receive(&mut self) -> Result<Pdu, UlError> {
        each!(self, a => a.receive())
    }

    /// A-RELEASE (PS3.8 7.2).
    pub fn release(self) -> Result<(), UlError> {
        each!(self, a => a.release())
    }

    /// A-ABORT (PS3.8 7.3).
    pub fn abort(self) -> Result<(), UlError> {
        each!(self, a => a.abort())
    }

    /// The TCP socket underneath (under TLS for a TLS link): for its timeouts.
    pub fn socket(&mut self) -> &mut TcpStream {
        match self {
            Link::Tcp(a) => a.inner_stream(),
            Link::Tls(a) => &mut a.inner_stream().sock,
        }
    }

    /// The association's byte stream, for tests that write raw PDUs.
    pub fn inner_stream(&mut self) -> &mut dyn Stream {
        match self {
            Link::Tcp(a) => a.inner_stream(),
            Link::Tls(a) => a.inner_stream(),
        }
    }

    /// "TCP", or the TLS version and suite negotiated.
    pub fn channel(&mut self) -> String {
        match self {
            Link::Tcp(_) => "TCP".into(),
            Link::Tls(a) => {
                let conn = &a.inner_stream().conn;
                format!(
                    "{} {}",
                    conn.protocol_version()
                        .map(|v| format!("{v:?}"))
                        .unwrap_or_default(),
                    conn.negotiated_cipher_suite()
                        .map(|s| format!("{:?}", s.suite()))
                        .unwrap_or_default()
                )
            }
        }
    }
}
