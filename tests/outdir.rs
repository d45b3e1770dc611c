//! The output directory's rules, through the real binary (and, for a bundle
//! path no profile can produce, through `redis_gen::disk`):
//! - a build that fails, even after it wrote some files, or that is killed
//!   midway (SIGKILL, or SIGXFSZ at an exact point), leaves the old out/
//!   exactly as it was, and the next build removes what the killed one left;
//! - files the new build no longer produces are removed;
//! - a non-empty directory without the marker is refused (`-o .`, `-o /`,
//!   `-o /etc`, a home directory), and so is a symlinked target or marker;
//!   symlinks inside an old out/ are removed, never followed;
//! - files are 0644 and directories 0755 under umask 077 and 000.
//!
//! Failing "after some files were written" without a test-only hook: the
//! child gets RLIMIT_FSIZE below the size of the largest manifest, so the
//! kernel refuses that write (EFBIG) after the marker and the small files
//! were written. With SIGXFSZ at its default action the same limit kills the
//! build at that exact write. SIGKILL midway uses a real, large fleet (3000
//! replica namespaces, one SealedSecret file each) and kills the build once
//! its staging directory holds files.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Scratch, assert_ok, build_cmd, output, snapshot, stderr};

const MARKER: &str = ".redis-gen";

const SMALL: &str = "replica_namespaces = [\"beersystem\", \"other-app\"]\n";
const SMALLER: &str = "replica_namespaces = [\"beersystem\"]\n";

fn build(profile: &Path, out: &Path) -> Output {
    output(build_cmd(profile, out))
}

/// Names in `dir` that look like staging directories.
fn staging_dirs(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".redis-gen-"))
        .collect()
}

/// The files a build of `profile` must leave: the bundle and the marker.
fn expected_files(profile: &Path) -> Vec<String> {
    let t = Scratch::new("expected");
    let out = t.path("out");
    assert_ok(&build(profile, &out));
    let kustomization = fs::read_to_string(out.join("kustomization.yaml")).unwrap();
    let mut files: Vec<String> =
        kustomization.lines().filter_map(|l| l.strip_prefix("- ")).map(str::to_string).collect();
    files.extend([MARKER.to_string(), "README.md".into(), "kustomization.yaml".into()]);
    files.sort();
    files
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

/// Limits the child's file size (and core size); `ignore_xfsz` keeps it alive
/// so that the write fails with EFBIG instead of killing it.
fn limit_file_size(c: &mut Command, bytes: u64, ignore_xfsz: bool) {
    // SAFETY: only async-signal-safe libc calls between fork and exec.
    unsafe {
        c.pre_exec(move || {
            let fsize = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
            let core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &fsize) != 0 || libc::setrlimit(libc::RLIMIT_CORE, &core) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if ignore_xfsz {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            }
            Ok(())
        });
    }
}

/// A file size limit that the first manifests fit under and the largest
/// (the StatefulSets, the ConfigMap) do not.
fn middle_size(out: &Path) -> u64 {
    const LIMIT: u64 = 2000;
    let sizes: Vec<u64> = fs::read_dir(out).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).collect();
    assert!(sizes.iter().any(|s| *s > LIMIT), "no file above {LIMIT} bytes: the limit would not bite");
    assert!(sizes.iter().filter(|s| **s < LIMIT).count() > 2, "too few files below {LIMIT} bytes");
    LIMIT
}

#[test]
fn a_profile_error_leaves_the_old_out_unchanged() {
    let t = Scratch::new("profile-error");
    let out = t.path("out");
    assert_ok(&build(&t.write("good.toml", SMALL), &out));
    let before = snapshot(&out);
    let o = build(&t.write("bad.toml", "replica_count = 99\n"), &out);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(snapshot(&out), before);
    assert_eq!(staging_dirs(&t.0), Vec::<String>::new());
}

