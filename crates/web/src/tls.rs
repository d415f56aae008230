//! HTTPS with optional client certificates (mutual TLS), for certificate login.
//!
//! axum's `serve` does not expose the peer's certificate, so this is an accept loop of
//! our own: rustls (with ring) verifies a presented client certificate against the
//! configured CA bundle during the handshake — a certificate from another CA, expired
//! or malformed ends the handshake there — and the verified end-entity certificate goes
//! into the request's extensions as [`PeerCertificate`]. Clients without a certificate
//! are served too (they sign in with a password). Every refused handshake is audited.

use crate::state::Clock;
use axum::Router;
use axum::extract::ConnectInfo;
use huimin_domain::audit::{AuditEvent, Outcome};
use huimin_domain::storage::AuditStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

pub use rustls::ServerConfig;

/// The client certificate (DER) the handshake verified.
#[derive(Debug, Clone)]
pub struct PeerCertificate(pub Arc<Vec<u8>>);

/// Why the TLS settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{what}: {problem}")]
    Pem { what: &'static str, problem: String },
    #[error("{0}")]
    Config(String),
}

fn certificates(pem: &[u8], what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let found: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    let found = found.map_err(|error| TlsError::Pem {
        what,
        problem: error.to_string(),
    })?;
    if found.is_empty() {
        return Err(TlsError::Pem {
            what,
            problem: "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".to_owned(),
        });
    }
    Ok(found)
}

/// The server's TLS settings: its certificate chain and key (PEM), and — for certificate
/// login — the CA bundle (PEM) that client certificates must chain to.
pub fn server_config(
    certificate_chain: &[u8],
    private_key: &[u8],
    client_ca: Option<&[u8]>,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certificates(certificate_chain, "the server certificate")?;
    let key = PrivateKeyDer::from_pem_slice(private_key).map_err(|error| TlsError::Pem {
        what: "the server's private key",
        problem: error.to_string(),
    })?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::Config(error.to_string()))?;
    let builder = match client_ca {
        Some(bundle) => {
            let mut roots = rustls::RootCertStore::empty();
            for certificate in certificates(bundle, "the client CA bundle")? {
                roots
                    .add(certificate)
                    .map_err(|error| TlsError::Config(format!("the client CA bundle: {error}")))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .map_err(|error| TlsError::Config(format!("the client CA bundle: {error}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|error| TlsError::Config(format!("the server certificate and key: {error}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` over TLS until `shutdown`, then lets open connections finish (up to ten
/// seconds). Refused handshakes are appended to `audit` as `session.certificate`.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: Router,
    config: Arc<rustls::ServerConfig>,
    audit: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let audit = audit.clone();
        let clock = clock.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let handshake =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
            let stream = match handshake {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    refused(&*audit, &*clock, peer, &error.to_string()).await;
                    return;
                }
                Err(_) => return,
            };
            let certificate = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|der| PeerCertificate(Arc::new(der.to_vec())));
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    if let Some(certificate) = &certificate {
                        request.extensions_mut().insert(certificate.clone());
                    }
                    app.clone().oneshot(request.map(axum::body::Body::new))
                },
            );
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let connection =
                builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%error, "a TLS connection ended with an error");
            }
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {}
    }
    Ok(())
}

/// Audits a refused handshake: a client certificate from another CA, expired, malformed,
/// or a client that does not speak TLS.
async fn refused(audit: &dyn AuditStore, clock: &dyn Clock, peer: SocketAddr, reason: &str) {
    let event = AuditEvent {
        outcome: Outcome::Denied,
        client: peer.ip().to_string(),
        detail: format!("TLS handshake refused: {reason}"),
        ..AuditEvent::new(
            "none",
            "none",
            "session.certificate",
            "connection",
            peer.to_string(),
        )
    };
    if let Err(error) = audit
        .append_audit(std::slice::from_ref(&event), clock.now())
        .await
    {
        tracing::error!(%error, "auditing a refused TLS handshake");
    }
}

/// What a client certificate says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateHolder {
    /// The serial number, lower-case hex without separators.
    pub serial: String,
    /// An identity number (GB 11643) in the subject's serialNumber or common name.
    pub citizen_id: Option<String>,
    pub not_after: chrono::DateTime<chrono::Utc>,
    pub not_before: chrono::DateTime<chrono::Utc>,
}

/// Reads the holder of a DER certificate; `None` when it does not parse.
pub fn certificate_holder(der: &[u8]) -> Option<CertificateHolder> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    let serial = certificate
        .raw_serial()
        .iter()
        .skip_while(|byte| **byte == 0)
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>();
    let subject = certificate.subject();
    let citizen_id = subject
        .iter_by_oid(&x509_parser::oid_registry::OID_X509_SERIALNUMBER)
        .chain(subject.iter_common_name())
        .filter_map(|attribute| attribute.as_str().ok())
        .flat_map(|text| {
            // Chinese certificates often write "姓名 110105…" or "ID:110105…".
            text.split(|c: char| !c.is_ascii_alphanumeric())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .find_map(|word| {
            huimin_domain::identifiers::CitizenId::parse(&word)
                .ok()
                .map(|id| id.as_str().to_owned())
        });
    let time = |t: x509_parser::time::ASN1Time| chrono::DateTime::from_timestamp(t.timestamp(), 0);
    Some(CertificateHolder {
        serial: if serial.is_empty() {
            "00".to_owned()
        } else {
            serial
        },
        citizen_id,
        not_before: time(certificate.validity().not_before)?,
        not_after: time(certificate.validity().not_after)?,
    })
}

/// The holder of the first certificate in a PEM file.
pub fn certificate_holder_of_pem(pem: &[u8]) -> Option<CertificateHolder> {
    let der = CertificateDer::pem_slice_iter(pem).next()?.ok()?;
    certificate_holder(&der)
}

/// A serial number as the store keeps it: lower-case hex, no separators (`:` or spaces)
/// and no leading zero bytes; `None` when it is not hexadecimal.
pub fn normalise_serial(text: &str) -> Option<String> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect::<String>()
        .to_ascii_lowercase();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits
    };
    let trimmed = padded
        .as_bytes()
        .chunks(2)
        .skip_while(|pair| *pair == b"00")
        .flat_map(|pair| pair.iter().map(|b| *b as char))
        .collect::<String>();
    Some(if trimmed.is_empty() {
        "00".to_owned()
    } else {
        trimmed
    })
}

#[cfg(test)]
mod tests {
    use super::normalise_serial;

    #[test]
    fn serials_are_compared_in_one_form() {
        assert_eq!(normalise_serial("1F:01").as_deref(), Some("1f01"));
        assert_eq!(normalise_serial("00 1f 01").as_deref(), Some("1f01"));
        assert_eq!(normalise_serial("f01").as_deref(), Some("0f01"));
        assert_eq!(normalise_serial("0").as_deref(), Some("00"));
        assert_eq!(normalise_serial("xyz"), None);
        assert_eq!(normalise_serial(""), None);
    }
}
