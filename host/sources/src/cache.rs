//! The on-disk cache of compiled plugins, so that a restarted controller
//! loads a precompiled component in about a millisecond instead of compiling
//! it again (tens of milliseconds to seconds, per plugin, at every start).
//!
//! Layout: `<dir>/<compatibility hash>/<sha256 of the wasm>.cwasm`. The
//! compatibility hash ([`Runtime::compatibility_hash`]) changes with the
//! wasmtime version and the engine's settings, so an upgraded controller
//! never sees the artifacts of an older one; [`CompileCache::open`] deletes
//! those.
//!
//! Loading an artifact runs native code without validation, so the cache only
//! loads what it wrote itself (the safety contract of
//! [`Runtime::deserialize`]):
//!
//! - the directories are created `0700`, and [`CompileCache::open`] refuses a
//!   directory owned by another user or one it cannot make private;
//! - each entry is written to a temporary file and renamed into place, so a
//!   reader never sees half an entry;
//! - each entry starts with a one-line header naming the wasm's digest and the
//!   sha256 and length of the artifact, checked before deserializing: a
//!   truncated, corrupted or misplaced entry is deleted and the component is
//!   compiled again. (The hash guards against accidents; the private
//!   directory is what keeps others from planting code.)
//!
//! The cache never fails a caller for its own sake: an unreadable entry is
//! recompiled, and an entry that cannot be written only costs a compilation
//! at the next start (both are logged). Only compilation errors and an
//! unusable directory at [`CompileCache::open`] are errors.
//!
//! Unix only: it relies on file modes and owners.

use std::fs::{self, DirBuilder, File, FileTimes, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use wasm_issuer_runtime::{CompiledComponent, Digest, LoadError, Runtime};

/// The first field of every entry's header: bump it when the format changes
/// (old entries then fail verification and are recompiled).
const FORMAT: &str = "wasm-issuer-cwasm/1";

/// The header is one short line; anything longer is not ours.
const MAX_HEADER: usize = 256;

/// Entries being written are temporary files with this prefix, invisible to
/// lookups and eviction until renamed.
const TEMP_PREFIX: &str = ".tmp-";

/// A temporary file older than this was left by a crash (writing an entry
/// takes milliseconds), and is removed at [`CompileCache::open`].
const STALE_TEMP: Duration = Duration::from_secs(600);

const ENTRY_SUFFIX: &str = ".cwasm";

/// Why the cache could not be opened, or a plugin not compiled.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("compile cache directory {}: {source}", path.display())]
    Dir { path: PathBuf, source: io::Error },
    #[error(
        "compile cache directory {} is not private to this user (owner uid {owner}, mode {mode:o}): refusing to load compiled code from it",
        path.display()
    )]
    NotPrivate {
        path: PathBuf,
        owner: u32,
        mode: u32,
    },
    #[error("plugin {digest}: {source}")]
    Compile { digest: Digest, source: LoadError },
}

/// Where a compiled component came from, and how long getting it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// Compiled now (not in the cache, or its entry was unusable). `took`
    /// counts the lookup and the compilation, not writing the new entry.
    Compiled { took: Duration },
    /// Loaded from the cache (read, verified, deserialized).
    Cached { took: Duration },
}

impl Provenance {
    pub fn took(&self) -> Duration {
        match *self {
            Self::Compiled { took } | Self::Cached { took } => took,
        }
    }

    pub fn is_cached(&self) -> bool {
        matches!(self, Self::Cached { .. })
    }
}

/// An on-disk cache of compiled components, bounded in size. Cheap to share
/// across threads (`&self` everywhere); several processes may share a
/// directory too, since every write is an atomic rename.
#[derive(Debug)]
pub struct CompileCache {
    dir: PathBuf,
    max_bytes: u64,
}

