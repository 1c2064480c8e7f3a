//! DICOM over TLS (PS3.15 B.9, the BCP 195 TLS Secure Transport Connection Profile):
//! TLS 1.2 and 1.3 only (RFC 8996 retires 1.0 and 1.1), and of TLS 1.2 only the ECDHE
//! suites with AEAD ciphers that RFC 9325 section 4.2 recommends. rustls implements
//! nothing older or weaker, so a TLS 1.1 client, an SSL 3 client or a client offering only
//! CBC or RSA key exchange suites fails the handshake.
//!
//! When a client CA is configured the client's certificate is verified against it (chain,
//! validity period, key usage); with `require_client_cert` a client without one is refused
//! (PS3.15 B.1: node authentication by both peers).

use super::server::{ReadHalf, WriteHalf};
use rustls::crypto::CryptoProvider;
use rustls::crypto::aws_lc_rs::{self as provider, cipher_suite as suite};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// What a listener speaks.
#[derive(Clone)]
pub enum Transport {
    Plain,
    Tls(TlsAcceptor),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Plain => "Plain",
            Transport::Tls(_) => "Tls",
        })
    }
}

/// How an association's connection is protected, for logs and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    Plain,
    Tls {
        /// "TLSv1_3", "TLSv1_2".
        version: String,
        /// The negotiated cipher suite's IANA name.
        suite: String,
        /// The client presented a certificate, verified against `client_ca`.
        client_certificate: bool,
    },
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Channel::Plain => f.write_str("TCP"),
            Channel::Tls {
                version,
                suite,
                client_certificate,
            } => write!(
                f,
                "{version} {suite}{}",
                if *client_certificate {
                    ", client certificate verified"
                } else {
                    ""
                }
            ),
        }
    }
}

/// The suites of RFC 9325 section 4.2 (TLS 1.2) and every TLS 1.3 suite, strongest first.
static BCP195_SUITES: &[rustls::SupportedCipherSuite] = &[
    suite::TLS13_AES_256_GCM_SHA384,
    suite::TLS13_AES_128_GCM_SHA256,
    suite::TLS13_CHACHA20_POLY1305_SHA256,
    suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// The crypto provider restricted to BCP 195's suites.
pub fn bcp195_provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: BCP195_SUITES.to_vec(),
        ..provider::default_provider()
    })
}

/// The `[tls]` files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server's certificate, then its chain.
    pub cert: PathBuf,
    /// PEM: its private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM: the CAs client certificates are verified against.
    pub client_ca: Option<PathBuf>,
    /// Refuse clients without a certificate (needs `client_ca`).
    pub require_client_cert: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("require_client_cert needs client_ca")]
    RequireWithoutCa,
    #[error("{0}")]
    Rustls(String),
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let err = |message: String| TlsSetupError::File {
        path: path.to_path_buf(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no PEM certificate in the file".into()));
    }
    Ok(certs)
}

/// Builds the server's TLS configuration from the `[tls]` files.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let provider = bcp195_provider();
    let certs = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsSetupError::File {
        path: files.key.clone(),
        message: e.to_string(),
    })?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    let builder = match &files.client_ca {
        None if files.require_client_cert => return Err(TlsSetupError::RequireWithoutCa),
        None => builder.with_no_client_auth(),
        Some(path) => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots(path)?), provider);
            let verifier = if files.require_client_cert {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| TlsSetupError::Rustls(e.to_string()))?,
            )
        }
    };
    let config = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsSetupError::File {
            path: files.key.clone(),
            message: format!("does not match the certificate or is unusable: {e}"),
        })?;
    Ok(Arc::new(config))
}

/// What a TLS client (filmd's own SCU, later the PACS output) trusts and shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTlsFiles {
    /// PEM: the CAs the server's certificate is verified against.
    pub ca: PathBuf,
    /// PEM: the client's certificate (and chain) and its key, for servers that ask for
    /// one (PS3.15 B.1: both nodes authenticate); `None` connects without one.
    pub identity: Option<(PathBuf, PathBuf)>,
}

fn roots(path: &Path) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path)? {
        roots.add(cert).map_err(|e| TlsSetupError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    Ok(roots)
}

/// Builds a client's TLS configuration: the same BCP 195 suites and versions as the
/// server, the server verified against `ca` (chain, validity, and its name or IP address
/// against the subject alternative names).
pub fn client_config(files: &ClientTlsFiles) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let builder = ClientConfig::builder_with_provider(bcp195_provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?
        .with_root_certificates(roots(&files.ca)?);
    let config = match &files.identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let certs = certificates(cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsSetupError::File {
                path: key.clone(),
                message: e.to_string(),
            })?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| TlsSetupError::File {
                    path: cert.clone(),
                    message: format!("unusable with its key: {e}"),
                })?
        }
    };
    Ok(Arc::new(config))
}

/// The acceptor a TLS listener uses.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsSetupError> {
    server_config(files).map(TlsAcceptor::from)
}

/// PDU type of A-ASSOCIATE-RQ (PS3.8 9.3.2).
const A_ASSOCIATE_RQ: u8 = 0x01;

/// Opens a connection: the TLS handshake on a TLS listener, nothing on a plain one.
pub async fn open(
    stream: TcpStream,
    transport: &Transport,
) -> std::io::Result<(ReadHalf, WriteHalf, Channel)> {
    match transport {
        Transport::Plain => {
            let (r, w) = stream.into_split();
            Ok((Box::new(r), Box::new(w), Channel::Plain))
        }
        Transport::Tls(acceptor) => {
            // A TLS record starts with 0x16 (handshake); an A-ASSOCIATE-RQ PDU with 0x01
            // (PS3.8 9.3.2): name the usual mistake, a peer not configured for TLS.
            let mut first = [0u8; 1];
            if stream.peek(&mut first).await? == 1 && first[0] == A_ASSOCIATE_RQ {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "an A-ASSOCIATE-RQ in clear: plain DICOM sent to the TLS port",
                ));
            }
            let tls = acceptor.accept(stream).await?;
            let (_, session) = tls.get_ref();
            let channel = Channel::Tls {
                version: session
                    .protocol_version()
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_default(),
                suite: session
                    .negotiated_cipher_suite()
                    .map(|s| format!("{:?}", s.suite()))
                    .unwrap_or_default(),
                client_certificate: session.peer_certificates().is_some_and(|c| !c.is_empty()),
            };
            let (r, w) = tokio::io::split(tls);
            Ok((Box::new(r), Box::new(w), channel))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tls12_aead_ecdhe_and_tls13_suites() {
        let p = bcp195_provider();
        for s in &p.cipher_suites {
            let name = format!("{:?}", s.suite());
            assert!(
                name.starts_with("TLS13_")
                    || (name.starts_with("TLS_ECDHE_")
                        && (name.contains("_GCM_") || name.contains("CHACHA20"))),
                "{name}"
            );
        }
        assert_eq!(p.cipher_suites.len(), 9);
    }

    #[test]
    fn missing_files_and_require_without_ca_are_refused() {
        let files = TlsFiles {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
            client_ca: None,
            require_client_cert: false,
        };
        assert!(matches!(
            server_config(&files),
            Err(TlsSetupError::File { .. })
        ));
    }
}
