//! `redis-gen seal --cert CERT.pem [--password-stdin] [--rotate] [--scope S]
//! [--print-password] [--password-out FILE] PROFILE`
//!
//! The impure edge of sealing: reads the profile, its sealed data, the
//! certificate, stdin, the clock and the system's random generator; lets
//! `redis_gen::seal` decide and encrypt; writes the sealed-data file (and the
//! password only where asked).

use std::fs;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::SysRng;
use redis_gen::disk;
use redis_gen::seal::data::{self, Scope};
use redis_gen::seal::internal::{self, InternalTarget};
use redis_gen::seal::update::{self, Options, PasswordUse, Target};
use redis_gen::seal::{cert, password};
use zeroize::Zeroizing;

use super::{Failed, source};

/// Seal the Redis password for every namespace of PROFILE into <profile>.sealed.yaml (offline, as kubeseal --cert)
///
/// Existing ciphertexts are kept byte-identical; only namespaces without one are
/// sealed, which needs the current password (--password-stdin) or a new one (--rotate).
/// The first run generates a password unless one is given. The password is written
/// nowhere unless asked (--print-password, --password-out).
#[derive(clap::Args)]
pub struct Args {
    /// The profile (TOML)
    profile: PathBuf,
    /// The sealed-secrets controller's certificate (PEM), from `kubeseal --fetch-cert`
    #[arg(long, value_name = "CERT.pem")]
    cert: PathBuf,
    /// Read the password from standard input (a pipe; one trailing newline is removed)
    #[arg(long)]
    password_stdin: bool,
    /// Seal every namespace again with a new password (generated, or the one from --password-stdin)
    #[arg(long)]
    rotate: bool,
    /// What the ciphertexts are bound to [default: the sealed file's, else strict]
    #[arg(long, value_enum)]
    scope: Option<ScopeArg>,
    /// Print the password this run used on stdout
    #[arg(long)]
    print_password: bool,
    /// Write the password this run used to FILE (mode 0600)
    #[arg(long, value_name = "FILE")]
    password_out: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ScopeArg {
    /// Bound to the namespace and the Secret's name (the controller's default)
    Strict,
    /// Bound to the namespace; the Secret may be renamed
    NamespaceWide,
    /// Decryptable in any namespace under any name
    ClusterWide,
}

impl From<ScopeArg> for Scope {
    fn from(s: ScopeArg) -> Scope {
        match s {
            ScopeArg::Strict => Scope::Strict,
            ScopeArg::NamespaceWide => Scope::NamespaceWide,
            ScopeArg::ClusterWide => Scope::ClusterWide,
        }
    }
}

fn fail(message: impl std::fmt::Display) -> Failed {
    eprintln!("error: {message}");
    Failed
}

pub fn run(a: Args) -> Result<(), Failed> {
    // The profile: where the password must go; and what is sealed already.
    let shown = a.profile.display().to_string();
    let (compiled, existing) = source::load_file(&a.profile)?;
    let plan = compiled.plan;
    let target = Target {
        namespaces: plan.secret_namespaces().into_iter().map(str::to_string).collect(),
        secret_name: plan.names.secret.clone(),
    };
    let sealed_path = data::path_for(&a.profile);

    // The controller's certificate, checked against the clock.
    let cert_shown = a.cert.display();
    let bytes = fs::read(&a.cert).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            "; get the controller's certificate with `kubeseal --fetch-cert > cert.pem`"
        } else {
            ""
        };
        fail(format!("cannot read the certificate {cert_shown}: {e}{hint}"))
    })?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let key = cert::parse(&bytes, now).map_err(|e| fail(format!("{cert_shown}: {e}")))?;
    if key.private_key_beside {
        eprintln!(
            "warning: {cert_shown} also holds a private key; it is not used (sealing needs only the certificate), keep it off shared machines"
        );
    }

    let opts = Options { scope: a.scope.map(Scope::from), rotate: a.rotate, password_given: a.password_stdin };
    let update = update::decide(existing.as_ref(), &target, &key.key_sha256, &opts)
        .map_err(|e| fail(format!("cannot seal {shown}: {e}")))?;
    let wants_password = a.print_password || a.password_out.is_some();
    if wants_password && update.password == PasswordUse::None && !a.password_stdin {
        return Err(fail(
            "--print-password/--password-out: this run seals nothing, so it has no password to give \
             (a sealed password cannot be read back offline); --rotate makes a new one",
        ));
    }

    // The password: given on stdin, or generated.
    let given = if a.password_stdin { Some(read_stdin_password()?) } else { None };
    let generated = if update.password == PasswordUse::Generate {
        Some(password::generate(&mut SysRng).map_err(fail)?)
    } else {
        None
    };
    let pass: Option<&str> = given.as_deref().or(generated.as_deref()).map(String::as_str);

    let mut data = update::apply(existing.as_ref(), &update, &target, &key, pass, &mut SysRng).map_err(fail)?;
    // Mode sentinel: the internal users' passwords, generated and sealed
    // (only into the Redis namespace); none in replication mode.
    data.internal = None;
    if let Some(s) = &plan.sentinel {
        let target = InternalTarget {
            namespace: plan.namespace.clone(),
            secret_name: s.internal_secret.clone(),
            keys: redis_gen::plan::credentials::INTERNAL_KEYS.iter().map(|k| k.to_string()).collect(),
        };
        let (values, done) =
            internal::update(existing.as_ref(), &target, update.scope, &key, a.rotate, &mut SysRng).map_err(fail)?;
        if !done.generated.is_empty() {
            eprintln!("generated and sealed {} (Secret {})", done.generated.join(", "), target.secret_name);
        }
        data.internal = Some(values);
    }

    // The password goes where the user asked, before the sealed file
    // changes, so a failure leaves the old state whole.
    if let (Some(path), Some(p)) = (&a.password_out, pass) {
        let line = Zeroizing::new(format!("{p}\n"));
        disk::write_file(path, line.as_bytes(), 0o600)
            .map_err(|e| fail(format!("cannot write the password to {}: {e}", path.display())))?;
    }

    let new_text = data.to_yaml(&plan.profile_name);
    let old_text = fs::read_to_string(&sealed_path).ok();
    let changed = old_text.as_deref() != Some(new_text.as_str());
    if changed {
        disk::write_file(&sealed_path, new_text.as_bytes(), 0o644)
            .map_err(|e| fail(format!("cannot write {}: {e}", sealed_path.display())))?;
    }
    report(&update, &sealed_path, &shown, changed, &key.not_after);

    if a.print_password
        && let Some(p) = pass
    {
        println!("{p}");
    }
    Ok(())
}