#[test]
fn a_build_that_fails_after_writing_some_files_leaves_the_old_out_unchanged() {
    let t = Scratch::new("efbig");
    let out = t.path("out");
    let profile = t.write("p.toml", SMALL);
    assert_ok(&build(&profile, &out));
    let before = snapshot(&out);
    let limit = middle_size(&out);
    // A second profile, so that the old out/ and the new build differ.
    let mut c = build_cmd(&t.write("q.toml", SMALLER), &out);
    limit_file_size(&mut c, limit, true);
    let o = output(c);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("File too large"), "{err}");
    // The failing file comes after the marker and the first manifest.
    let failed = err.split(".redis-gen-").nth(1).and_then(|r| r.split_once('/')).map(|(_, f)| f);
    let failed = failed.and_then(|f| f.split_once(':')).map(|(f, _)| f).expect("the message names the staged file");
    let first = fs::read_to_string(out.join("kustomization.yaml")).unwrap();
    let first = first.lines().find_map(|l| l.strip_prefix("- ")).unwrap().to_string();
    assert!(failed != MARKER && failed != first, "failed at {failed}, before any file was written: {err}");
    assert!(fs::metadata(out.join(failed)).unwrap().len() > limit, "{failed} is below the limit: {err}");
    assert_eq!(snapshot(&out), before, "the old out/ changed");
    assert_eq!(staging_dirs(&t.0), Vec::<String>::new(), "the failed build left its staging directory");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_build_killed_at_a_write_leaves_the_old_out_and_the_next_build_cleans_up() {
    let t = Scratch::new("sigxfsz");
    let out = t.path("out");
    let profile = t.write("p.toml", SMALL);
    assert_ok(&build(&profile, &out));
    let before = snapshot(&out);
    let mut c = build_cmd(&t.write("q.toml", SMALLER), &out);
    limit_file_size(&mut c, middle_size(&out), false);
    let o = output(c);
    assert_eq!(o.status.signal(), Some(libc::SIGXFSZ), "not killed at the write: {}", stderr(&o));
    assert_eq!(snapshot(&out), before, "the old out/ changed");
    let left = staging_dirs(&t.0);
    assert_eq!(left.len(), 1, "the killed build should have left its staging directory: {left:?}");
    let staged = t.path(&left[0]);
    assert!(staged.join(MARKER).is_file() && file_names(&staged).len() > 2, "killed before it wrote files");
    assert_ok(&build(&profile, &out));
    assert_eq!(staging_dirs(&t.0), Vec::<String>::new(), "the next build did not remove the leftover");
    assert_eq!(snapshot(&out), before);
}

#[test]
fn a_build_killed_with_sigkill_midway_leaves_the_old_out_intact() {
    let t = Scratch::new("sigkill");
    let out = t.path("out");
    let small = t.write("small.toml", SMALL);
    assert_ok(&build(&small, &out));
    let before = snapshot(&out);
    let fleet: Vec<String> = (0..3000).map(|i| format!("\"app-{i:04}\"")).collect();
    let big = t.write("fleet.toml", &format!("replica_namespaces = [{}]\n", fleet.join(", ")));
    let mut child = build_cmd(&big, &out).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let staging = t.path(&format!(".out.redis-gen-{}", child.id()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = 0;
    while Instant::now() < deadline {
        seen = fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0);
        if seen >= 50 || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "the build ended before it was killed ({seen} files staged)");
    assert!(seen >= 50, "killed before the build wrote files");
    assert_eq!(snapshot(&out), before, "the old out/ changed");
    assert!(staging.join(MARKER).is_file(), "the killed build's staging directory is gone: it was not midway");
    // The next build removes the leftover and succeeds.
    assert_ok(&build(&small, &out));
    assert!(!staging.exists(), "the leftover staging directory was not removed");
    assert_eq!(staging_dirs(&t.0), Vec::<String>::new());
    assert_eq!(snapshot(&out), before);
}

#[test]
fn files_the_new_build_does_not_produce_are_removed() {
    let t = Scratch::new("stale");
    let out = t.path("out");
    assert_ok(&build(&t.write("p.toml", SMALL), &out));
    assert!(out.join("sealedsecret-redis-credentials.other-app.yaml").is_file());
    fs::write(out.join("added-by-hand.yaml"), "kind: ConfigMap\n").unwrap();
    fs::create_dir(out.join("subdir")).unwrap();
    let smaller = t.write("q.toml", SMALLER);
    assert_ok(&build(&smaller, &out));
    assert_eq!(file_names(&out), expected_files(&smaller));
    assert!(!out.join("sealedsecret-redis-credentials.other-app.yaml").exists());
}

fn assert_refused(o: &Output, why: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("refusing to write"), "{err}");
    assert!(err.contains(why), "expected {why:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_non_empty_directory_without_the_marker_is_refused() {
    let t = Scratch::new("unowned");
    let profile = t.write("p.toml", SMALL);
    // A home directory (`-o ~` after the shell expands it).
    let home = t.path("home");
    fs::create_dir(&home).unwrap();
    fs::write(home.join(".bashrc"), "export EDITOR=vi\n").unwrap();
    let before = snapshot(&t.0);
    let o = build(&profile, &home);
    assert_refused(&o, "not created by redis-gen");
    assert!(stderr(&o).contains(&home.display().to_string()));
    // `-o .` in a directory of the user's.
    let o = output({
        let mut c = build_cmd(&profile, Path::new("."));
        c.current_dir(&home);
        c
    });
    assert_refused(&o, "not created by redis-gen");
    assert_eq!(snapshot(&t.0), before, "a refused build changed something");
    // A regular file is not a directory.
    let file = t.write("notes.txt", "mine\n");
    assert_refused(&build(&profile, &file), "not a directory");
    assert_eq!(fs::read_to_string(&file).unwrap(), "mine\n");
}

#[test]
fn system_directories_are_refused_and_nothing_is_staged_beside_them() {
    let t = Scratch::new("system");
    let profile = t.write("p.toml", SMALL);
    let root_before = staging_dirs(Path::new("/"));
    assert_refused(&build(&profile, Path::new("/")), "/");
    // macOS's /etc is a symlink (refused as one): /usr is a real directory there.
    let system = if cfg!(target_os = "macos") { "/usr" } else { "/etc" };
    assert_refused(&build(&profile, Path::new(system)), "not created by redis-gen");
    let o = output({
        let mut c = build_cmd(&profile, Path::new("."));
        c.current_dir("/");
        c
    });
    assert_refused(&o, "/");
    assert_eq!(staging_dirs(Path::new("/")), root_before);
}

#[test]
fn dot_inside_an_output_directory_of_ours_rebuilds_it() {
    let t = Scratch::new("dot");
    let out = t.path("out");
    assert_ok(&build(&t.write("p.toml", SMALL), &out));
    let smaller = t.write("q.toml", SMALLER);
    let o = output({
        let mut c = build_cmd(&smaller, Path::new("."));
        c.current_dir(&out);
        c
    });
    assert_ok(&o);
    assert_eq!(file_names(&out), expected_files(&smaller));
    assert_eq!(staging_dirs(&t.0), Vec::<String>::new());
}

#[test]
fn a_symlinked_target_or_marker_is_refused() {
    let t = Scratch::new("symlink-target");
    let profile = t.write("p.toml", SMALL);
    let real = t.path("real-out");
    assert_ok(&build(&profile, &real));
    let before = snapshot(&real);
    let link = t.path("out");
    symlink(&real, &link).unwrap();
    assert_refused(&build(&profile, &link), "symlink");
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(snapshot(&real), before);

    // A directory whose marker is a symlink to a marker elsewhere is not ours.
    let other = t.path("other");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("precious.txt"), "keep\n").unwrap();
    symlink(real.join(MARKER), other.join(MARKER)).unwrap();
    let before = snapshot(&other);
    assert_refused(&build(&profile, &other), "not created by redis-gen");
    assert_eq!(snapshot(&other), before);
}

