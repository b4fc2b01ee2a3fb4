//! The compile cache on a real filesystem, with real components compiled by
//! the real engine. Assertions are on where a component came from
//! ([`Provenance`]), never on how long it took.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use wasm_issuer_runtime::{Digest, Runtime, RuntimeOptions};
use wasm_issuer_sources::cache::{CacheError, CompileCache, Provenance};
use wasm_issuer_test_support::{plugin, test_plugin};

const UNBOUNDED: u64 = 1 << 40;

fn runtime() -> Runtime {
    // No pooling: tests create many engines and need no fast instantiation.
    Runtime::new(&RuntimeOptions {
        pooling: false,
        ..RuntimeOptions::default()
    })
    .expect("runtime starts")
}

fn wasm(path: PathBuf) -> Vec<u8> {
    fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn entry_len(cache: &CompileCache, runtime: &Runtime, wasm: &[u8]) -> u64 {
    let path = cache.entry_path(runtime, &Digest::of(wasm));
    fs::metadata(&path)
        .unwrap_or_else(|e| panic!("no cache entry {}: {e}", path.display()))
        .len()
}

fn entries(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .expect("cache entries listed")
        .filter_map(Result::ok)
        .map(|entry| entry.metadata().expect("entry metadata").len())
        .sum()
}

#[test]
fn compiles_cold_then_loads_warm_and_the_loaded_component_links() {
    let runtime = runtime();
    let dir = temp_dir();
    let cache =
        CompileCache::open(dir.path().join("cache"), UNBOUNDED, &runtime).expect("cache opens");
    let ca = wasm(plugin("ca"));

    let (cold, provenance) = cache.load_or_compile(&runtime, &ca).expect("compiles");
    assert!(
        matches!(provenance, Provenance::Compiled { .. }),
        "{provenance:?}"
    );
    assert_eq!(*cold.digest(), Digest::of(&ca));

    let (warm, provenance) = cache.load_or_compile(&runtime, &ca).expect("loads");
    assert!(provenance.is_cached(), "{provenance:?}");
    assert_eq!(*warm.digest(), Digest::of(&ca));
    runtime
        .signer(&warm)
        .expect("the deserialized component links as a signer");

    // Private: nobody else may plant code to be loaded.
    let mode = fs::metadata(dir.path().join("cache"))
        .expect("cache dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn a_restarted_controller_loads_warm() {
    let dir = temp_dir();
    let noop = wasm(test_plugin("noop"));
    {
        let runtime = runtime();
        let cache = CompileCache::open(dir.path(), UNBOUNDED, &runtime).expect("cache opens");
        let (_, provenance) = cache.load_or_compile(&runtime, &noop).expect("compiles");
        assert!(!provenance.is_cached());
    }
    // A new engine, as in a new process: same configuration, same hash.
    let runtime = runtime();
    let cache = CompileCache::open(dir.path(), UNBOUNDED, &runtime).expect("cache reopens");
    let (component, provenance) = cache.load_or_compile(&runtime, &noop).expect("loads");
    assert!(provenance.is_cached(), "{provenance:?}");
    runtime.signer(&component).expect("links");
}

#[test]
fn a_truncated_or_corrupted_entry_is_recompiled() {
    let runtime = runtime();
    let dir = temp_dir();
    let cache = CompileCache::open(dir.path(), UNBOUNDED, &runtime).expect("cache opens");
    let noop = wasm(test_plugin("noop"));
    let entry = cache.entry_path(&runtime, &Digest::of(&noop));
    cache.load_or_compile(&runtime, &noop).expect("compiles");
    let good = fs::read(&entry).expect("entry written");

    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x55;
    let damages: [(&str, Vec<u8>); 4] = [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("one byte changed", flipped),
        ("empty", Vec::new()),
        ("garbage", vec![0xAB; 4096]),
    ];
    for (damage, bytes) in damages {
        fs::write(&entry, &bytes).expect("entry damaged");
        let (component, provenance) = cache
            .load_or_compile(&runtime, &noop)
            .unwrap_or_else(|e| panic!("{damage}: {e}"));
        assert!(!provenance.is_cached(), "{damage}: loaded {provenance:?}");
        runtime.signer(&component).expect("links");
        // Rewritten whole, and loadable again.
        assert_eq!(fs::read(&entry).expect("entry rewritten").len(), good.len());
        let (_, provenance) = cache.load_or_compile(&runtime, &noop).expect("loads");
        assert!(
            provenance.is_cached(),
            "{damage}: after rewrite {provenance:?}"
        );
    }
}

#[test]
fn an_entry_for_other_bytes_is_not_loaded() {
    let runtime = runtime();
    let dir = temp_dir();
    let cache = CompileCache::open(dir.path(), UNBOUNDED, &runtime).expect("cache opens");
    let noop = wasm(test_plugin("noop"));
    let panic = wasm(test_plugin("panic"));
    cache.load_or_compile(&runtime, &noop).expect("compiles");
    // A valid entry, in the wrong place: its header names another digest.
    fs::copy(
        cache.entry_path(&runtime, &Digest::of(&noop)),
        cache.entry_path(&runtime, &Digest::of(&panic)),
    )
    .expect("entry copied");
    let (component, provenance) = cache.load_or_compile(&runtime, &panic).expect("compiles");
    assert!(!provenance.is_cached(), "{provenance:?}");
    assert_eq!(*component.digest(), Digest::of(&panic));
}

#[test]
fn eviction_keeps_the_size_bound_and_drops_the_least_recently_used() {
    let runtime = runtime();
    let [a, b, c, d] = ["noop", "panic", "spin", "hog"].map(|name| wasm(test_plugin(name)));

    // Learn each entry's size (compilation is deterministic).
    let sizing = temp_dir();
    let unbounded = CompileCache::open(sizing.path(), UNBOUNDED, &runtime).expect("cache opens");
    let [sa, sb, sc, sd] = [&a, &b, &c, &d].map(|wasm| {
        unbounded.load_or_compile(&runtime, wasm).expect("compiles");
        entry_len(&unbounded, &runtime, wasm)
    });
    // Room for three of them, not four: B must go, being least recently used.
    let bound = sa + sc + sd + sb / 2;
    assert!(
        sa + sb + sc <= bound && sa + sb + sd <= bound,
        "fixture sizes too uneven: {sa} {sb} {sc} {sd}"
    );

    let dir = temp_dir();
    let cache = CompileCache::open(dir.path(), bound, &runtime).expect("cache opens");
    // Pauses so that even a coarse filesystem clock orders the uses.
    let pause = || thread::sleep(Duration::from_millis(50));
    for wasm in [&a, &b, &c] {
        let (_, provenance) = cache.load_or_compile(&runtime, wasm).expect("compiles");
        assert!(!provenance.is_cached());
        pause();
    }
    let (_, provenance) = cache.load_or_compile(&runtime, &a).expect("loads");
    assert!(provenance.is_cached(), "A touched: {provenance:?}");
    pause();
    let (_, provenance) = cache.load_or_compile(&runtime, &d).expect("compiles");
    assert!(!provenance.is_cached());

    let present = |wasm: &[u8]| cache.entry_path(&runtime, &Digest::of(wasm)).exists();
    assert!(!present(&b), "B, least recently used, should be evicted");
    assert!(present(&a) && present(&c) && present(&d));
    let entries_dir = cache.entry_path(&runtime, &Digest::of(&a));
    let total = entries(entries_dir.parent().expect("entries dir"));
    assert!(total <= bound, "{total} bytes over the bound of {bound}");

    // B comes back compiled, and evicts the least recently used in turn (C).
    let (_, provenance) = cache.load_or_compile(&runtime, &b).expect("compiles");
    assert!(!provenance.is_cached());
    assert!(!present(&c), "C should be evicted now");
    assert!(present(&a) && present(&b) && present(&d));
}

#[test]
fn an_entry_larger_than_the_bound_is_not_kept() {
    let runtime = runtime();
    let dir = temp_dir();
    let cache = CompileCache::open(dir.path(), 1024, &runtime).expect("cache opens");
    let noop = wasm(test_plugin("noop"));
    for _ in 0..2 {
        let (_, provenance) = cache.load_or_compile(&runtime, &noop).expect("compiles");
        assert!(!provenance.is_cached(), "{provenance:?}");
    }
    assert!(!cache.entry_path(&runtime, &Digest::of(&noop)).exists());
}

#[test]
fn opening_removes_entries_of_other_compatibility_hashes_only() {
    let runtime = runtime();
    let dir = temp_dir();
    let older = dir.path().join("a".repeat(64));
    fs::create_dir(&older).expect("old hash dir");
    fs::write(older.join(format!("{}.cwasm", "b".repeat(64))), b"old").expect("old entry");
    let foreign = dir.path().join("README");
    fs::write(&foreign, b"not ours").expect("foreign file");
    let current = dir.path().join(runtime.compatibility_hash());
    let noop = wasm(test_plugin("noop"));
    {
        let cache = CompileCache::open(dir.path(), UNBOUNDED, &runtime).expect("cache opens");
        cache.load_or_compile(&runtime, &noop).expect("compiles");
    }

    CompileCache::open(dir.path(), UNBOUNDED, &runtime).expect("cache reopens");
    assert!(!older.exists(), "the older hash's entries should be gone");
    assert!(foreign.exists(), "files the cache did not make stay");
    assert!(current.is_dir(), "the current hash's entries stay");
    assert_eq!(runtime.compatibility_hash().len(), 64);
}

#[test]
fn a_component_that_does_not_compile_is_an_error_naming_its_digest() {
    let runtime = runtime();
    let dir = temp_dir();
    let cache = CompileCache::open(dir.path(), UNBOUNDED, &runtime).expect("cache opens");
    let bytes = b"not a plugin at all";
    let error = cache
        .load_or_compile(&runtime, bytes)
        .err()
        .expect("does not compile");
    assert!(matches!(error, CacheError::Compile { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&Digest::of(bytes).to_string()),
        "{message}"
    );
}

#[test]
fn a_directory_open_to_others_is_made_private() {
    let runtime = runtime();
    let dir = temp_dir();
    let cache_dir = dir.path().join("cache");
    fs::create_dir(&cache_dir).expect("cache dir");
    fs::set_permissions(&cache_dir, fs::Permissions::from_mode(0o777)).expect("chmod");
    CompileCache::open(&cache_dir, UNBOUNDED, &runtime).expect("cache opens");
    let mode = fs::metadata(&cache_dir)
        .expect("cache dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}
