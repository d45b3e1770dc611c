//! The sealed-data file that `redis-gen seal` writes beside a profile
//! (`homelab.toml` -> `homelab.sealed.yaml`) and `build` reads: ciphertexts
//! only, by namespace, safe to commit. It records what the ciphertexts are
//! bound to (scope, Secret name, controller key) so that `seal` can tell
//! which ones are still valid and `build` can refuse ones that are not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
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

    /// The name as written in the file and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }
}

/// Contents of a sealed-data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SealedData {
    pub scope: Scope,
    /// The Secret name the values were sealed for (strict scope binds them to it).
    pub secret_name: String,
    /// Hex sha256 of the DER SubjectPublicKeyInfo of the controller's
    /// certificate: which key pair can decrypt the values.
    pub public_key_sha256: String,
    /// namespace -> Secret key -> base64 ciphertext.
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
    /// Mode sentinel: the internal users' passwords (Redis namespace only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal: Option<InternalSealed>,
}

/// The sealed internal Secret of mode sentinel (`<release>-internal`), in
/// the Redis namespace, sealed with the same scope and key as `secrets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InternalSealed {
    /// The Secret name the values were sealed for.
    pub secret_name: String,
    /// Secret key -> base64 ciphertext.
    pub values: BTreeMap<String, String>,
}

/// A sealed-data file that cannot be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line and column, when known.
    pub at: Option<(usize, usize)>,
    pub message: String,
}

impl SealedData {
    /// Reads a sealed-data file's text; checks that every value is a
    /// base64 sealed-secrets ciphertext.
    pub fn parse(text: &str) -> Result<SealedData, ParseError> {
        let data: SealedData = serde_norway::from_str(text).map_err(|e| {
            let at = e.location().map(|l| (l.line(), l.column()));
            let mut message = e.to_string();
            // serde_norway appends the position; ours goes in front.
            if let Some(i) = message.find(" at line ") {
                message.truncate(i);
            }
            ParseError { at, message }
        })?;
        let internal = data.internal.iter().map(|i| ("internal".to_string(), i.values.clone()));
        for (ns, values) in data.secrets.clone().into_iter().chain(internal) {
            for (key, value) in &values {
                let ok = base64::engine::general_purpose::STANDARD
                    .decode(value)
                    .is_ok_and(|bytes| crate::seal::hybrid::well_formed(&bytes));
                if !ok {
                    return Err(ParseError {
                        at: None,
                        message: format!(
                            "secrets.{ns}.{key} is not a sealed value (standard base64 of a sealed-secrets ciphertext); \
                             run `redis-gen seal --rotate` to seal it again"
                        ),
                    });
                }
            }
        }
        Ok(data)
    }

    /// The file's text: a header that says what it is, then the data (maps
    /// are ordered, so equal data gives equal bytes).
    pub fn to_yaml(&self, profile_name: &str) -> String {
        // The file name may hold a line break: keep the comment one line.
        let profile_name = crate::diag::escape(profile_name);
        format!(
            "# Sealed Redis password of {profile_name}, written by `redis-gen seal`, read by `redis-gen build`.\n\
             # Ciphertexts only (sealed-secrets RSA-OAEP + AES-GCM): safe to commit. Do not edit by hand.\n{}",
            serde_norway::to_string(self).expect("sealed data serializes")
        )
    }

    /// Whether the values are bound to a Secret name other than `name`, so
    /// the controller could not decrypt them under `name`.
    pub fn bound_to_other_name(&self, name: &str) -> bool {
        self.scope == Scope::Strict && self.secret_name != name
    }
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

    fn sample() -> SealedData {
        // 2-byte length 1, one RSA byte, 16 tag bytes.
        let value = base64::engine::general_purpose::STANDARD.encode([&[0u8, 1, 7][..], &[0u8; 16]].concat());
        SealedData {
            scope: Scope::NamespaceWide,
            secret_name: "redis-credentials".into(),
            public_key_sha256: "ab".repeat(32),
            secrets: BTreeMap::from([("redis".into(), BTreeMap::from([("redis-password".into(), value)]))]),
            internal: None,
        }
    }

    #[test]
    fn the_file_round_trips() {
        let s = sample();
        let text = s.to_yaml("homelab.toml");
        assert!(text.starts_with("# Sealed Redis password of homelab.toml"));
        assert!(text.contains("scope: namespace-wide\n"));
        assert_eq!(SealedData::parse(&text).unwrap(), s);
    }

    #[test]
    fn errors_carry_the_position() {
        let text = sample().to_yaml("x.toml").replace("scope:", "scop:");
        let e = SealedData::parse(&text).unwrap_err();
        assert_eq!(e.at.map(|(line, _)| line), Some(3), "{e:?}");
        assert!(e.message.contains("unknown field `scop`"), "{}", e.message);
        assert!(!e.message.contains(" at line "));
    }

    #[test]
    fn values_must_be_ciphertexts() {
        let mut s = sample();
        s.secrets.get_mut("redis").unwrap().insert("redis-password".into(), "hunter2".into());
        let e = SealedData::parse(&s.to_yaml("x.toml")).unwrap_err();
        assert!(e.message.contains("secrets.redis.redis-password"), "{}", e.message);
    }

    #[test]
    fn strict_values_are_bound_to_their_name() {
        let mut s = sample();
        assert!(!s.bound_to_other_name("other"));
        s.scope = Scope::Strict;
        assert!(s.bound_to_other_name("other"));
        assert!(!s.bound_to_other_name("redis-credentials"));
    }
}
