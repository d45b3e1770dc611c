//! README stays true: its profile reference is the key table, and its two
//! commands are the ones CI and users run.

mod common;

use common::root;
use redis_gen::profile::keys::{Dflt, KEYS, Ty};

fn default_text(d: Dflt) -> String {
    match d {
        Dflt::Str(s) => format!("`\"{s}\"`"),
        Dflt::Int(i) => format!("`{i}`"),
        Dflt::Bool(b) => format!("`{b}`"),
        Dflt::List(l) => format!("`[{}]`", l.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")),
        Dflt::EmptyMap => "`{}`".into(),
        Dflt::Derived(k) => format!("same as `{k}`"),
    }
}

fn type_text(t: Ty) -> &'static str {
    match t {
        Ty::Str => "string",
        Ty::Int => "integer",
        Ty::Bool => "bool",
        Ty::StrList => "list(string)",
        Ty::StrMap => "map(string)",
    }
}

/// The profile reference table as README must show it.
fn reference() -> String {
    let mut out = String::new();
    let mut group = "";
    for k in KEYS {
        if k.group != group {
            group = k.group;
            out.push_str(&format!(
                "\n#### {group}\n\n| Key | Type | Default | Seed input | Meaning |\n|---|---|---|---|---|\n"
            ));
        }
        let seed = if k.seed.is_some() { "yes" } else { "" };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            k.name,
            type_text(k.ty),
            default_text(k.default),
            seed,
            k.doc.replace('|', "\\|")
        ));
    }
    out
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

#[test]
fn readme_profile_reference_matches_the_key_table() {
    let want = reference();
    let readme = readme();
    let start =
        readme.find("<!-- keys:begin -->").expect("README has a keys:begin marker") + "<!-- keys:begin -->".len();
    let end = readme.find("<!-- keys:end -->").expect("README has a keys:end marker");
    assert!(readme[start..end] == want, "README's profile reference is stale; replace it with:\n{want}");
}

#[test]
fn readme_shows_the_ci_test_command() {
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(ci.lines().any(|l| l.trim() == "exec tests/run"));
    assert!(readme().contains("\ntests/run\n"), "README must show `tests/run` as the test command");
}