impl CompileCache {
    /// Opens (creating it `0700` if need be) the cache in `dir`, keeping at
    /// most `max_bytes` of entries. Entries for other compatibility hashes
    /// than `runtime`'s (an older wasmtime or other engine settings) are
    /// deleted, as are temporary files left by a crash.
    pub fn open(
        dir: impl Into<PathBuf>,
        max_bytes: u64,
        runtime: &Runtime,
    ) -> Result<Self, CacheError> {
        let cache = Self {
            dir: dir.into(),
            max_bytes,
        };
        private_dir(&cache.dir)?;
        let compat = runtime.compatibility_hash();
        cache.remove_other_compatibilities(&compat);
        let entries = cache.dir.join(&compat);
        private_dir(&entries)?;
        remove_stale_temp_files(&entries);
        // The bound may have shrunk since the last run.
        cache.evict(&entries, None);
        Ok(cache)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Where the entry for `digest` compiled by `runtime` lives (whether or
    /// not it exists).
    pub fn entry_path(&self, runtime: &Runtime, digest: &Digest) -> PathBuf {
        self.entry_path_for(&runtime.compatibility_hash(), digest)
    }

    /// The compiled form of `wasm`: loaded from the cache if a valid entry is
    /// there (marking it recently used), compiled otherwise and then stored
    /// (evicting the least recently used entries beyond the size bound).
    ///
    /// Fails only if `wasm` does not compile.
    pub fn load_or_compile(
        &self,
        runtime: &Runtime,
        wasm: &[u8],
    ) -> Result<(CompiledComponent, Provenance), CacheError> {
        let start = Instant::now();
        let digest = Digest::of(wasm);
        let compat = runtime.compatibility_hash();
        let path = self.entry_path_for(&compat, &digest);
        match load_entry(runtime, &path, digest) {
            Ok(Some(component)) => {
                let took = start.elapsed();
                tracing::debug!(%digest, path = %path.display(), ?took, "compiled plugin loaded from the cache");
                return Ok((component, Provenance::Cached { took }));
            }
            Ok(None) => {}
            Err(reason) => {
                tracing::warn!(%digest, path = %path.display(), "discarding unusable compile cache entry: {reason}");
                remove_file_if_present(&path);
            }
        }
        let component = runtime
            .compile(wasm)
            .map_err(|source| CacheError::Compile { digest, source })?;
        let took = start.elapsed();
        if let Err(reason) = self.store(runtime, &path, &component) {
            tracing::warn!(%digest, path = %path.display(), "cannot write compile cache entry (the plugin will be compiled again next time): {reason}");
        }
        Ok((component, Provenance::Compiled { took }))
    }

    fn entry_path_for(&self, compat: &str, digest: &Digest) -> PathBuf {
        let text = digest.to_string();
        let hex = text.strip_prefix("sha256:").unwrap_or(&text);
        self.dir.join(compat).join(format!("{hex}{ENTRY_SUFFIX}"))
    }

    /// Writes `component`'s entry at `path` atomically, then enforces the
    /// size bound.
    fn store(
        &self,
        runtime: &Runtime,
        path: &Path,
        component: &CompiledComponent,
    ) -> Result<(), String> {
        let artifact = runtime.serialize(component).map_err(|e| e.to_string())?;
        let header = header(component.digest(), &artifact);
        let size = (header.len() + artifact.len()) as u64;
        if size > self.max_bytes {
            // Storing it would evict everything else and then itself.
            return Err(format!(
                "the entry ({size} bytes) is larger than the whole cache ({} bytes)",
                self.max_bytes
            ));
        }
        let entries = path
            .parent()
            .ok_or_else(|| format!("{} has no parent directory", path.display()))?;
        // Normally made by `open`; not if another runtime (another
        // compatibility hash) uses this cache.
        private_dir(entries).map_err(|e| e.to_string())?;
        let mut temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .suffix(ENTRY_SUFFIX)
            .tempfile_in(entries)
            .map_err(|e| {
                format!(
                    "cannot create a temporary file in {}: {e}",
                    entries.display()
                )
            })?;
        // No fsync: an entry lost or torn by a crash fails verification and
        // is recompiled, which is cheaper than syncing every write.
        temp.write_all(header.as_bytes())
            .and_then(|()| temp.write_all(&artifact))
            .map_err(|e| format!("cannot write {}: {e}", temp.path().display()))?;
        temp.persist(path)
            .map_err(|e| format!("cannot rename the new entry into place: {e}"))?;
        self.evict(entries, Some(path));
        Ok(())
    }

    /// Deletes the least recently used entries of `entries` until they fit in
    /// `max_bytes`, never `keep` (the entry just written).
    fn evict(&self, entries: &Path, keep: Option<&Path>) {
        let listing = match fs::read_dir(entries) {
            Ok(listing) => listing,
            Err(error) => {
                tracing::warn!(dir = %entries.display(), "cannot list the compile cache for eviction: {error}");
                return;
            }
        };
        let mut found: Vec<(SystemTime, u64, PathBuf)> = listing
            .filter_map(Result::ok)
            .filter(|entry| is_entry_name(&entry.file_name().to_string_lossy()))
            .filter_map(|entry| {
                let metadata = entry.metadata().ok()?;
                let used = metadata.modified().ok()?;
                Some((used, metadata.len(), entry.path()))
            })
            .collect();
        let mut total: u64 = found.iter().map(|(_, len, _)| len).sum();
        if total <= self.max_bytes {
            return;
        }
        // Oldest first; equal times (coarse clocks) broken by name so that
        // eviction is at least deterministic.
        found.sort_by(|(a_used, _, a_path), (b_used, _, b_path)| {
            (a_used, a_path).cmp(&(b_used, b_path))
        });
        for (_, len, path) in found {
            if total <= self.max_bytes {
                break;
            }
            if Some(path.as_path()) == keep {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => {
                    tracing::debug!(path = %path.display(), "evicted from the compile cache");
                    total = total.saturating_sub(len);
                }
                // Another process evicted it first.
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    total = total.saturating_sub(len);
                }
                Err(error) => {
                    tracing::warn!(path = %path.display(), "cannot evict compile cache entry: {error}");
                }
            }
        }
    }

    /// Deletes the directories of other compatibility hashes: nothing will
    /// ever load them again.
    fn remove_other_compatibilities(&self, compat: &str) {
        let Ok(listing) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in listing.filter_map(Result::ok) {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // Only names we make: leave anything else someone put here.
            let ours = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
            if !ours || name == compat {
                continue;
            }
            let path = entry.path();
            match fs::remove_dir_all(&path) {
                Ok(()) => {
                    tracing::info!(dir = %path.display(), "removed compiled plugins of another wasmtime version or configuration");
                }
                Err(error) => {
                    tracing::warn!(dir = %path.display(), "cannot remove outdated compiled plugins: {error}");
                }
            }
        }
    }
}

/// Reads, verifies and deserializes the entry at `path`: `Ok(None)` if there
/// is none, `Err(reason)` if it is unusable.
fn load_entry(
    runtime: &Runtime,
    path: &Path,
    digest: Digest,
) -> Result<Option<CompiledComponent>, String> {
    // Not following symlinks: every entry is a plain file we renamed there.
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.to_string()),
    };
    if !metadata.file_type().is_file() {
        return Err("not a regular file".to_owned());
    }
    let bytes = fs::read(path).map_err(|e| e.to_string())?;
    let artifact = verify(&bytes, &digest)?;
    // SAFETY: `artifact` was written by `CompileCache::store` of this
    // program, into a directory only this user can write (checked at open),
    // under this runtime's compatibility hash; and its sha256 and length match
    // the header written with it, so it is intact.
    let component = unsafe { runtime.deserialize(digest, artifact) }.map_err(|e| e.to_string())?;
    // Mark the entry recently used for eviction; failing only weakens LRU.
    if let Err(error) = File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_times(FileTimes::new().set_modified(SystemTime::now())))
    {
        tracing::debug!(path = %path.display(), "cannot mark compile cache entry as used: {error}");
    }
    Ok(Some(component))
}