#[test]
fn symlinks_inside_an_old_out_are_removed_not_followed() {
    let t = Scratch::new("symlink-inside");
    let profile = t.write("p.toml", SMALL);
    let out = t.path("out");
    assert_ok(&build(&profile, &out));
    let outside = t.path("outside");
    fs::create_dir_all(outside.join("dir")).unwrap();
    fs::write(outside.join("file.txt"), "keep\n").unwrap();
    fs::write(outside.join("dir/inner.txt"), "keep too\n").unwrap();
    let outside_before = snapshot(&outside);
    symlink(outside.join("file.txt"), out.join("link-to-file.yaml")).unwrap();
    symlink(outside.join("dir"), out.join("link-to-dir")).unwrap();
    // A file of the old build replaced by a link: the new build must write
    // its own file, not through the link.
    fs::remove_file(out.join("namespace-redis.yaml")).unwrap();
    symlink(outside.join("file.txt"), out.join("namespace-redis.yaml")).unwrap();
    assert_ok(&build(&profile, &out));
    assert_eq!(snapshot(&outside), outside_before, "a link was followed out of out/");
    assert_eq!(file_names(&out), expected_files(&profile));
    assert!(fs::symlink_metadata(out.join("namespace-redis.yaml")).unwrap().is_file());
}

