//! The bad-profile corpus (tests/bad/*.toml) through the real binary. Each
//! file says what it expects in its header (see tests/bad/README.md):
//!
//! ```text
//! # what the mistake is
//! # expect: RULE KEY LINE:COL
//! ```
//!
//! For every file, `validate` and `build` must exit 1, write nothing, never
//! panic, and print exactly the expected diagnostics, in text order, each as
//! `error: FILE:LINE:COL: `KEY`: message` with the line and a caret; and
//! `validate --json` must name each one's rule code, key and position. The
//! wording is free to change: the codes are what is stable.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_redis-gen");

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad")
}

#[derive(Debug, PartialEq, Eq)]
struct Expect {
    rule: String,
    key: String,
    line: usize,
    col: usize,
}

fn parse_expect(file: &Path, line: &str) -> Expect {
    let parsed = (|| {
        let rest = line.strip_prefix("# expect: ")?;
        // KEY may hold spaces (`labels."my team"`): it is what lies between
        // the rule and the position.
        let (rule, rest) = rest.split_once(' ')?;
        let (key, pos) = rest.rsplit_once(' ')?;
        let (l, c) = pos.split_once(':')?;
        Some(Expect {
            rule: rule.to_string(),
            key: if key == "-" { String::new() } else { key.to_string() },
            line: l.parse().ok()?,
            col: c.parse().ok()?,
        })
    })();
    parsed.unwrap_or_else(|| panic!("{}: malformed expect line: {line}", file.display()))
}

/// A corpus file's text; a file that is not UTF-8 is in the corpus too.
fn header(file: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned()
}

fn expectations(file: &Path) -> Vec<Expect> {
    let text = header(file);
    text.lines().filter(|l| l.starts_with("# expect:")).map(|l| parse_expect(file, l)).collect()
}

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN).args(args).output().expect("run redis-gen")
}

/// Splits stderr into diagnostic blocks, each starting at an `error:` line.
fn blocks(stderr: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in stderr.lines() {
        if line.starts_with("error: ") || line.starts_with("warning: ") {
            out.push(String::new());
        }
        if let Some(b) = out.last_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    out
}

/// Checks one run against the file's expectations; returns the problems.
fn check(file: &Path, expects: &[Expect], out: &Output) -> Vec<String> {
    let mut problems = Vec::new();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = file.display().to_string();
    if out.status.code() != Some(1) {
        problems.push(format!("exit status {:?}, expected 1", out.status.code()));
    }
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        problems.push("panicked".into());
    }
    if !out.stdout.is_empty() {
        problems.push(format!("wrote to stdout: {}", String::from_utf8_lossy(&out.stdout)));
    }
    if let Some(c) = stderr.chars().find(|c| c.is_control() && *c != '\n') {
        problems.push(format!("stderr holds the control character {c:?}"));
    }
    let blocks = blocks(&stderr);
    if blocks.len() != expects.len() {
        problems.push(format!("{} diagnostics, expected {}", blocks.len(), expects.len()));
    }
    let n = expects.len();
    let count = format!("{shown}: {n} error{}\n", if n == 1 { "" } else { "s" });
    if !stderr.ends_with(&count) {
        problems.push(format!("stderr does not end with the count line {count:?}"));
    }
    for (i, (e, b)) in expects.iter().zip(&blocks).enumerate() {
        let key = if e.key.is_empty() { String::new() } else { format!("`{}`: ", e.key) };
        let head = format!("error: {shown}:{}:{}: {key}", e.line, e.col);
        if !b.starts_with(&head) {
            problems.push(format!("diagnostic {i}: expected it to start with {head:?}, got {b:?}"));
        }
        if !b.lines().any(|l| l.trim_start().starts_with(&format!("{} | ", e.line))) {
            problems.push(format!("diagnostic {i}: the source line {} is not shown: {b:?}", e.line));
        }
        let caret = b.lines().find(|l| l.trim_start().starts_with("| ") && l.contains('^'));
        match caret {
            Some(c) if c.find('^') == Some("      | ".len() + e.col - 1) => {}
            _ => problems.push(format!("diagnostic {i}: no caret under column {}: {b:?}", e.col)),
        }
    }
    problems
}

/// What `validate --json` says of the file: each error's rule, key and position.
fn json_errors(file: &Path) -> Result<Vec<Expect>, String> {
    let out = run(&["validate".as_ref(), file.as_os_str(), "--json".as_ref()]);
    if out.status.code() != Some(1) {
        return Err(format!("validate --json: exit status {:?}, expected 1", out.status.code()));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("validate --json: {e}"))?;
    let errors = v["errors"].as_array().ok_or("validate --json: no errors array")?;
    Ok(errors
        .iter()
        .map(|e| Expect {
            rule: e["rule"].as_str().unwrap_or("(none)").to_string(),
            key: e["key"].as_str().unwrap_or("").to_string(),
            line: e["line"].as_u64().unwrap_or(0) as usize,
            col: e["column"].as_u64().unwrap_or(0) as usize,
        })
        .collect())
}

#[test]
fn the_corpus_is_large_and_every_file_says_what_it_expects() {
    let files = corpus();
    assert!(files.len() >= 40, "only {} bad profiles", files.len());
    for f in &files {
        let text = header(f);
        assert!(text.starts_with("# "), "{}: the first line says what the mistake is", f.display());
        assert!(!expectations(f).is_empty(), "{} has no `# expect:` line", f.display());
    }
}