/// The entry's first line: format, wasm digest, artifact digest and length.
fn header(digest: &Digest, artifact: &[u8]) -> String {
    format!(
        "{FORMAT} {digest} {} {}\n",
        Digest::of(artifact),
        artifact.len()
    )
}

/// Checks an entry read back and returns its artifact.
fn verify<'a>(bytes: &'a [u8], digest: &Digest) -> Result<&'a [u8], String> {
    let end = bytes
        .iter()
        .take(MAX_HEADER)
        .position(|&b| b == b'\n')
        .ok_or("no header line")?;
    let line = std::str::from_utf8(&bytes[..end]).map_err(|_| "header is not text")?;
    let artifact = &bytes[end + 1..];
    let fields: Vec<&str> = line.split(' ').collect();
    let [format, wasm, sha256, len] = fields[..] else {
        return Err(format!("malformed header {line:?}"));
    };
    if format != FORMAT {
        return Err(format!("format {format:?}, expected {FORMAT:?}"));
    }
    if wasm.parse::<Digest>().ok().as_ref() != Some(digest) {
        return Err(format!("entry is for {wasm}"));
    }
    if len.parse::<usize>().ok() != Some(artifact.len()) {
        return Err(format!(
            "truncated or extended: header says {len} bytes, found {}",
            artifact.len()
        ));
    }
    if sha256.parse::<Digest>().ok() != Some(Digest::of(artifact)) {
        return Err("artifact does not match its sha256".to_owned());
    }
    Ok(artifact)
}