#[test]
fn leftover_staging_directories_are_removed_only_when_they_are_ours_and_dead() {
    let t = Scratch::new("leftovers");
    let profile = t.write("p.toml", SMALL);
    let out = t.path("out");
    let dead = i32::MAX; // no process has this id
    let mine = std::process::id();
    let make = |name: String, marked: bool| {
        let d = t.path(&name);
        fs::create_dir(&d).unwrap();
        fs::write(d.join("x.yaml"), "x: 1\n").unwrap();
        if marked {
            fs::write(d.join(MARKER), "").unwrap();
        }
        d
    };
    let stale = make(format!(".out.redis-gen-{dead}"), true);
    let empty = t.path(&format!(".out.redis-gen-{}", dead - 1));
    fs::create_dir(&empty).unwrap();
    let unmarked = make(format!(".out.redis-gen-{}", dead - 2), false);
    let running = make(format!(".out.redis-gen-{mine}"), true);
    let other_target = make(format!(".other.redis-gen-{dead}"), true);
    // A symlink with a staging name, to a marked directory elsewhere.
    let elsewhere = make("elsewhere".into(), true);
    let elsewhere_before = snapshot(&elsewhere);
    let link = t.path(&format!(".out.redis-gen-{}", dead - 3));
    symlink(&elsewhere, &link).unwrap();

    assert_ok(&build(&profile, &out));
    assert!(!stale.exists(), "a dead build's marked staging directory was kept");
    assert!(!empty.exists(), "a dead build's empty staging directory was kept");
    assert!(unmarked.join("x.yaml").exists(), "removed a directory without the marker");
    assert!(running.join("x.yaml").exists(), "removed the staging directory of a running process");
    assert!(other_target.join("x.yaml").exists(), "removed another target's staging directory");
    assert_eq!(snapshot(&elsewhere), elsewhere_before, "followed a symlink");
}

fn assert_modes(root: &Path) {
    for (path, (kind, mode, _)) in snapshot(root) {
        match kind {
            'd' => assert_eq!(mode, 0o755, "{}", path.display()),
            'f' => assert_eq!(mode, 0o644, "{}", path.display()),
            other => panic!("unexpected {other} at {}", path.display()),
        }
    }
}

#[test]
fn modes_are_0644_and_0755_whatever_the_umask() {
    let t = Scratch::new("umask");
    let profile = t.write("p.toml", SMALL);
    for mask in [0o077, 0o000, 0o022, 0o777] {
        let nested = t.path(&format!("m{mask:03o}"));
        let out = nested.join("a/b/out");
        let mut c = build_cmd(&profile, &out);
        // SAFETY: umask is async-signal-safe.
        unsafe {
            c.pre_exec(move || {
                libc::umask(mask);
                Ok(())
            });
        }
        assert_ok(&output(c));
        assert_modes(&out);
        // The directories created on the way are normal too.
        for d in [nested.join("a"), nested.join("a/b")] {
            assert_eq!(fs::metadata(&d).unwrap().mode() & 0o777, 0o755, "{}", d.display());
        }
        // A rebuild over an existing out/ keeps the modes.
        let mut c = build_cmd(&profile, &out);
        // SAFETY: as above.
        unsafe {
            c.pre_exec(move || {
                libc::umask(mask);
                Ok(())
            });
        }
        assert_ok(&output(c));
        assert_modes(&out);
    }
}

#[test]
fn a_bundle_path_that_would_leave_out_fails_after_the_first_files_and_changes_nothing() {
    let t = Scratch::new("bad-path");
    let out = t.path("out");
    let profile = t.write("p.toml", SMALL);
    assert_ok(&build(&profile, &out));
    let before = snapshot(&out);
    let compiled = redis_gen::compile("p.toml", SMALLER, None).expect("compiles");
    for bad in ["../escaped.yaml", "/tmp/escaped.yaml", "kustomization.yaml"] {
        let mut bundle = compiled.bundle.clone();
        // Last, so that every other file was written before it fails.
        bundle.files.push(redis_gen::bundle::File { path: bad.into(), contents: b"x: 1\n".to_vec() });
        let err = redis_gen::disk::write(&bundle, &out, redis_gen::disk::Sync::Lazy).expect_err(bad).to_string();
        assert!(err.contains("refusing to write") || err.contains("File exists"), "{bad}: {err}");
        assert_eq!(snapshot(&out), before, "{bad}: the old out/ changed");
        assert_eq!(staging_dirs(&t.0), Vec::<String>::new(), "{bad}: staging left behind");
        assert!(!t.path("escaped.yaml").exists() && !Path::new("/tmp/escaped.yaml").exists());
    }
}

/// Flush syscalls a build made, traced with strace (installed by tests/run).
#[cfg(target_os = "linux")]
fn flushes(extra: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let t = Scratch::new("fsync");
    let profile = t.write("p.toml", SMALL);
    let trace = t.path("trace");
    let mut c = Command::new("strace");
    c.args(["-f", "-qq", "-e", "trace=syncfs,fsync,fdatasync,sync", "-o"]).arg(&trace).arg(BIN);
    c.arg("build").arg(&profile).arg("-o").arg(t.path("out")).args(extra);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("strace runs (tests/run installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(t.path("out").join(MARKER).is_file());
    fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(|call| call.split('(').next().unwrap_or("").to_string()))
        .collect()
}

