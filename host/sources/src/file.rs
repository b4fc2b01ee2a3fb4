//! Plugins from files on the controller's filesystem: a watcher that says
//! when a plugin file may have changed, and [`read_plugin`], which reads one
//! only once it is completely written.
//!
//! The watcher watches each file's *directory* (not recursively), never the
//! file itself: a watch on a file follows its inode, and both common ways of
//! updating a file replace the inode rather than writing into it:
//!
//! - a ConfigMap mounted as a volume: `dir/plugin.wasm -> ..data/plugin.wasm`
//!   and `..data -> ..2026_11_28_…`; the kubelet writes a new timestamped
//!   directory, points a new `..data_tmp` symlink at it and renames that over
//!   `..data`: nothing named `plugin.wasm` is touched at all;
//! - editors and `install`-like tools write a temporary file and rename it
//!   over the old one.
//!
//! Events are debounced: a path is reported once its directory has been
//! quiet for a while (200 ms by default), and only if the file it names
//! changed (its inode, size or times, following symlinks), so that a burst
//! of events (open, several writes, close) is one notification, and events
//! about the directory's other files are none.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures::{Stream, StreamExt as _};
use notify::event::AccessKind;
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use wasm_issuer_runtime::Digest;

/// How long a file's directory must be quiet before a change is reported.
pub const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// The pause between the two reads [`read_plugin`] compares.
const SETTLE_PAUSE: Duration = Duration::from_millis(50);

/// How long [`read_plugin`] waits for a file being written to be complete.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a plugin file could not be watched or read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot start watching plugin files: {0}")]
    Start(notify::Error),
    #[error("cannot watch plugin file {}: {source}", path.display())]
    Watch {
        path: PathBuf,
        source: notify::Error,
    },
    #[error("cannot read plugin file {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "plugin file {} is incomplete ({detail}) after waiting {waited:?}: is it still being written?",
        path.display()
    )]
    Incomplete {
        path: PathBuf,
        detail: String,
        waited: Duration,
    },
    #[error(
        "plugin file {} kept changing while being read for {waited:?}: is it still being written?",
        path.display()
    )]
    Unsettled { path: PathBuf, waited: Duration },
}

