//! The sealed-data file that `redis-gen seal` writes beside a profile
//! (`homelab.toml` -> `homelab.sealed.yaml`) and `build` reads: ciphertexts
//! only, by namespace, safe to commit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// sealed-secrets scopes: what the ciphertext is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Bound to namespace and name (the controller's default).
    #[default]
    Strict,
    /// Bound to the namespace; the Secret may be renamed.
    NamespaceWide,
    /// Valid in any namespace under any name.
    ClusterWide,
}

impl Scope {
    /// The SealedSecret annotation a non-strict scope needs.
    pub fn annotation(self) -> Option<&'static str> {
        match self {
            Scope::Strict => None,
            Scope::NamespaceWide => Some("sealedsecrets.bitnami.com/namespace-wide"),
            Scope::ClusterWide => Some("sealedsecrets.bitnami.com/cluster-wide"),
        }
    }
}

/// Contents of a sealed-data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SealedData {
    pub scope: Scope,
    /// sha256 fingerprint of the certificate the values were sealed with.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub certificate_sha256: String,
    /// namespace -> Secret key -> base64 ciphertext.
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
}

/// Where the sealed data of a profile lives: beside it, `<stem>.sealed.yaml`.
pub fn path_for(profile: &Path) -> PathBuf {
    let stem = profile.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    profile.with_file_name(format!("{stem}.sealed.yaml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_file_sits_beside_the_profile() {
        assert_eq!(path_for(Path::new("profiles/homelab.toml")), PathBuf::from("profiles/homelab.sealed.yaml"));
    }
}
