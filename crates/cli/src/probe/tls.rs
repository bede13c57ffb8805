//! Opportunistic TLS for STARTTLS (RFC 3207) without certificate checks.
//!
//! RFC 7435 §1 and §3: opportunistic security encrypts whenever the peer can, without
//! authenticating it, and never fails a session that would otherwise go on in cleartext. Mail
//! servers routinely present self-signed or mismatched certificates, and MX names are not
//! authenticated without DNSSEC or MTA-STS anyway (RFC 7672 §1.3), so checking the certificate
//! would turn most probes into failures while adding no confidence in the answer. The handshake
//! signature is still verified against the presented key, as TLS requires; only the chain and
//! the name go unchecked. The evidence records `tls: true`, never "verified".

use std::sync::Arc;

use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{self, WebPkiSupportedAlgorithms};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{ClientConfig, DigitallySignedStruct, Error, SignatureScheme};

use crate::Failure;

/// A connector for STARTTLS with ring and the default protocol versions (TLS 1.2 and 1.3).
pub fn connector() -> Result<TlsConnector, Failure> {
    let provider = Arc::new(crypto::ring::default_provider());
    let verifier = Arc::new(Unverified {
        algorithms: provider.signature_verification_algorithms,
    });
    let config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure(format!("setting up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Accepts any certificate; checks that the handshake was signed by its key.
#[derive(Debug)]
struct Unverified {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The name sent in SNI: the MX host's name, or its address for an address literal.
pub fn server_name(host: &str, ip: std::net::IpAddr) -> ServerName<'static> {
    ServerName::try_from(host.to_owned()).unwrap_or(ServerName::IpAddress(ip.into()))
}