// strace and syncfs are Linux's; macOS flushes each file (src/disk/mod.rs).
#[cfg(target_os = "linux")]
#[test]
fn a_build_flushes_to_stable_storage_only_when_asked() {
    assert_eq!(flushes(&[], &[]), Vec::<String>::new());
    let asked = flushes(&["--fsync"], &[]);
    assert!(asked.contains(&"syncfs".to_string()), "{asked:?}");
    assert!(asked.contains(&"fsync".to_string()), "the parent directory after the swap: {asked:?}");
    assert_eq!(flushes(&[], &[("REDIS_GEN_FSYNC", "true")]), asked);
}

/// Identity of every entry of a tree: inode and mtime, by relative path.
fn identities(root: &Path) -> BTreeMap<PathBuf, (u64, i64, i64)> {
    snapshot(root)
        .keys()
        .map(|rel| {
            let m = fs::symlink_metadata(root.join(rel)).unwrap();
            (rel.clone(), (m.ino(), m.mtime(), m.mtime_nsec()))
        })
        .collect()
}

#[test]
fn an_unchanged_rebuild_writes_nothing_and_any_difference_is_rewritten() {
    let t = Scratch::new("uptodate");
    let profile = t.write("p.toml", SMALL);
    let (out, fresh) = (t.path("out"), t.path("fresh"));
    assert_ok(&build(&profile, &fresh));
    let reference = snapshot(&fresh);
    assert_ok(&build(&profile, &out));
    let before = identities(&out);
    let again = build(&profile, &out);
    assert_ok(&again);
    assert!(stderr(&again).contains("is up to date"), "{}", stderr(&again));
    assert_eq!(identities(&out), before, "nothing was rewritten, not even a timestamp");
    assert!(staging_dirs(&t.0).is_empty());

    let elsewhere = t.path("elsewhere");
    type Damage = Box<dyn Fn(&Path)>;
    let damage: Vec<(&str, Damage)> = vec![
        ("a changed byte", Box::new(|o| fs::write(o.join("README.md"), b"changed\n").unwrap())),
        (
            "an appended line",
            Box::new(|o| {
                let mut text = fs::read(o.join("kustomization.yaml")).unwrap();
                text.extend_from_slice(b"- extra.yaml\n");
                fs::write(o.join("kustomization.yaml"), text).unwrap();
            }),
        ),
        (
            "a file's mode",
            Box::new(|o| fs::set_permissions(o.join("README.md"), fs::Permissions::from_mode(0o600)).unwrap()),
        ),
        ("the directory's mode", Box::new(|o| fs::set_permissions(o, fs::Permissions::from_mode(0o700)).unwrap())),
        ("an extra file", Box::new(|o| fs::write(o.join("extra.yaml"), b"kind: ConfigMap\n").unwrap())),
        ("an extra directory", Box::new(|o| fs::create_dir(o.join("extra")).unwrap())),
        ("a missing file", Box::new(|o| fs::remove_file(o.join("README.md")).unwrap())),
        ("the marker's text", Box::new(|o| fs::write(o.join(MARKER), b"mine\n").unwrap())),
        (
            "a second name for a file",
            Box::new(move |o| {
                let _ = fs::remove_file(&elsewhere);
                fs::hard_link(o.join("README.md"), &elsewhere).unwrap();
            }),
        ),
        (
            "a symlink to the same bytes",
            Box::new(|o| {
                let copy = o.parent().unwrap().join("readme-copy");
                fs::copy(o.join("README.md"), &copy).unwrap();
                fs::remove_file(o.join("README.md")).unwrap();
                symlink(&copy, o.join("README.md")).unwrap();
            }),
        ),
    ];
    // `check` and `diff` agree with `build` on whether out/ is current.
    let agree = |what: &str, current: bool| {
        for cmd in ["check", "diff"] {
            let o = common::run([Path::new(cmd), &profile, Path::new("-o"), &out]);
            assert_eq!(o.status.success(), current, "{what}: {cmd} disagrees with build: {}", stderr(&o));
        }
    };
    agree("a fresh build", true);
    for (what, damage) in damage {
        damage(&out);
        agree(what, false);
        let o = build(&profile, &out);
        assert_ok(&o);
        assert!(stderr(&o).contains("wrote "), "{what}: {}", stderr(&o));
        assert_eq!(snapshot(&out), reference, "{what}");
        assert!(stderr(&build(&profile, &out)).contains("is up to date"), "{what}");
        agree(what, true);
    }
}