#[test]
fn every_bad_profile_fails_validate_with_its_expected_diagnostics() {
    let mut failures = Vec::new();
    for f in corpus() {
        let expects = expectations(&f);
        let out = run(&["validate".as_ref(), f.as_os_str()]);
        let mut problems = check(&f, &expects, &out);
        match json_errors(&f) {
            Ok(found) if found == expects => {}
            Ok(found) => problems.push(format!("validate --json found {found:?}, expected {expects:?}")),
            Err(e) => problems.push(e),
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}:\n  {}\n--- stderr:\n{}",
                f.display(),
                problems.join("\n  "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{} of the corpus failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_bad_profile_fails_build_and_writes_nothing() {
    let tmp = tempdir("build");
    let mut failures = Vec::new();
    for f in corpus() {
        let out_dir = tmp.join(f.file_stem().unwrap());
        let out = run(&["build".as_ref(), f.as_os_str(), "-o".as_ref(), out_dir.as_os_str()]);
        let problems = check(&f, &expectations(&f), &out);
        if !problems.is_empty() {
            failures.push(format!("{}: {}", f.display(), problems.join("; ")));
        }
        if out_dir.exists() {
            failures.push(format!("{}: build created {}", f.display(), out_dir.display()));
        }
    }
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "a failed build left files behind: {left:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn the_profiles_shipped_with_the_repository_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            let out = run(&["validate".as_ref(), p.as_os_str()]);
            assert_eq!(out.status.code(), Some(0), "{}: {}", p.display(), String::from_utf8_lossy(&out.stderr));
        }
    }
}

#[test]
fn usage_mistakes_exit_2() {
    for args in [
        &[][..],
        &["bogus"][..],
        &["validate"][..],
        &["build", "profiles/homelab.toml", "--no-such-flag"][..],
        &["validate", "a.toml", "b.toml"][..],
    ] {
        let out = Command::new(BIN).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage") || stderr.contains("usage"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn unreadable_input_exits_1_with_the_reason() {
    let tmp = tempdir("input");
    std::fs::write(tmp.join("latin1.toml"), b"namespace = \"r\xe9dis\"\n").unwrap();
    std::fs::create_dir(tmp.join("dir.toml")).unwrap();
    // Sealed data that is not UTF-8, beside a valid profile.
    std::fs::write(tmp.join("p.toml"), "").unwrap();
    std::fs::write(tmp.join("p.sealed.yaml"), b"scope: strict\nsecret_name: \"\x1b[2J\xc3\"\n").unwrap();
    let cases = [
        (tmp.join("missing.toml"), "cannot read"),
        (tmp.join("latin1.toml"), "latin1.toml:1:15: not UTF-8"),
        (tmp.join("dir.toml"), "cannot read"),
        (tmp.join("p.toml"), "p.sealed.yaml:2:19: not UTF-8"),
    ];
    for (path, fragment) in cases {
        let out = run(&["validate".as_ref(), path.as_os_str()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", path.display());
        assert!(stderr.contains(fragment) && stderr.contains(&tmp.display().to_string()), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        // Neither a raw invalid byte nor a terminal escape reaches the terminal.
        assert!(std::str::from_utf8(&out.stderr).is_ok() && !stderr.contains('\u{1b}'), "{stderr:?}");
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn a_hostile_file_name_is_shown_escaped() {
    let tmp = tempdir("name");
    let path = tmp.join("evil\n\u{1b}[2Jname.toml");
    std::fs::write(&path, "replica_count = \"x\"\n").unwrap();
    let out = run(&["validate".as_ref(), path.as_os_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(stderr.contains("evil\\n\\u{1b}[2Jname.toml:1:17: `replica_count`"), "{stderr:?}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

fn tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("redis-gen-errors-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn warnings_are_diagnostics_with_a_rule_a_key_and_a_position() {
    let tmp = tempdir("warnings");
    let profile = tmp.join("p.toml");
    std::fs::write(&profile, "replica_namespaces = []\nsecret_name = \"renamed\"\n").unwrap();
    // Sealed (strict scope) for the Secret's old name: not used, and said where the name is.
    std::fs::write(
        tmp.join("p.sealed.yaml"),
        format!(
            "scope: strict\nsecret_name: redis-credentials\npublic_key_sha256: {}\nsecrets:\n  redis:\n    redis-password: AAEHAAAAAAAAAAAAAAAAAAAAAA==\n",
            "ab".repeat(32)
        ),
    )
    .unwrap();
    let out = run(&["validate".as_ref(), profile.as_os_str(), "--json".as_ref()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<_> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["rule"].as_str(), w["key"].as_str(), w["line"].as_u64(), w["column"].as_u64()))
        .collect();
    assert_eq!(
        found,
        [(Some("sealed"), Some("secret_name"), Some(2), Some(15)), (Some("placeholder"), None, None, None)]
    );

    let out = run(&["validate".as_ref(), profile.as_os_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let head = format!("warning: {}:2:15: `secret_name`: the sealed data was sealed (strict scope)", profile.display());
    assert!(stderr.starts_with(&head), "{stderr}");
    assert!(stderr.contains("    2 | secret_name = \"renamed\"\n      |               ^^^^^^^^^\n"), "{stderr}");
    assert!(stderr.contains(&format!("warning: {}: no sealed password", profile.display())), "{stderr}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
