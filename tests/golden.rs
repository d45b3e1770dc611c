//! The committed out/ is the compiled profiles/homelab.toml, byte for byte,
//! and building is deterministic across directories, environments and runs.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{HOMELAB, Scratch, assert_ok, build_cmd, files as tree, output, root};

fn build(cwd: &Path, profile: &Path, out: &Path, env: &[(&str, &str)]) {
    let mut cmd = build_cmd(profile, out);
    cmd.current_dir(cwd).env_clear().envs(env.iter().copied());
    assert_ok(&output(cmd));
}

#[test]
fn committed_out_is_the_compiled_homelab_profile() {
    let dir = Scratch::new("golden");
    build(root(), Path::new(HOMELAB), &dir.path("out"), &[]);
    let fresh = tree(&dir.path("out"));
    let committed = tree(&root().join("out"));
    let names = |t: &BTreeMap<String, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&fresh), names(&committed), "file lists differ: rebuild out/ and commit it");
    for (name, bytes) in &fresh {
        assert!(
            committed[name] == *bytes,
            "out/{name} differs from a fresh build of profiles/homelab.toml: run `redis-gen build profiles/homelab.toml` and commit out/"
        );
    }
}

#[test]
fn builds_are_identical_across_directories_and_environments() {
    let a = Scratch::new("det-a");
    let b = Scratch::new("det-b");
    b.write("deep/er/homelab.toml", &std::fs::read_to_string(HOMELAB).unwrap());
    build(root(), Path::new(HOMELAB), &a.path("out"), &[("LANG", "C"), ("TZ", "UTC")]);
    build(
        &b.path("deep"),
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
        build(root(), Path::new(HOMELAB), &a.path("again"), &[]);
        assert_eq!(tree(&a.path("again")), tree(&a.path("out")));
        std::fs::remove_dir_all(a.path("again")).unwrap();
    }
    assert_eq!(tree(&a.path("out")), tree(&b.path("deep/elsewhere")));
}
