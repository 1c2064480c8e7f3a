//! Certificates for the DICOM TLS tests, made by the test itself with rcgen: a CA, a
//! server certificate for 127.0.0.1 and localhost, client certificates (a good one, an
//! expired one, and one from a CA filmd does not know).
//!
//! rcgen rather than the openssl command: the keys and validity periods are set in code
//! (openssl 3.0's `req`/`x509` cannot back-date an expired certificate without a CA
//! database), nothing outside the test binary is needed, and the files are the same on
//! every machine. Keys are RSA 2048: DCMTK 3.6.7's BCP 195 profiles offer only
//! ECDHE_RSA/DHE_RSA suites for TLS 1.2, so an ECDSA server key would limit DCMTK to TLS
//! 1.3.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, date_time_ymd,
};
use std::path::{Path, PathBuf};

/// A certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Every file the TLS tests use, in one directory.
pub struct Pki {
    /// The CA filmd trusts for client certificates and clients trust for filmd's.
    pub ca: PathBuf,
    pub server: Identity,
    /// Signed by `ca`, valid now; subject CN "modality-1".
    pub client: Identity,
    /// Signed by `ca`, expired at the end of 2021.
    pub expired: Identity,
    /// Signed by another CA ("Stranger CA"), which filmd does not trust.
    pub stranger: Identity,
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "filmd tests");
    dn.push(DnType::CommonName, common_name);
    dn
}

fn rsa_key() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA 2048 key")
}

fn make_ca(common_name: &str) -> (CertificateParams, KeyPair, String) {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = rsa_key();
    let pem = params.self_signed(&key).expect("CA certificate").pem();
    (params, key, pem)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write PEM");
    p
}

/// A leaf certificate signed by `issuer`, written as NAME.pem and NAME.key.
fn leaf(
    dir: &Path,
    name: &str,
    mut params: CertificateParams,
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, KeyPair>,
) -> Identity {
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    let key = rsa_key();
    let cert = params.signed_by(&key, issuer).expect("leaf certificate");
    Identity {
        cert: write(dir, &format!("{name}.pem"), &cert.pem()),
        key: write(dir, &format!("{name}.key"), &key.serialize_pem()),
    }
}

impl Pki {
    pub fn new() -> Pki {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let (ca_params, ca_key, ca_pem) = make_ca("filmd test CA");
        let ca = write(&dir, "ca.pem", &ca_pem);
        let issuer = Issuer::new(ca_params, ca_key);

        let mut server = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("server names");
        server.distinguished_name = dn("filmd");
        let server = leaf(
            &dir,
            "server",
            server,
            ExtendedKeyUsagePurpose::ServerAuth,
            &issuer,
        );

        let mut client = CertificateParams::default();
        client.distinguished_name = dn("modality-1");
        let client = leaf(
            &dir,
            "client",
            client,
            ExtendedKeyUsagePurpose::ClientAuth,
            &issuer,
        );

        let mut expired = CertificateParams::default();
        expired.distinguished_name = dn("modality-expired");
        expired.not_before = date_time_ymd(2020, 1, 1);
        expired.not_after = date_time_ymd(2021, 12, 31);
        let expired = leaf(
            &dir,
            "expired",
            expired,
            ExtendedKeyUsagePurpose::ClientAuth,
            &issuer,
        );

        let (other_params, other_key, other_pem) = make_ca("Stranger CA");
        write(&dir, "stranger-ca.pem", &other_pem);
        let other = Issuer::new(other_params, other_key);
        let mut stranger = CertificateParams::default();
        stranger.distinguished_name = dn("modality-stranger");
        let stranger = leaf(
            &dir,
            "stranger",
            stranger,
            ExtendedKeyUsagePurpose::ClientAuth,
            &other,
        );
        Pki {
            ca,
            server,
            client,
            expired,
            stranger,
            dir,
            _tmp: tmp,
        }
    }

    /// The `[tls]` section of filmd's configuration for these files.
    pub fn tls_section(&self, listen: &str, client_ca: bool, require: bool) -> String {
        let mut s = format!(
            "[tls]\nlisten = \"{listen}\"\ncert = \"{}\"\nkey = \"{}\"\n",
            self.server.cert.display(),
            self.server.key.display()
        );
        if client_ca {
            s += &format!("client_ca = \"{}\"\n", self.ca.display());
        }
        if require {
            s += "require_client_cert = true\n";
        }
        s
    }
}