/// The password piped to stdin.
fn read_stdin_password() -> Result<Zeroizing<String>, Failed> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(fail(
            "--password-stdin reads a pipe, not a terminal (typing would echo the password): e.g. `pass show redis | redis-gen seal --password-stdin ...`",
        ));
    }
    let mut bytes = Vec::new();
    stdin.read_to_end(&mut bytes).map_err(|e| fail(format!("cannot read the password from stdin: {e}")))?;
    password::from_stdin(bytes).map_err(fail)
}

/// What the run did, on stderr.
fn report(u: &update::Update, path: &Path, profile: &str, changed: bool, not_after: &str) {
    let list = |v: &[String]| v.join(", ");
    if !u.stale.is_empty() {
        eprintln!("sealing every value again: {}", u.stale.join("; "));
    }
    if !u.seal.is_empty() {
        let source = match u.password {
            PasswordUse::Generate => "a new generated password",
            _ => "the password from stdin",
        };
        eprintln!("sealed {} ({} scope) with {source}", list(&u.seal), u.scope.name());
    }
    if !u.keep.is_empty() {
        eprintln!("kept {} unchanged", list(&u.keep));
    }
    if !u.drop.is_empty() {
        eprintln!("dropped {} (no longer in the profile)", list(&u.drop));
    }
    if changed {
        eprintln!(
            "wrote {} (certificate valid until {not_after}); now run `redis-gen build {profile}`",
            path.display()
        );
    } else {
        eprintln!("{} is up to date: nothing to seal", path.display());
    }
}
