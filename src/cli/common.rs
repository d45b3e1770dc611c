//! What several commands share: the sealed data beside a profile. Reading
//! and compiling the PROFILE argument (a file or a directory) is `source`.

use std::path::Path;

use redis_gen::sealed::{self, SealedData};

/// The sealed data beside a profile, if there is any; the error says why not.
pub fn sealed_for(profile: &Path) -> Result<Option<SealedData>, String> {
    let path = sealed::path_for(profile);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_yaml::from_str(&text).map(Some).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}
