//! TLS for listeners, with rustls: Mosquitto's `certfile`, `keyfile`, `cafile`,
//! `capath`, `crlfile`, `require_certificate`, `tls_version`, and the client certificate's
//! identity for `use_identity_as_username` / `use_subject_as_username`.

use super::conf::{CertIdentity, TlsFiles};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::pki_types::{CertificateDer, CertificateRevocationListDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(path)?;
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut pem.as_slice()).collect();
    let certs = certs.map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

/// The trust anchors for client certificates: `cafile`, and every certificate file in
/// `capath`.
fn roots(tls: &TlsFiles) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    let mut files = Vec::new();
    if let Some(cafile) = &tls.cafile {
        files.push(cafile.clone());
    }
    if let Some(capath) = &tls.capath {
        let entries =
            std::fs::read_dir(capath).map_err(|e| format!("capath {}: {e}", capath.display()))?;
        files.extend(
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file()),
        );
    }
    for file in files {
        for cert in certificates(&file)? {
            store
                .add(cert)
                .map_err(|e| format!("{}: {e}", file.display()))?;
        }
    }
    Ok(store)
}

fn crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
    let pem = read(path)?;
    let crls: Result<Vec<_>, _> = rustls_pemfile::crls(&mut pem.as_slice()).collect();
    crls.map_err(|e| format!("{}: {e}", path.display()))
}

/// The rustls configuration of one listener.
pub fn server_config(tls: &TlsFiles) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = match tls.version.as_deref() {
        Some("tlsv1.2") => &[&rustls::version::TLS12],
        Some("tlsv1.3") => &[&rustls::version::TLS13],
        _ => rustls::ALL_VERSIONS,
    };
    let (Some(certfile), Some(keyfile)) = (&tls.certfile, &tls.keyfile) else {
        return Err("a TLS listener needs both certfile and keyfile".into());
    };
    let mut chain = certificates(certfile)?;
    complete_chain(&mut chain, tls)?;
    let key_pem = read(keyfile)?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| format!("{}: {e}", keyfile.display()))?
        .ok_or_else(|| format!("{}: no PEM private key in it", keyfile.display()))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| e.to_string())?;
    let builder = if tls.require_certificate {
        let roots = roots(tls)?;
        if roots.is_empty() {
            return Err("require_certificate needs cafile or capath".into());
        }
        let mut verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        if let Some(crlfile) = &tls.crlfile {
            verifier = verifier.with_crls(crls(crlfile)?);
        }
        builder.with_client_cert_verifier(verifier.build().map_err(|e| e.to_string())?)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("{}: {e}", certfile.display()))?;
    Ok(Arc::new(config))
}

/// Appends to the server's chain the intermediate CAs it needs from `cafile`/`capath`, as
/// OpenSSL does for Mosquitto: clients that trust only the root then verify the server.
fn complete_chain(chain: &mut Vec<CertificateDer<'static>>, tls: &TlsFiles) -> Result<(), String> {
    let mut pool = Vec::new();
    for file in tls.cafile.iter() {
        pool.extend(certificates(file)?);
    }
    if let Some(capath) = &tls.capath {
        if let Ok(entries) = std::fs::read_dir(capath) {
            for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
                pool.extend(certificates(&path).unwrap_or_default());
            }
        }
    }
    let names = |der: &CertificateDer<'_>| -> Option<(Vec<u8>, Vec<u8>)> {
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
        Some((
            cert.subject().as_raw().to_vec(),
            cert.issuer().as_raw().to_vec(),
        ))
    };
    // Bounded: a chain longer than this is not one a client would follow either.
    for _ in 0..8 {
        let Some((subject, issuer)) = chain.last().and_then(names) else {
            break;
        };
        if subject == issuer {
            break;
        }
        let parent = pool
            .iter()
            .find(|c| names(c).is_some_and(|(s, i)| s == issuer && s != i));
        match parent {
            Some(parent) if !chain.contains(parent) => chain.push(parent.clone()),
            _ => break,
        }
    }
    Ok(())
}

/// The client certificate's identity as the listener names clients: its Common Name, or
/// its subject as RFC 2253 writes it (most specific first, as OpenSSL prints it).
pub fn identity(cert: &CertificateDer<'_>, field: CertIdentity) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let subject = parsed.subject();
    match field {
        CertIdentity::CommonName => subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned),
        CertIdentity::Subject => {
            let registry = x509_parser::objects::oid_registry();
            let mut parts = Vec::new();
            for rdn in subject.iter() {
                for attr in rdn.iter() {
                    let oid = attr.attr_type();
                    let name = match registry.get(oid).map(|e| e.sn()) {
                        Some("commonName") => "CN".to_owned(),
                        Some("countryName") => "C".to_owned(),
                        Some("stateOrProvinceName") => "ST".to_owned(),
                        Some("localityName") => "L".to_owned(),
                        Some("organizationName") => "O".to_owned(),
                        Some("organizationalUnitName") => "OU".to_owned(),
                        Some(other) => other.to_owned(),
                        None => oid.to_id_string(),
                    };
                    let value = attr.as_str().ok()?.replace(',', "\\,");
                    parts.push(format!("{name}={value}"));
                }
            }
            parts.reverse();
            Some(parts.join(","))
        }
    }
}
