//! TLS to PostgreSQL through rustls (with ring): `prefer` and `require` encrypt without checking
//! the server's certificate, as libpq does; `verify-ca` checks it against the CA certificates of
//! `sslrootcert` (default `~/.postgresql/root.crt`, libpq's); `verify-full` also matches the host
//! name against it.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::Socket;
use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, InvalidDnsNameError, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::TlsConnector;

use super::url::{PostgresUrl, TlsMode};
use crate::token::StoreError;

/// The client side of TLS for every connection to one database.
#[derive(Clone)]
pub(super) struct Tls(Arc<ClientConfig>);

impl Tls {
    /// The TLS settings the URL asks for; a CA file that cannot be read is an error now rather
    /// than at the first connection.
    pub fn new(url: &PostgresUrl) -> Result<Tls, StoreError> {
        let provider = Arc::new(ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Database(format!("TLS: {e}")))?;
        let chain = match url.tls.verifies() {
            true => Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(trusted_roots(url)?), Arc::clone(&provider))
                    .build()
                    .map_err(|e| StoreError::Database(format!("TLS: {e}")))?,
            ),
            false => None,
        };
        let verifier = Arc::new(Verifier { chain, host_name: url.tls == TlsMode::VerifyFull, provider });
        let config = builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth();
        Ok(Tls(Arc::new(config)))
    }
}

/// The CA certificates `verify-ca` and `verify-full` trust.
fn trusted_roots(url: &PostgresUrl) -> Result<RootCertStore, StoreError> {
    let path = match &url.root_cert {
        Some(path) => path.clone(),
        None => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".postgresql/root.crt"),
    };
    let cannot = |why: String| {
        StoreError::Database(format!(
            "sslmode={} checks the server's certificate against `{}`, which {why}; name the CA's PEM file with `sslrootcert=PATH`",
            url.tls.as_str(),
            path.display()
        ))
    };
    let certificates = CertificateDer::pem_file_iter(&path)
        .map_err(|e| cannot(format!("cannot be read ({e})")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cannot(format!("does not hold PEM certificates ({e})")))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(cannot("holds no certificate".into()));
    }
    Ok(roots)
}

/// What `sslmode` checks of the server's certificate: with `chain`, that it leads to a trusted
/// CA (`verify-ca`), and with `host_name` too, that it names the host (`verify-full`); without,
/// nothing (`prefer`, `require`). The handshake's signatures are checked in every mode.
#[derive(Debug)]
struct Verifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    host_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.host_name => Ok(ServerCertVerified::assertion()),
            verified => verified,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signed: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, signed, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signed: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, signed, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

impl MakeTlsConnect<Socket> for Tls {
    type Stream = Encrypted;
    type TlsConnect = Handshake;
    type Error = InvalidDnsNameError;

    fn make_tls_connect(&mut self, host: &str) -> Result<Handshake, InvalidDnsNameError> {
        let name = ServerName::try_from(host.to_string())?;
        Ok(Handshake { config: Arc::clone(&self.0), name })
    }
}

/// One connection's TLS handshake.
pub(super) struct Handshake {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl TlsConnect<Socket> for Handshake {
    type Stream = Encrypted;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Encrypted>> + Send>>;

    fn connect(self, socket: Socket) -> Self::Future {
        Box::pin(async move { TlsConnector::from(self.config).connect(self.name, socket).await.map(Encrypted) })
    }
}

/// An encrypted connection. It offers no channel binding: SCRAM authenticates without it, and
/// `verify-full` is what stops a server in the middle.
pub(super) struct Encrypted(tokio_rustls::client::TlsStream<Socket>);

impl TlsStream for Encrypted {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for Encrypted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Encrypted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