/// Reads a plugin file (following symlinks) once it is completely written,
/// and returns its bytes and their digest.
///
/// A file may be caught mid-write (a `cp`, or a tool writing in place), and
/// compiling half a plugin only yields a confusing error. So the file is read
/// twice, 50 ms apart, and accepted only when both reads
/// are equal and, if it starts like WebAssembly, when its top-level sections
/// end exactly at the end of the file (a file cut short almost always ends
/// inside a section, even when its writer paused for longer than the pause).
/// Otherwise it is read again, for up to 2 s. Files that do not start like
/// WebAssembly are returned as they are: the runtime says what is wrong with
/// them better than a guess here.
///
/// Blocks (sleeps) for at least 50 ms: call it off the async executor, e.g.
/// with `tokio::task::spawn_blocking`.
pub fn read_plugin(path: &Path) -> Result<(Vec<u8>, Digest), FileError> {
    let start = Instant::now();
    let read = || {
        fs::read(path).map_err(|source| FileError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let mut previous = read()?;
    loop {
        thread::sleep(SETTLE_PAUSE);
        let current = read()?;
        let waited = start.elapsed();
        if current == previous {
            match check_complete(&current) {
                Ok(()) => {
                    let digest = Digest::of(&current);
                    return Ok((current, digest));
                }
                Err(detail) if waited >= SETTLE_TIMEOUT => {
                    return Err(FileError::Incomplete {
                        path: path.to_owned(),
                        detail,
                        waited,
                    });
                }
                Err(_) => {}
            }
        } else if waited >= SETTLE_TIMEOUT {
            return Err(FileError::Unsettled {
                path: path.to_owned(),
                waited,
            });
        }
        previous = current;
    }
}

/// Whether a file that starts like WebAssembly is complete: every top-level
/// section (an id byte, a LEB128 size, the payload: the same framing for
/// modules and components) fits in the file. Malformed framing counts as
/// complete: that is for the compiler to report.
fn check_complete(bytes: &[u8]) -> Result<(), String> {
    const MAGIC: &[u8] = b"\0asm";
    const PREAMBLE: usize = 8;
    if bytes.is_empty() {
        return Err("the file is empty".to_owned());
    }
    if bytes.len() < PREAMBLE {
        // A prefix of the magic is most likely the start of a WebAssembly
        // file; anything else is not one, and not ours to judge.
        return if MAGIC.starts_with(&bytes[..bytes.len().min(MAGIC.len())]) {
            Err(format!("only {} bytes", bytes.len()))
        } else {
            Ok(())
        };
    }
    if &bytes[..MAGIC.len()] != MAGIC {
        return Ok(());
    }
    if bytes.len() == PREAMBLE {
        // A valid but empty binary: no plugin looks like that, a writer that
        // has only just begun does.
        return Err("only the 8-byte preamble".to_owned());
    }
    let mut at = PREAMBLE;
    while at < bytes.len() {
        let section = at;
        at += 1; // the section id
        let (size, width) = match leb128_u32(&bytes[at..]) {
            Leb128::Value(size, width) => (size, width),
            Leb128::CutShort => {
                return Err(format!(
                    "the size of the section at byte {section} is cut short"
                ));
            }
            Leb128::Malformed => return Ok(()),
        };
        at += width;
        let end = at.saturating_add(size as usize);
        if end > bytes.len() {
            return Err(format!(
                "the section at byte {section} needs {size} bytes, only {} remain",
                bytes.len().saturating_sub(at)
            ));
        }
        at = end;
    }
    Ok(())
}

enum Leb128 {
    /// The value and how many bytes encoded it.
    Value(u32, usize),
    /// The bytes end before the number does.
    CutShort,
    /// Longer than 5 bytes or over `u32::MAX`.
    Malformed,
}

/// Decodes the unsigned LEB128 (at most 5 bytes) a section size is.
fn leb128_u32(bytes: &[u8]) -> Leb128 {
    let mut value: u64 = 0;
    for (index, &byte) in bytes.iter().enumerate().take(5) {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return match u32::try_from(value) {
                Ok(value) => Leb128::Value(value, index + 1),
                Err(_) => Leb128::Malformed,
            };
        }
    }
    if bytes.len() >= 5 {
        Leb128::Malformed
    } else {
        Leb128::CutShort
    }
}

/// Changes to watched plugin files: each item is a path exactly as given to
/// [`FileWatcher::watch`]. Ends when the [`FileWatcher`] is dropped.
pub struct FileChanges(UnboundedReceiver<PathBuf>);

impl Stream for FileChanges {
    type Item = PathBuf;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<PathBuf>> {
        self.0.poll_next_unpin(cx)
    }
}

/// Watches plugin files and reports, debounced, when one may have changed;
/// the caller then reads it with [`read_plugin`] and compares digests.
///
/// Shareable across threads. Dropping it stops the watching and ends the
/// [`FileChanges`] stream.
pub struct FileWatcher {
    shared: Arc<Mutex<Shared>>,
}

impl FileWatcher {
    /// A watcher with the default [`QUIET_PERIOD`], and its stream of changes.
    pub fn new() -> Result<(Self, FileChanges), FileError> {
        Self::with_quiet_period(QUIET_PERIOD)
    }

    /// A watcher that reports a change once a file's directory has been
    /// quiet for `quiet`.
    pub fn with_quiet_period(quiet: Duration) -> Result<(Self, FileChanges), FileError> {
        let (raw_sender, raw_events) = mpsc::channel();
        let watcher = notify::recommended_watcher(raw_sender).map_err(FileError::Start)?;
        let shared = Arc::new(Mutex::new(Shared {
            watcher,
            files: HashMap::new(),
            dirs: HashMap::new(),
        }));
        let (sender, changes) = unbounded();
        // The thread holds the state weakly: dropping the `FileWatcher` drops
        // the notify watcher, whose event sender then disconnects and ends
        // the thread, which drops `sender` and so ends the stream.
        let weak = Arc::downgrade(&shared);
        thread::Builder::new()
            .name("plugin-file-watcher".to_owned())
            .spawn(move || debounce(&raw_events, &weak, &sender, quiet))
            .map_err(|error| FileError::Start(notify::Error::io(error)))?;
        Ok((Self { shared }, FileChanges(changes)))
    }

    /// Starts reporting changes to the file at `path` (which need not exist
    /// yet; its directory must). Watching a path twice is harmless.
    pub fn watch(&self, path: impl AsRef<Path>) -> Result<(), FileError> {
        let path = path.as_ref();
        let mut shared = lock(&self.shared);
        if shared.files.contains_key(path) {
            return Ok(());
        }
        let fail = |source| FileError::Watch {
            path: path.to_owned(),
            source,
        };
        let located = Located::of(path).map_err(fail)?;
        shared.add_dirs(&located.dirs).map_err(fail)?;
        shared.files.insert(
            path.to_owned(),
            Watched {
                fingerprint: Fingerprint::of(&located.link),
                located,
            },
        );
        Ok(())
    }

    /// Stops reporting changes to `path`; false if it was not watched.
    pub fn unwatch(&self, path: impl AsRef<Path>) -> bool {
        let mut shared = lock(&self.shared);
        let Some(watched) = shared.files.remove(path.as_ref()) else {
            return false;
        };
        shared.remove_dirs(&watched.located.dirs);
        true
    }
}

/// The watcher's state, shared with the debouncing thread.
struct Shared {
    watcher: RecommendedWatcher,
    /// Keyed by the path as the caller gave it.
    files: HashMap<PathBuf, Watched>,
    /// Watched directories, with the number of files that need each.
    dirs: HashMap<PathBuf, usize>,
}

impl Shared {
    fn add_dirs(&mut self, dirs: &[PathBuf]) -> Result<(), notify::Error> {
        for (index, dir) in dirs.iter().enumerate() {
            if let Some(count) = self.dirs.get_mut(dir) {
                *count += 1;
                continue;
            }
            if let Err(error) = self.watcher.watch(dir, RecursiveMode::NonRecursive) {
                self.remove_dirs(&dirs[..index]);
                return Err(error);
            }
            self.dirs.insert(dir.clone(), 1);
        }
        Ok(())
    }

    fn remove_dirs(&mut self, dirs: &[PathBuf]) {
        for dir in dirs {
            let Some(count) = self.dirs.get_mut(dir) else {
                continue;
            };
            *count -= 1;
            if *count == 0 {
                self.dirs.remove(dir);
                // Fails when the directory is gone (a ConfigMap's old
                // timestamped directory), which removed the watch anyway.
                let _ = self.watcher.unwatch(dir);
            }
        }
    }

    /// The watched files (as their callers named them) that `event` may
    /// concern.
    fn concerned(&self, event: &Event) -> Vec<PathBuf> {
        if event.need_rescan() {
            // Events were lost: any file may have changed.
            return self.files.keys().cloned().collect();
        }
        // Opening and reading change nothing (and our own reads cause them).
        if matches!(
            event.kind,
            EventKind::Access(AccessKind::Open(_) | AccessKind::Read)
        ) {
            return Vec::new();
        }
        self.files
            .iter()
            .filter(|(_, watched)| {
                event
                    .paths
                    .iter()
                    .any(|path| watched.located.concerns(path))
            })
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// Re-locates a watched file (a swap may have moved its target) and says
    /// whether it changed since last reported.
    fn refresh(&mut self, path: &Path) -> bool {
        let Some(old) = self.files.get(path) else {
            return false; // unwatched meanwhile
        };
        let old_dirs = old.located.dirs.clone();
        let old_fingerprint = old.fingerprint;
        let located = match Located::of(path) {
            Ok(located) => located,
            Err(error) => {
                // Its directory is gone: report it (reading will say so),
                // and keep the watches we have.
                tracing::warn!(path = %path.display(), "cannot locate watched plugin file: {error}");
                let changed = old_fingerprint.is_some();
                if let Some(watched) = self.files.get_mut(path) {
                    watched.fingerprint = None;
                }
                return changed;
            }
        };
        if located.dirs != old_dirs {
            if let Err(error) = self.add_dirs(&located.dirs) {
                tracing::warn!(path = %path.display(), "cannot watch the new target of plugin file: {error}");
                return old_fingerprint.is_some();
            }
            self.remove_dirs(&old_dirs);
        }
        let fingerprint = Fingerprint::of(&located.link);
        if let Some(watched) = self.files.get_mut(path) {
            watched.located = located;
            watched.fingerprint = fingerprint;
        }
        fingerprint != old_fingerprint
    }
}

struct Watched {
    located: Located,
    /// What the file looked like when last reported (`None`: missing).
    fingerprint: Option<Fingerprint>,
}

/// Where a watched file is, in the canonical terms of the events about it.
#[derive(PartialEq, Eq)]
struct Located {
    /// The path in its canonicalized directory: events name it this way.
    link: PathBuf,
    /// Where `link` finally resolves to, if that is elsewhere.
    target: Option<PathBuf>,
    /// The directories to watch: `link`'s, and `target`'s if different.
    dirs: Vec<PathBuf>,
}

impl Located {
    fn of(path: &Path) -> Result<Self, notify::Error> {
        let name = path.file_name().ok_or_else(|| {
            notify::Error::generic("the path does not name a file").add_path(path.to_owned())
        })?;
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        // Canonical directories, so that one directory reached by two
        // spellings is watched (and named in events) once.
        let dir = fs::canonicalize(parent)
            .map_err(|error| notify::Error::io(error).add_path(parent.to_owned()))?;
        let link = dir.join(name);
        let mut dirs = vec![dir];
        let target = fs::canonicalize(&link)
            .ok()
            .filter(|target| *target != link);
        if let Some(target_dir) = target.as_deref().and_then(Path::parent)
            && !dirs.iter().any(|dir| dir == target_dir)
        {
            dirs.push(target_dir.to_owned());
        }
        Ok(Self { link, target, dirs })
    }

    /// Whether an event about `path` may mean this file changed.
    fn concerns(&self, path: &Path) -> bool {
        if path == self.link || Some(path) == self.target.as_deref() {
            return true;
        }
        // A watched directory itself was deleted or moved.
        if self.dirs.iter().any(|dir| dir == path) {
            return true;
        }
        // The kubelet's atomic writer: `..data`, `..data_tmp` and the
        // `..<timestamp>` directories. A swap never names the file itself.
        let in_link_dir = path.parent() == self.link.parent();
        let atomic_writer = path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with(".."));
        in_link_dir && atomic_writer
    }
}

/// What identifies a version of a file without reading it: a new inode (a
/// swap or rename), a new size, or new modification/change times (a write in
/// place).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Fingerprint {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Fingerprint {
    /// `None` if the file (following symlinks) does not exist or cannot be
    /// examined.
    fn of(path: &Path) -> Option<Self> {
        let metadata = fs::metadata(path).ok()?;
        Some(Self {
            dev: metadata.dev(),
            ino: metadata.ino(),
            len: metadata.len(),
            mtime: (metadata.mtime(), metadata.mtime_nsec()),
            ctime: (metadata.ctime(), metadata.ctime_nsec()),
        })
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // The state stays consistent between statements: a panic elsewhere while
    // holding the lock leaves nothing half-done worth refusing.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The debouncing thread: collects raw events into per-file deadlines, and
/// reports each file whose deadline passed if it actually changed.
fn debounce(
    raw_events: &mpsc::Receiver<notify::Result<Event>>,
    shared: &Weak<Mutex<Shared>>,
    changes: &UnboundedSender<PathBuf>,
    quiet: Duration,
) {
    let mut pending: HashMap<PathBuf, Instant> = HashMap::new();
    loop {
        let received = match pending.values().min() {
            None => raw_events
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected),
            Some(deadline) => {
                raw_events.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            }
        };
        match received {
            Ok(Ok(event)) => {
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let deadline = Instant::now() + quiet;
                for path in lock(&shared).concerned(&event) {
                    pending.insert(path, deadline);
                }
            }
            Ok(Err(error)) => {
                tracing::warn!("plugin file watcher error: {error}");
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        let due: Vec<PathBuf> = pending
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(path, _)| path.clone())
            .collect();
        if due.is_empty() {
            continue;
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let mut shared = lock(&shared);
        for path in due {
            pending.remove(&path);
            // A send fails only when nobody listens any more: then there is
            // no one to tell, but watching stays harmless.
            if shared.refresh(&path) {
                let _ = changes.unbounded_send(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_complete_wasm_from_cut_short() {
        // Preamble, then a custom section (id 0) of 3 bytes: name "a" + 1 byte.
        let complete = b"\0asm\x0d\0\x01\0\x00\x03\x01a\xff";
        assert_eq!(check_complete(complete), Ok(()));
        for len in 1..complete.len() {
            assert!(
                check_complete(&complete[..len]).is_err(),
                "{len} bytes taken as complete"
            );
        }
        assert!(check_complete(b"").is_err());
        // Not WebAssembly: not ours to judge.
        assert_eq!(check_complete(b"hello world"), Ok(()));
        assert_eq!(check_complete(b"hi"), Ok(()));
    }

    #[test]
    fn decodes_leb128() {
        assert!(matches!(leb128_u32(&[0x03]), Leb128::Value(3, 1)));
        assert!(matches!(
            leb128_u32(&[0xe5, 0x8e, 0x26]),
            Leb128::Value(624_485, 3)
        ));
        assert!(matches!(leb128_u32(&[0x80]), Leb128::CutShort));
        assert!(matches!(leb128_u32(&[]), Leb128::CutShort));
        assert!(matches!(leb128_u32(&[0x80; 5]), Leb128::Malformed));
        assert!(matches!(
            leb128_u32(&[0xff, 0xff, 0xff, 0xff, 0x7f]),
            Leb128::Malformed
        ));
    }
}
