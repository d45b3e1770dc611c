//! The committed out/ is the compiled profiles/homelab.toml, byte for byte,
//! and building is deterministic across directories, environments and runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_redis-gen");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file below `dir`, relative path -> bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("redis-gen-golden-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn build(cwd: &Path, profile: &Path, out: &Path, env: &[(&str, &str)]) {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd).arg("build").arg(profile).arg("-o").arg(out).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let result = cmd.output().unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
}

#[test]
fn committed_out_is_the_compiled_homelab_profile() {
    let dir = scratch("golden");
    build(&root(), &root().join("profiles/homelab.toml"), &dir.join("out"), &[]);
    let fresh = tree(&dir.join("out"));
    let committed = tree(&root().join("out"));
    let names = |t: &BTreeMap<String, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&fresh), names(&committed), "file lists differ: rebuild out/ and commit it");
    for (name, bytes) in &fresh {
        assert!(
            committed[name] == *bytes,
            "out/{name} differs from a fresh build of profiles/homelab.toml: run `redis-gen build profiles/homelab.toml` and commit out/"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn builds_are_identical_across_directories_and_environments() {
    let a = scratch("det-a");
    let b = scratch("det-b");
    std::fs::create_dir_all(b.join("deep/er")).unwrap();
    std::fs::copy(root().join("profiles/homelab.toml"), b.join("deep/er/homelab.toml")).unwrap();
    build(&root(), &root().join("profiles/homelab.toml"), &a.join("out"), &[("LANG", "C"), ("TZ", "UTC")]);
    build(
        &b.join("deep"),
        Path::new("er/homelab.toml"),
        Path::new("elsewhere"),
        &[
            ("LANG", "de_DE.UTF-8"),
            ("TZ", "Asia/Tokyo"),
            ("HOME", "/nonexistent"),
            ("RUST_LOG", "trace"),
            ("USER", "x"),
        ],
    );
    for _ in 0..3 {
        // Hash-map iteration order differs per process: repeat to catch it.
        build(&root(), &root().join("profiles/homelab.toml"), &a.join("again"), &[]);
        assert_eq!(tree(&a.join("again")), tree(&a.join("out")));
        std::fs::remove_dir_all(a.join("again")).unwrap();
    }
    assert_eq!(tree(&a.join("out")), tree(&b.join("deep/elsewhere")));
    std::fs::remove_dir_all(a).unwrap();
    std::fs::remove_dir_all(b).unwrap();
}
