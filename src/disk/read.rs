//! Reading an output directory back whole, for `check`, `diff` and the
//! build's "nothing to write" test: every file with its bytes, mode and link
//! count, every directory with its mode, and whatever else is there, without
//! following symlinks. Top-level directories (a fleet's members) are read in
//! parallel.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{DiskError, io_err};
use crate::par;

/// One entry found under the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A regular file: its bytes, permission bits and number of names.
    File { contents: Vec<u8>, mode: u32, links: u64 },
    /// A directory and its permission bits.
    Dir { mode: u32 },
    /// A symlink, socket, FIFO, device...: never something `build` writes.
    Other,
}

/// A directory as read from disk: relative `/`-separated path -> entry.
/// `exists` is false when there was no directory at all; `mode` is the
/// permission bits of the directory itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    pub exists: bool,
    pub mode: u32,
    pub entries: BTreeMap<String, Entry>,
}

/// Reads the directory `target` whole. A missing directory is an empty,
/// non-existent tree; a symlink or a file is refused.
pub fn read_tree(target: &Path) -> Result<Tree, DiskError> {
    let Some(mode) = dir_mode(target)? else { return Ok(Tree::default()) };
    let parts = walk(target, BTreeMap::new, |entries, rel, entry| {
        entries.insert(rel, entry);
        true
    })?;
    Ok(Tree { exists: true, mode, entries: parts.into_iter().flatten().collect() })
}

/// The permission bits of the directory `target`, `None` if it is absent.
pub(super) fn dir_mode(target: &Path) -> Result<Option<u32>, DiskError> {
    match fs::symlink_metadata(target) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(DiskError::Io(target.to_path_buf(), e)),
        Ok(m) if !m.is_dir() => Err(DiskError::NotADirectory(target.to_path_buf())),
        Ok(m) => Ok(Some(m.mode() & 0o7777)),
    }
}

/// Hands every entry under `target` (relative path, entry) to `visit`, with
/// one state (from `new`) for the top level and one per top-level
/// subdirectory, those read in parallel; a part stops at the first `false`.
/// The states come back in order: top level, then subdirectories by name.
pub(super) fn walk<S: Send>(
    target: &Path,
    new: impl Fn() -> S + Sync,
    visit: impl Fn(&mut S, String, Entry) -> bool + Sync,
) -> Result<Vec<S>, DiskError> {
    let mut top = new();
    let mut subdirs = Vec::new();
    read_dir(target, "", &mut top, &visit, &mut subdirs)?;
    subdirs.sort();
    let rest = par::map(&subdirs, |(dir, prefix)| {
        let mut state = new();
        let mut pending = vec![(dir.clone(), prefix.clone())];
        while let Some((dir, prefix)) = pending.pop() {
            if !read_dir(&dir, &prefix, &mut state, &visit, &mut pending)? {
                break;
            }
        }
        Ok(state)
    });
    std::iter::once(Ok(top)).chain(rest).collect()
}

/// The entries of `dir` itself, to `visit`; its subdirectories go to
/// `pending`. `false` when `visit` asked to stop.
fn read_dir<S>(
    dir: &Path,
    prefix: &str,
    state: &mut S,
    visit: &impl Fn(&mut S, String, Entry) -> bool,
    pending: &mut Vec<(PathBuf, String)>,
) -> Result<bool, DiskError> {
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let path = entry.path();
        let rel = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let kind = entry.file_type().map_err(io_err(&path))?;
        let found = if kind.is_dir() {
            let mode = entry.metadata().map_err(io_err(&path))?.mode() & 0o7777;
            pending.push((path, format!("{rel}/")));
            Entry::Dir { mode }
        } else if kind.is_file() {
            file_entry(&path)?
        } else {
            Entry::Other
        };
        if !visit(state, rel, found) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A regular file's entry: one open that follows no symlink and does not
/// block on a FIFO swapped in since the listing, one fstat, then the bytes.
pub(super) fn file_entry(path: &Path) -> Result<Entry, DiskError> {
    use rustix::fs::{Mode, OFlags, open};
    let f = match open(path, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => File::from(fd),
        // Replaced by a symlink since the listing.
        Err(rustix::io::Errno::LOOP) => return Ok(Entry::Other),
        Err(e) => return Err(DiskError::Io(path.to_path_buf(), e.into())),
    };
    let m = f.metadata().map_err(io_err(path))?;
    if !m.is_file() {
        return Ok(Entry::Other);
    }
    let mut contents = Vec::with_capacity(m.len() as usize);
    (&f).read_to_end(&mut contents).map_err(io_err(path))?;
    Ok(Entry::File { contents, mode: m.mode() & 0o7777, links: m.nlink() })
}
