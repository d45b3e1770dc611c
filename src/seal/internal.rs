//! Mode sentinel: the internal users' passwords (Secret `<release>-internal`
//! in the Redis namespace: sentinel, replication and exporter). Nobody types
//! them: each is generated here, sealed, and never shown. No churn, as for
//! the application password: a valid ciphertext stays byte-identical; a
//! missing key gets a new password; everything is generated again when the
//! values are stale (scope, controller key or, in strict scope, the Secret
//! name changed: they cannot be re-sealed, nobody knows them) or on
//! `--rotate`.

use std::collections::BTreeMap;

use base64::Engine as _;
use rand::TryCryptoRng;

use super::cert::SealingKey;
use super::hybrid::{self, Randomness};
use super::{SealError, label, password};
use crate::seal::data::{InternalSealed, Scope, SealedData};

/// Where the internal passwords go, from the plan.
#[derive(Debug, Clone)]
pub struct InternalTarget {
    pub namespace: String,
    pub secret_name: String,
    pub keys: Vec<String>,
}

/// What a run did to the internal passwords.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InternalUpdate {
    /// Keys given a new generated password.
    pub generated: Vec<String>,
    /// Keys kept byte-identical.
    pub kept: Vec<String>,
}

/// The internal values after this run. `existing` is the sealed file as it
/// was; `scope` the scope of this run.
pub fn update<R: TryCryptoRng + ?Sized>(
    existing: Option<&SealedData>,
    target: &InternalTarget,
    scope: Scope,
    key: &SealingKey,
    rotate: bool,
    rng: &mut R,
) -> Result<(InternalSealed, InternalUpdate), SealError> {
    let valid = existing
        .filter(|e| !rotate && e.scope == scope && e.public_key_sha256 == key.key_sha256)
        .and_then(|e| e.internal.as_ref())
        .filter(|i| scope != Scope::Strict || i.secret_name == target.secret_name);
    let mut values = BTreeMap::new();
    let mut report = InternalUpdate::default();
    for k in &target.keys {
        if let Some(v) = valid.and_then(|i| i.values.get(k)) {
            values.insert(k.clone(), v.clone());
            report.kept.push(k.clone());
            continue;
        }
        let secret = password::generate(rng)?;
        let random = Randomness::draw(rng)?;
        let label = label(scope, &target.namespace, &target.secret_name);
        let sealed = hybrid::encrypt(&key.public_key, &label, secret.as_bytes(), &random)?;
        values.insert(k.clone(), base64::engine::general_purpose::STANDARD.encode(sealed));
        report.generated.push(k.clone());
    }
    Ok((InternalSealed { secret_name: target.secret_name.clone(), values }, report))
}
