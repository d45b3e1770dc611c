//! The controller's certificate, read the way `kubeseal --cert` reads it: the
//! first PEM `CERTIFICATE` block (other blocks are skipped), whose key must be
//! RSA, refused once expired. Anything else gets an error that says what the
//! file holds instead and where the right file comes from.
//!
//! Pure: the caller reads the file and passes the current time.

use rsa::PublicKey;
use rsa::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::spki::ObjectIdentifier;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const FETCH_HINT: &str = "get the controller's certificate with `kubeseal --fetch-cert > cert.pem`";

/// The public half of the controller's sealing key.
#[derive(Debug, Clone)]
pub struct SealingKey {
    pub public_key: PublicKey,
    /// Hex sha256 of the certificate's SubjectPublicKeyInfo (DER): names
    /// the key pair, so a renewed certificate for the same key matches.
    pub key_sha256: String,
    /// When the certificate expires (RFC 3339).
    pub not_after: String,
    /// The file also holds a private key (kubeseal ignores it; so do we).
    pub private_key_beside: bool,
}

/// Why a certificate file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    /// Not text at all; `der` when it looks like a binary DER certificate.
    NotText { der: bool },
    /// Text without any PEM block.
    NoPem,
    /// PEM blocks, none of them a certificate: their labels.
    NoCertificate { labels: Vec<String> },
    /// The first certificate block does not parse.
    Malformed(String),
    /// The certificate's key is not RSA (the algorithm's OID).
    NotRsa(String),
    /// An RSA key the RSA implementation refuses (size, exponent).
    BadRsaKey(String),
    /// `now` is past the certificate's notAfter (RFC 3339).
    Expired(String),
}

impl std::fmt::Display for CertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertError::NotText { der: true } => write!(
                f,
                "this looks like a binary (DER) certificate; kubeseal and redis-gen read PEM: convert it with `openssl x509 -inform der -in FILE -out cert.pem`"
            ),
            CertError::NotText { der: false } | CertError::NoPem => {
                write!(f, "no PEM certificate (-----BEGIN CERTIFICATE-----) in this file; {FETCH_HINT}")
            }
            CertError::NoCertificate { labels } => {
                let private = labels.iter().any(|l| l.contains("PRIVATE KEY"));
                let public = labels.iter().any(|l| l.contains("PUBLIC KEY"));
                let found = labels.join(", ");
                if private {
                    write!(
                        f,
                        "this file holds a private key ({found}) and no certificate: sealing needs only the controller's public certificate, and its private key should not leave the cluster; {FETCH_HINT}"
                    )
                } else if public {
                    write!(
                        f,
                        "this file holds a bare public key ({found}), not a certificate: kubeseal and redis-gen take the controller's certificate; {FETCH_HINT}"
                    )
                } else {
                    write!(f, "no CERTIFICATE block in this file (found: {found}); {FETCH_HINT}")
                }
            }
            CertError::Malformed(e) => write!(f, "the first CERTIFICATE block is not a valid X.509 certificate: {e}"),
            CertError::NotRsa(oid) => write!(
                f,
                "the certificate's key is not RSA (algorithm {oid}{}): the sealed-secrets controller seals with RSA-OAEP; {FETCH_HINT}",
                algorithm_name(oid).map(|n| format!(", {n}")).unwrap_or_default()
            ),
            CertError::BadRsaKey(e) => write!(f, "the certificate's RSA key is not usable: {e}"),
            CertError::Expired(when) => write!(
                f,
                "the certificate expired on {when} (kubeseal refuses it too): the controller renews its key; {FETCH_HINT}"
            ),
        }
    }
}

impl std::error::Error for CertError {}

fn algorithm_name(oid: &str) -> Option<&'static str> {
    match oid {
        "1.2.840.10045.2.1" => Some("EC"),
        "1.3.101.112" => Some("Ed25519"),
        "1.3.101.113" => Some("Ed448"),
        "1.2.840.10040.4.1" => Some("DSA"),
        _ => None,
    }
}

/// One PEM block: its label and its text from BEGIN to END.
struct Block<'a> {
    label: &'a str,
    text: &'a str,
}

/// The PEM blocks of `text`, in order; text around them is ignored, as Go's
/// `pem.Decode` does. A BEGIN line without its END ends the scan.
fn blocks(text: &str) -> Vec<Block<'_>> {
    const BEGIN: &str = "-----BEGIN ";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(label_end) = after.find("-----") else { break };
        let label = &after[..label_end];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = rest[start..].find(&end_marker) else { break };
        let stop = start + end + end_marker.len();
        out.push(Block { label, text: &rest[start..stop] });
        rest = &rest[stop..];
    }
    out
}

/// Reads the controller's certificate from the bytes of a PEM file, as of
/// `now_unix` (seconds since the epoch).
pub fn parse(bytes: &[u8], now_unix: u64) -> Result<SealingKey, CertError> {
    let text = std::str::from_utf8(bytes).map_err(|_| CertError::NotText { der: bytes.first() == Some(&0x30) })?;
    let blocks = blocks(text);
    if blocks.is_empty() {
        return Err(CertError::NoPem);
    }
    let private_key_beside = blocks.iter().any(|b| b.label.contains("PRIVATE KEY"));
    let Some(block) = blocks.iter().find(|b| b.label == "CERTIFICATE") else {
        return Err(CertError::NoCertificate { labels: blocks.iter().map(|b| b.label.to_string()).collect() });
    };
    let cert = Certificate::from_pem(block.text).map_err(|e| CertError::Malformed(e.to_string()))?;
    let tbs = cert.tbs_certificate();
    let spki = tbs.subject_public_key_info();
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(CertError::NotRsa(spki.algorithm.oid.to_string()));
    }
    let spki_der = spki.to_der().map_err(|e| CertError::Malformed(e.to_string()))?;
    let public_key = PublicKey::from_public_key_der(&spki_der).map_err(|e| CertError::BadRsaKey(e.to_string()))?;
    let not_after = tbs.validity().not_after;
    let not_after_text = not_after.to_date_time().to_string();
    if now_unix > not_after.to_unix_duration().as_secs() {
        return Err(CertError::Expired(not_after_text));
    }
    Ok(SealingKey {
        public_key,
        key_sha256: Sha256::digest(&spki_der).iter().map(|b| format!("{b:02x}")).collect(),
        not_after: not_after_text,
        private_key_beside,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_skip_surrounding_text_and_keep_order() {
        let text = "junk\n-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\nmore\n-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n";
        let b = blocks(text);
        assert_eq!(b.iter().map(|b| b.label).collect::<Vec<_>>(), ["PUBLIC KEY", "CERTIFICATE"]);
        assert!(
            b[1].text.starts_with("-----BEGIN CERTIFICATE-----") && b[1].text.ends_with("-----END CERTIFICATE-----")
        );
    }

    #[test]
    fn a_block_without_end_is_not_a_block() {
        assert!(blocks("-----BEGIN CERTIFICATE-----\nAAAA\n").is_empty());
    }

    #[test]
    fn errors_say_what_the_file_holds() {
        let e = |t: &str| parse(t.as_bytes(), 0).unwrap_err();
        assert_eq!(e("hello"), CertError::NoPem);
        assert!(
            e("-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n").to_string().contains("bare public key")
        );
        assert!(
            e("-----BEGIN RSA PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----\n")
                .to_string()
                .contains("private key")
        );
        assert!(matches!(e("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"), CertError::Malformed(_)));
        assert_eq!(parse(&[0x30, 0x82, 0xff], 0).unwrap_err(), CertError::NotText { der: true });
    }
}