fn is_entry_name(name: &str) -> bool {
    name.ends_with(ENTRY_SUFFIX) && !name.starts_with(TEMP_PREFIX)
}

/// Creates `dir` (mode 0700) if missing, then makes sure it is ours and
/// writable by nobody else, tightening its mode if need be.
fn private_dir(dir: &Path) -> Result<(), CacheError> {
    let fail = |source| CacheError::Dir {
        path: dir.to_owned(),
        source,
    };
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(fail)?;
    let metadata = fs::metadata(dir).map_err(fail)?;
    // Our effective uid, without libc: the owner of a file we create here.
    let me = tempfile::tempfile_in(dir)
        .and_then(|probe| probe.metadata())
        .map_err(fail)?
        .uid();
    let mode = metadata.mode() & 0o7777;
    let not_private = || CacheError::NotPrivate {
        path: dir.to_owned(),
        owner: metadata.uid(),
        mode,
    };
    if metadata.uid() != me {
        return Err(not_private());
    }
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, Permissions::from_mode(0o700)).map_err(|_| not_private())?;
    }
    Ok(())
}

fn remove_stale_temp_files(entries: &Path) {
    let Ok(listing) = fs::read_dir(entries) else {
        return;
    };
    for entry in listing.filter_map(Result::ok) {
        if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let stale = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP);
        if stale {
            remove_file_if_present(&entry.path());
        }
    }
}

fn remove_file_if_present(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => {
            tracing::warn!(path = %path.display(), "cannot remove compile cache file: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_headers() {
        let digest = Digest::of(b"wasm");
        let artifact = b"native code".as_slice();
        let mut entry = header(&digest, artifact).into_bytes();
        entry.extend_from_slice(artifact);
        assert_eq!(verify(&entry, &digest), Ok(artifact));

        let other = Digest::of(b"other wasm");
        assert!(verify(&entry, &other).unwrap_err().contains("entry is for"));
        assert!(
            verify(&entry[..entry.len() - 1], &digest)
                .unwrap_err()
                .contains("truncated")
        );
        let mut flipped = entry.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(verify(&flipped, &digest).unwrap_err().contains("sha256"));
        assert!(verify(b"", &digest).is_err());
        assert!(verify(&[b'x'; 1000], &digest).is_err());
    }
}
