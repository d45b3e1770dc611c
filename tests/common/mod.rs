//! Scaffolding shared by the integration tests: the binary and the
//! repository root, scratch directories removed when they drop (also on
//! failure), running the binary and reading its output, and snapshots of a
//! directory tree. Each test file compiles it on its own and uses a part.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const BIN: &str = env!("CARGO_BIN_EXE_redis-gen");
/// The example profile that the committed out/ is built from.
pub const HOMELAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/homelab.toml");

/// The repository's root (profiles/, out/, README.md).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory of its own per call, removed when it drops.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("redis-gen-test-{}-{n}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// Writes `text` to `rel` (parent directories made) and returns its path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // A test may leave a directory it made unreadable or unwritable.
        make_writable(&self.0);
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn make_writable(dir: &Path) {
    if let Ok(m) = fs::symlink_metadata(dir)
        && m.is_dir()
    {
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
        for e in fs::read_dir(dir).into_iter().flatten().flatten() {
            make_writable(&e.path());
        }
    }
}

/// The binary with `args`, colour left to its own judgement (NO_COLOR unset).
pub fn command<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).env_remove("NO_COLOR");
    c
}

/// Runs the binary with `args` and waits for it.
pub fn run<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> Output {
    output(command(args))
}

pub fn output(mut c: Command) -> Output {
    c.output().expect("the binary runs")
}

/// Runs the binary in `dir`, `stdin` (if any) written to its input.
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = command(args);
    c.current_dir(dir).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// `build PROFILE -o OUT`, not yet run.
pub fn build_cmd(profile: &Path, out: &Path) -> Command {
    let mut c = command(["build"]);
    c.arg(profile).arg("-o").arg(out);
    c
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

pub fn assert_ok(o: &Output) {
    assert!(o.status.success(), "redis-gen failed: {}", stderr(o));
}

/// Everything about a tree that a build could change, symlinks not followed:
/// relative path -> (kind `d`/`f`/`l`, mode, contents or link target).
pub type Snapshot = BTreeMap<PathBuf, (char, u32, Vec<u8>)>;

pub fn snapshot(root: &Path) -> Snapshot {
    fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
        let m = fs::symlink_metadata(dir).unwrap();
        out.insert(dir.strip_prefix(root).unwrap().to_path_buf(), ('d', m.mode() & 0o7777, Vec::new()));
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if m.file_type().is_symlink() {
                let target = fs::read_link(&p).unwrap();
                out.insert(rel, ('l', 0, target.into_os_string().into_encoded_bytes()));
            } else if m.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(rel, ('f', m.mode() & 0o7777, fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Snapshot::new();
    walk(root, root, &mut out);
    out
}

/// The regular files of a snapshot: relative path -> bytes (modes aside:
/// a git checkout's modes follow the umask).
pub fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(root)
        .into_iter()
        .filter(|(_, (kind, _, _))| *kind == 'f')
        .map(|(p, (_, _, bytes))| (p.to_string_lossy().into_owned(), bytes))
        .collect()
}
