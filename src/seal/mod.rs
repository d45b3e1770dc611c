//! Offline sealing, byte-compatible with the Bitnami sealed-secrets
//! controller (what `kubeseal --cert` does), without churn.
//!
//! - `data`: the sealed-data file beside a profile, which `build` reads.
//! - `cert`: reads the controller's certificate as kubeseal does.
//! - `hybrid`: the RSA-OAEP + AES-GCM scheme of the controller.
//! - `password`: generated or given passwords.
//! - `internal`: mode sentinel's generated internal passwords.
//! - `update`: what one `redis-gen seal` run changes in the sealed data:
//!   existing ciphertexts stay byte-identical unless a rotation or a change
//!   of scope, key or Secret name makes them stale.
//!
//! Everything here is pure: randomness comes in as a generator argument,
//! the time as a number, files as bytes. `cli::seal` is the impure edge.

pub mod cert;
pub mod data;
pub mod hybrid;
pub mod internal;
pub mod password;
pub mod update;

use data::Scope;

/// The OAEP label that binds a ciphertext to where it may be decrypted:
/// `namespace/name` (strict), `namespace` (namespace-wide), empty
/// (cluster-wide), as the controller's `EncryptionLabel`.
pub fn label(scope: Scope, namespace: &str, name: &str) -> Vec<u8> {
    match scope {
        Scope::Strict => format!("{namespace}/{name}").into_bytes(),
        Scope::NamespaceWide => namespace.as_bytes().to_vec(),
        Scope::ClusterWide => Vec::new(),
    }
}

/// Why sealing failed or was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    /// The random generator failed.
    Random(String),
    /// RSA-OAEP refused (key or message size).
    Rsa(String),
    /// AES-GCM refused (never for sizes we seal).
    Aead,
    /// Namespaces without a ciphertext, and no password to seal them with.
    MissingNeedsPassword { namespaces: Vec<String> },
    /// Every ciphertext is stale (the reasons), and no password to re-seal.
    StaleNeedsPassword { reasons: Vec<String> },
}

impl std::fmt::Display for SealError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealError::Random(e) => write!(f, "the system's random generator failed: {e}"),
            SealError::Rsa(e) => write!(f, "RSA-OAEP encryption failed: {e}"),
            SealError::Aead => write!(f, "AES-GCM encryption failed"),
            SealError::MissingNeedsPassword { namespaces } => write!(
                f,
                "namespace(s) {} have no sealed password yet, and sealing one needs the password itself (redis-gen cannot decrypt the others): \
                 pipe the current password in with --password-stdin, or make a new one for every namespace with --rotate",
                namespaces.join(", ")
            ),
            SealError::StaleNeedsPassword { reasons } => write!(
                f,
                "every sealed value must be sealed again: {}; that needs the password: pipe the current one in with --password-stdin, \
                 or make a new one with --rotate",
                reasons.join("; ")
            ),
        }
    }
}

impl std::error::Error for SealError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_scope() {
        assert_eq!(label(Scope::Strict, "redis", "redis-credentials"), b"redis/redis-credentials");
        assert_eq!(label(Scope::NamespaceWide, "redis", "redis-credentials"), b"redis");
        assert_eq!(label(Scope::ClusterWide, "redis", "redis-credentials"), b"");
    }
}
