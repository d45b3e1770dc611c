//! Drift: how a directory on disk differs from the bundle `build` would write
//! there, for `check` (the list), `diff` (a unified diff) and `build` itself
//! (an empty list: nothing to write). Pure: `read` reads the directory into a
//! `Tree`; this module only compares values.
//!
//! This is the one definition of "out/ is what `build` writes": exactly the
//! bundle's files and the marker, byte for byte, each a regular file of mode
//! 0644 with no second name (a hard link elsewhere could change it), in
//! directories of mode 0755, the output directory included. Anything else, a
//! stale file, an empty directory, a symlink, another mode, is drift.

use std::collections::{BTreeMap, BTreeSet};

use super::read::{Entry, Tree};
use super::{DIR_MODE, FILE_MODE, MARKER, MARKER_TEXT};
use crate::bundle::Bundle;

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

/// What `build` leaves in the output directory: files by relative path
/// (the marker included) and the directories that hold them.
pub struct Expected<'a> {
    files: BTreeMap<&'a str, &'a [u8]>,
    dirs: BTreeSet<&'a str>,
}

impl<'a> Expected<'a> {
    pub fn of(bundle: &'a Bundle) -> Expected<'a> {
        let files: BTreeMap<&str, &[u8]> = bundle
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.contents.as_slice()))
            .chain([(MARKER, MARKER_TEXT.as_bytes())])
            .collect();
        let dirs = files.keys().flat_map(|f| f.match_indices('/').map(|(i, _)| &f[..i])).collect();
        Expected { files, dirs }
    }

    /// The number of files (never zero: the marker is one).
    pub fn files(&self) -> usize {
        self.files.len()
    }

    /// How `entry`, found at `path`, differs from what `build` puts there
    /// (`None`: it is exactly that). Paths build does not write are extra.
    pub fn check(&self, path: &str, entry: &Entry) -> Option<Change> {
        match (self.files.get(path), entry) {
            (Some(want), Entry::File { contents, mode, links }) => {
                (!(contents == want && *mode == FILE_MODE && *links == 1)).then_some(Change::Different)
            }
            // A directory or a symlink where a file belongs.
            (Some(_), _) => Some(Change::Different),
            (None, Entry::Dir { mode }) if self.dirs.contains(path) => (*mode != DIR_MODE).then_some(Change::Different),
            (None, _) => Some(Change::Extra),
        }
    }
}

/// Every difference between `tree` and what `bundle` would write, by path
/// (the output directory itself is `""`, directories end with `/`).
pub fn compare(bundle: &Bundle, tree: &Tree) -> Vec<Drift> {
    let expected = Expected::of(bundle);
    let mut out = Vec::new();
    if tree.exists && tree.mode != DIR_MODE {
        out.push(Drift { path: String::new(), change: Change::Different });
    }
    for (path, entry) in &tree.entries {
        if let Some(change) = expected.check(path, entry) {
            // A directory where a file belongs keeps the file's path.
            let path = if matches!(entry, Entry::Dir { .. }) && !expected.files.contains_key(path.as_str()) {
                format!("{path}/")
            } else {
                path.clone()
            };
            out.push(Drift { path, change });
        }
    }
    for path in expected.files.keys().filter(|p| !tree.entries.contains_key(**p)) {
        out.push(Drift { path: path.to_string(), change: Change::Missing });
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
        // What differs is not the contents: one line, as `git diff` says a mode.
        let name = if d.path.is_empty() { shown_dir("") } else { shown(d.path.trim_end_matches('/')) };
        match have {
            None if d.path.is_empty() => {
                out.push_str(&format!("Mode of {name}: {:04o}; build makes it {DIR_MODE:04o}\n", tree.mode));
                continue;
            }
            Some(Entry::Dir { mode }) if want.is_none() && d.change == Change::Different => {
                out.push_str(&format!("Mode of {name}/: {mode:04o}; build makes it {DIR_MODE:04o}\n"));
                continue;
            }
            Some(Entry::File { contents, mode, links }) if want == Some(contents.as_slice()) => {
                if *mode != FILE_MODE {
                    out.push_str(&format!("Mode of {name}: {mode:04o}; build writes it {FILE_MODE:04o}\n"));
                }
                if *links != 1 {
                    out.push_str(&format!("{name} has {links} names; build writes it with one\n"));
                }
                continue;
            }
            _ => {}
        }
        let (old_name, new_name) = (format!("a/{}", shown(&d.path)), format!("b/{}", shown(&d.path)));
        let old = match have {
            Some(Entry::File { contents, .. }) => Some(contents.as_slice()),
            None => None,
            Some(Entry::Dir { .. }) | Some(Entry::Other) => {
                let what = if matches!(have, Some(Entry::Dir { .. })) { "a directory" } else { "not a regular file" };
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
            b.files.iter().map(|f| (f.path.clone(), file(&f.contents))).collect();
        entries.insert("sub".into(), Entry::Dir { mode: DIR_MODE });
        entries.insert(MARKER.into(), file(MARKER_TEXT.as_bytes()));
        Tree { exists: true, mode: DIR_MODE, entries }
    }

    fn changes(drifts: &[Drift]) -> Vec<(&str, Change)> {
        drifts.iter().map(|d| (d.path.as_str(), d.change)).collect()
    }

    fn file(contents: &[u8]) -> Entry {
        Entry::File { contents: contents.to_vec(), mode: FILE_MODE, links: 1 }
    }

    #[test]
    fn a_fresh_build_has_no_drift() {
        assert_eq!(compare(&bundle(), &tree_of(&bundle())), []);
    }

    #[test]
    fn missing_extra_and_different_files_are_named() {
        let mut t = tree_of(&bundle());
        t.entries.insert("a.yaml".into(), file(b"one\nTWO\n"));
        t.entries.remove("sub/b.yaml");
        t.entries.insert("old".into(), Entry::Dir { mode: DIR_MODE });
        t.entries.insert("old/c.yaml".into(), file(b"x\n"));
        t.entries.insert("link.yaml".into(), Entry::Other);
        t.entries.insert("old/empty".into(), file(b""));
        t.entries.remove(MARKER);
        let d = compare(&bundle(), &t);
        assert_eq!(
            changes(&d),
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
        t.entries.insert("a.yaml".into(), Entry::Dir { mode: DIR_MODE });
        let d = compare(&bundle(), &t);
        assert_eq!(d, [Drift { path: "a.yaml".into(), change: Change::Different }]);
    }

    #[test]
    fn modes_link_counts_and_the_marker_text_are_part_of_what_build_writes() {
        let mut t = tree_of(&bundle());
        t.mode = 0o700;
        t.entries.insert("sub".into(), Entry::Dir { mode: 0o775 });
        t.entries.insert("a.yaml".into(), Entry::File { contents: b"one\ntwo\n".to_vec(), mode: 0o600, links: 2 });
        t.entries.insert(MARKER.into(), file(b"mine\n"));
        let d = compare(&bundle(), &t);
        assert_eq!(
            changes(&d),
            [
                ("", Change::Different),
                (".redis-gen", Change::Different),
                ("a.yaml", Change::Different),
                ("sub/", Change::Different)
            ]
        );
        let text = unified(&bundle(), &t, &d, "out");
        assert!(text.starts_with("Mode of out: 0700; build makes it 0755\n"), "{text}");
        assert!(text.contains("+++ b/out/.redis-gen\n"), "{text}");
        assert!(
            text.contains(
                "Mode of out/a.yaml: 0600; build writes it 0644\nout/a.yaml has 2 names; build writes it with one\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("Mode of out/sub/: 0775; build makes it 0755\n"), "{text}");
    }
}
