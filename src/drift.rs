//! Drift: how a directory on disk differs from the bundle `build` would write
//! there, for `check` (the list) and `diff` (a unified diff). Pure: `disk`
//! reads the directory into a `Tree`; this module only compares values.
//!
//! The directory must hold exactly the bundle's files, byte for byte, plus the
//! marker file (which must exist; its contents are not compared). Anything
//! else, a stale file, an empty directory, a symlink, is drift.

use std::collections::{BTreeMap, BTreeSet};

use crate::bundle::Bundle;
use crate::disk::{MARKER, MARKER_TEXT};

/// One entry found under the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File(Vec<u8>),
    Dir,
    /// A symlink, socket, device...: never something `build` writes.
    Other,
}

/// A directory as read from disk: relative `/`-separated path -> entry.
/// `exists` is false when there was no directory at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    pub exists: bool,
    pub entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// `build` would write it; it is not there.
    Missing,
    /// It is there; `build` would not write it.
    Extra,
    /// Both have it, with other contents (or not as a regular file).
    Different,
}

/// One path that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// Relative path; directories end with `/`.
    pub path: String,
    pub change: Change,
}

/// Every difference between `tree` and what `bundle` would write, by path.
pub fn compare(bundle: &Bundle, tree: &Tree) -> Vec<Drift> {
    let mut out = Vec::new();
    let mut expected_dirs = BTreeSet::new();
    let expected: BTreeMap<&str, Option<&[u8]>> =
        bundle.files.iter().map(|f| (f.path.as_str(), Some(f.contents.as_slice()))).chain([(MARKER, None)]).collect();
    for (path, want) in &expected {
        let mut dir = *path;
        while let Some((parent, _)) = dir.rsplit_once('/') {
            expected_dirs.insert(parent);
            dir = parent;
        }
        let change = match (tree.entries.get(*path), want) {
            (None, _) => Some(Change::Missing),
            (Some(Entry::File(_)), None) => None,
            (Some(Entry::File(have)), Some(want)) if have == want => None,
            _ => Some(Change::Different),
        };
        if let Some(change) = change {
            out.push(Drift { path: path.to_string(), change });
        }
    }
    for (path, entry) in &tree.entries {
        let extra = match entry {
            // A directory where a file belongs was reported as different.
            Entry::Dir => !expected_dirs.contains(path.as_str()) && !expected.contains_key(path.as_str()),
            _ => !expected.contains_key(path.as_str()),
        };
        if extra {
            let path = if *entry == Entry::Dir { format!("{path}/") } else { path.clone() };
            out.push(Drift { path, change: Change::Extra });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// A unified diff that turns `tree` (under `root`, as shown in the headers)
/// into what `bundle` would write: `--- a/<root>/<path>` is what is on disk,
/// `+++ b/<root>/<path>` what `build` would write, `/dev/null` for a missing
/// or extra file, as `git diff` writes them (`patch -p1` applies it). What a
/// diff cannot say (directories, symlinks, binary files) is one line each.
pub fn unified(bundle: &Bundle, tree: &Tree, drifts: &[Drift], root: &str) -> String {
    let root = root.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
    // Paths are escaped: a stray file's name may hold a newline or an escape
    // sequence. Contents are printed as they are, as diff(1) does.
    let root = crate::diag::escape(root);
    let root = root.as_str();
    let shown = |p: &str| {
        let p = crate::diag::escape(p);
        if root.is_empty() { p } else { format!("{root}/{p}") }
    };
    // `Only in DIR: NAME`, as diff -r says it.
    let shown_dir = |p: &str| match p.trim_end_matches('/').rsplit_once('/') {
        Some((parent, _)) => shown(parent),
        None if root.is_empty() => ".".to_string(),
        None => root.to_string(),
    };
    let file_part = |p: &str| crate::diag::escape(p.trim_end_matches('/').rsplit('/').next().unwrap_or_default());
    let mut out = String::new();
    for d in drifts {
        let want: Option<&[u8]> = if d.path == MARKER {
            Some(MARKER_TEXT.as_bytes())
        } else {
            bundle.get(&d.path).map(|f| f.contents.as_slice())
        };
        let have = tree.entries.get(d.path.trim_end_matches('/'));
        let (old_name, new_name) = (format!("a/{}", shown(&d.path)), format!("b/{}", shown(&d.path)));
        let old = match have {
            Some(Entry::File(bytes)) => Some(bytes.as_slice()),
            None => None,
            Some(Entry::Dir) | Some(Entry::Other) => {
                let what = if have == Some(&Entry::Dir) { "a directory" } else { "not a regular file" };
                out.push_str(&format!("Only in {}: {} ({what})\n", shown_dir(&d.path), file_part(&d.path)));
                if want.is_none() {
                    continue;
                }
                None
            }
        };
        let (old_text, new_text) = match (text(old), text(want)) {
            (Some(o), Some(n)) => (o, n),
            _ => {
                out.push_str(&format!("Binary files {old_name} and {new_name} differ\n"));
                continue;
            }
        };
        let old_header = if old.is_some() { old_name } else { "/dev/null".to_string() };
        let new_header = if want.is_some() { new_name } else { "/dev/null".to_string() };
        let diff = similar::TextDiff::from_lines(old_text, new_text);
        let hunks = diff.unified_diff().context_radius(3).header(&old_header, &new_header).to_string();
        if hunks.is_empty() {
            // An empty file has no line to remove: a diff cannot say it is there.
            out.push_str(&format!("Only in {}: {} (an empty file)\n", shown_dir(&d.path), file_part(&d.path)));
        }
        out.push_str(&hunks);
    }
    out
}

/// The text of a file, `""` for an absent one, `None` for a binary one.
fn text(bytes: Option<&[u8]>) -> Option<&str> {
    match bytes {
        None => Some(""),
        Some(b) => std::str::from_utf8(b).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::File;

    fn bundle() -> Bundle {
        Bundle {
            files: vec![
                File { path: "a.yaml".into(), contents: b"one\ntwo\n".to_vec() },
                File { path: "sub/b.yaml".into(), contents: b"three\n".to_vec() },
            ],
        }
    }

    fn tree_of(b: &Bundle) -> Tree {
        let mut entries: BTreeMap<String, Entry> =
            b.files.iter().map(|f| (f.path.clone(), Entry::File(f.contents.clone()))).collect();
        entries.insert("sub".into(), Entry::Dir);
        entries.insert(MARKER.into(), Entry::File(b"anything".to_vec()));
        Tree { exists: true, entries }
    }

    #[test]
    fn a_fresh_build_has_no_drift() {
        assert_eq!(compare(&bundle(), &tree_of(&bundle())), []);
    }

    #[test]
    fn missing_extra_and_different_files_are_named() {
        let mut t = tree_of(&bundle());
        t.entries.insert("a.yaml".into(), Entry::File(b"one\nTWO\n".to_vec()));
        t.entries.remove("sub/b.yaml");
        t.entries.insert("old".into(), Entry::Dir);
        t.entries.insert("old/c.yaml".into(), Entry::File(b"x\n".to_vec()));
        t.entries.insert("link.yaml".into(), Entry::Other);
        t.entries.insert("old/empty".into(), Entry::File(vec![]));
        t.entries.remove(MARKER);
        let d = compare(&bundle(), &t);
        let got: Vec<_> = d.iter().map(|d| (d.path.as_str(), d.change)).collect();
        assert_eq!(
            got,
            [
                (".redis-gen", Change::Missing),
                ("a.yaml", Change::Different),
                ("link.yaml", Change::Extra),
                ("old/", Change::Extra),
                ("old/c.yaml", Change::Extra),
                ("old/empty", Change::Extra),
                ("sub/b.yaml", Change::Missing),
            ]
        );
        let text = unified(&bundle(), &t, &d, "out");
        assert!(text.contains("--- a/out/a.yaml\n+++ b/out/a.yaml\n@@ -1,2 +1,2 @@\n one\n-TWO\n+two\n"), "{text}");
        assert!(text.contains("--- /dev/null\n+++ b/out/sub/b.yaml\n@@ -0,0 +1 @@\n+three\n"), "{text}");
        assert!(text.contains("--- a/out/old/c.yaml\n+++ /dev/null\n"), "{text}");
        assert!(text.contains("Only in out: link.yaml (not a regular file)\n"), "{text}");
        assert!(text.contains("Only in out: old (a directory)\n"), "{text}");
        assert!(text.contains("Only in out/old: empty (an empty file)\n"), "{text}");
        assert!(text.contains("+++ b/out/.redis-gen\n"), "{text}");
    }

    #[test]
    fn a_directory_where_a_file_belongs_is_different() {
        let mut t = tree_of(&bundle());
        t.entries.insert("a.yaml".into(), Entry::Dir);
        let d = compare(&bundle(), &t);
        assert_eq!(d, [Drift { path: "a.yaml".into(), change: Change::Different }]);
    }
}
