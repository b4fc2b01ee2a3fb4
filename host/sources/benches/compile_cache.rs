//! A restart's cost per plugin: compiling it cold against loading it from
//! the compile cache.
//!
//! `cargo bench -p wasm-issuer-sources --bench compile_cache` (after
//! `cargo xtask plugins`). Results go to docs/benchmarks.md.
//!
//! - cold: `load_or_compile` with the entry removed first: lookup, compile,
//!   serialize, atomic write.
//! - warm: `load_or_compile` of a cached entry: read, check the sha256 of the
//!   artifact, deserialize, mark as used.
//! - warm's parts: `read` (the entry file), `sha256` (of the artifact), and
//!   `deserialize` (`Runtime::deserialize` alone).

use std::fs;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use wasm_issuer_runtime::{Digest, Runtime, RuntimeOptions};
use wasm_issuer_sources::cache::CompileCache;
use wasm_issuer_test_support::plugin;

fn compile_cache(c: &mut Criterion) {
    let runtime = Runtime::new(&RuntimeOptions::default()).expect("runtime starts");
    let dir = tempfile::tempdir().expect("temporary directory");
    let cache = CompileCache::open(dir.path(), 1 << 30, &runtime).expect("cache opens");
    let mut group = c.benchmark_group("compile_cache");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for name in ["ca", "allow-domains"] {
        let wasm = fs::read(plugin(name)).expect("plugin built");
        let entry = cache.entry_path(&runtime, &Digest::of(&wasm));
        group.bench_function(format!("{name}/cold"), |b| {
            b.iter_batched(
                || {
                    let _ = fs::remove_file(&entry);
                },
                |()| {
                    let (component, provenance) =
                        cache.load_or_compile(&runtime, &wasm).expect("compiles");
                    assert!(!provenance.is_cached());
                    black_box(component)
                },
                BatchSize::PerIteration,
            )
        });
        cache.load_or_compile(&runtime, &wasm).expect("warms");
        group.bench_function(format!("{name}/warm"), |b| {
            b.iter(|| {
                let (component, provenance) =
                    cache.load_or_compile(&runtime, &wasm).expect("loads");
                assert!(provenance.is_cached());
                black_box(component)
            })
        });
        group.bench_function(format!("{name}/warm/read"), |b| {
            b.iter(|| black_box(fs::read(&entry).expect("entry")))
        });
        let (component, _) = cache.load_or_compile(&runtime, &wasm).expect("loads");
        let artifact = runtime.serialize(&component).expect("serializes");
        group.bench_function(format!("{name}/warm/sha256"), |b| {
            b.iter(|| black_box(Digest::of(&artifact)))
        });
        group.bench_function(format!("{name}/warm/deserialize"), |b| {
            b.iter(|| {
                // SAFETY: bytes serialized just above by the same runtime.
                black_box(unsafe { runtime.deserialize(*component.digest(), &artifact) })
            })
        });
        let size = fs::metadata(&entry).map(|m| m.len()).unwrap_or(0);
        println!("{name}: {} bytes of wasm, {size} bytes cached", wasm.len());
    }
    group.finish();
}

criterion_group!(benches, compile_cache);
criterion_main!(benches);
