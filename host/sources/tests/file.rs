//! Plugin files on a real filesystem: the watcher sees in-place rewrites,
//! renames into place and the kubelet's `..data` symlink swap, once each;
//! `read_plugin` never returns a file that is still being written.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use futures::StreamExt as _;
use wasm_issuer_runtime::Digest;
use wasm_issuer_sources::file::{FileChanges, FileError, FileWatcher, read_plugin};
use wasm_issuer_test_support::test_plugin;

/// Long enough for any change to be reported (the quiet period is 200 ms).
const REPORTED_WITHIN: Duration = Duration::from_secs(5);
/// How long to listen for a report that must not come: several quiet periods.
const SILENT_FOR: Duration = Duration::from_secs(1);

fn wasm(name: &str) -> Vec<u8> {
    let path = test_plugin(name);
    fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

async fn next_change(changes: &mut FileChanges, within: Duration) -> Option<PathBuf> {
    tokio::time::timeout(within, changes.next())
        .await
        .ok()
        .flatten()
}

async fn assert_reported_once(changes: &mut FileChanges, path: &Path) {
    let reported = next_change(changes, REPORTED_WITHIN).await;
    assert_eq!(reported.as_deref(), Some(path), "change not reported");
    let again = next_change(changes, SILENT_FOR).await;
    assert_eq!(again, None, "change reported more than once");
}

/// Writes `bytes` into the existing file, in place, in several chunks.
fn rewrite_in_place(path: &Path, bytes: &[u8]) {
    let mut file = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .expect("file opens for writing");
    for chunk in bytes.chunks(bytes.len() / 4 + 1) {
        file.write_all(chunk).expect("chunk written");
        file.flush().expect("flushed");
        thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn a_file_rewritten_in_place_is_reported_once() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("plugin.wasm");
    fs::write(&path, wasm("noop")).expect("plugin written");
    let (watcher, mut changes) = FileWatcher::new().expect("watcher starts");
    watcher.watch(&path).expect("watched");

    let spin = wasm("spin");
    rewrite_in_place(&path, &spin);

    assert_reported_once(&mut changes, &path).await;
    let (bytes, digest) = read_plugin(&path).expect("reads");
    assert_eq!(digest, Digest::of(&spin));
    assert_eq!(bytes, spin);
}

#[tokio::test]
async fn a_file_renamed_into_place_is_reported() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("plugin.wasm");
    fs::write(&path, wasm("noop")).expect("plugin written");
    let (watcher, mut changes) = FileWatcher::new().expect("watcher starts");
    // A relative spelling is reported as given.
    let relative = path
        .strip_prefix(std::env::current_dir().expect("cwd"))
        .map(Path::to_owned)
        .unwrap_or_else(|_| path.clone());
    watcher.watch(&relative).expect("watched");

    let staged = dir.path().join(".plugin.wasm.partial");
    fs::write(&staged, wasm("spin")).expect("new version staged");
    fs::rename(&staged, &path).expect("renamed into place");

    assert_reported_once(&mut changes, &relative).await;
}

/// Lays out a ConfigMap volume as the kubelet does: the key is a symlink
/// through `..data` into a timestamped directory.
fn configmap_version(dir: &Path, stamp: &str, bytes: &[u8]) {
    let version = dir.join(stamp);
    fs::create_dir(&version).expect("version dir");
    fs::write(version.join("plugin.wasm"), bytes).expect("version's plugin");
}

/// The kubelet's atomic update: a new version directory, a new `..data_tmp`
/// symlink to it renamed over `..data`, the old version removed.
fn configmap_swap(dir: &Path, old: &str, new: &str, bytes: &[u8]) {
    configmap_version(dir, new, bytes);
    symlink(new, dir.join("..data_tmp")).expect("..data_tmp");
    fs::rename(dir.join("..data_tmp"), dir.join("..data")).expect("..data swapped");
    fs::remove_dir_all(dir.join(old)).expect("old version removed");
}

#[tokio::test]
async fn a_configmap_data_symlink_swap_is_reported() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let volume = dir.path();
    configmap_version(volume, "..2026_11_28_01_00_00.1", &wasm("noop"));
    symlink("..2026_11_28_01_00_00.1", volume.join("..data")).expect("..data");
    symlink("..data/plugin.wasm", volume.join("plugin.wasm")).expect("key link");
    let path = volume.join("plugin.wasm");
    let (watcher, mut changes) = FileWatcher::new().expect("watcher starts");
    watcher.watch(&path).expect("watched");

    let spin = wasm("spin");
    configmap_swap(
        volume,
        "..2026_11_28_01_00_00.1",
        "..2026_11_28_02_00_00.2",
        &spin,
    );
    assert_reported_once(&mut changes, &path).await;
    let (_, digest) = read_plugin(&path).expect("reads through the symlinks");
    assert_eq!(digest, Digest::of(&spin));

    // And again: the watch followed the swap.
    let panic = wasm("panic");
    configmap_swap(
        volume,
        "..2026_11_28_02_00_00.2",
        "..2026_11_28_03_00_00.3",
        &panic,
    );
    assert_reported_once(&mut changes, &path).await;
    let (_, digest) = read_plugin(&path).expect("reads through the symlinks");
    assert_eq!(digest, Digest::of(&panic));
}

#[tokio::test]
async fn other_files_in_the_directory_are_not_reported() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("plugin.wasm");
    fs::write(&path, wasm("noop")).expect("plugin written");
    let (watcher, mut changes) = FileWatcher::new().expect("watcher starts");
    watcher.watch(&path).expect("watched");

    fs::write(dir.path().join("notes.txt"), b"unrelated").expect("other file");
    read_plugin(&path).expect("reading is not a change");

    assert_eq!(next_change(&mut changes, SILENT_FOR).await, None);
}

#[tokio::test]
async fn unwatch_stops_reports() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("plugin.wasm");
    let other = dir.path().join("other.wasm");
    fs::write(&path, wasm("noop")).expect("plugin written");
    fs::write(&other, wasm("noop")).expect("other plugin written");
    let (watcher, mut changes) = FileWatcher::new().expect("watcher starts");
    watcher.watch(&path).expect("watched");
    watcher.watch(&other).expect("other watched");

    assert!(watcher.unwatch(&path));
    assert!(!watcher.unwatch(&path), "already unwatched");
    rewrite_in_place(&path, &wasm("spin"));
    assert_eq!(next_change(&mut changes, SILENT_FOR).await, None);

    // The directory is still watched for the other file.
    rewrite_in_place(&other, &wasm("spin"));
    assert_reported_once(&mut changes, &other).await;
}

#[tokio::test]
async fn a_file_that_appears_later_is_reported_and_dropping_the_watcher_ends_the_stream() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("plugin.wasm");
    let (watcher, mut changes) = FileWatcher::new().expect("watcher starts");
    watcher
        .watch(&path)
        .expect("a missing file in an existing directory is watched");

    fs::write(&path, wasm("noop")).expect("plugin written");
    assert_reported_once(&mut changes, &path).await;

    drop(watcher);
    let ended = tokio::time::timeout(REPORTED_WITHIN, changes.next()).await;
    assert!(matches!(ended, Ok(None)), "stream did not end: {ended:?}");
}

#[test]
fn watching_in_a_missing_directory_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("missing").join("plugin.wasm");
    let (watcher, _changes) = FileWatcher::new().expect("watcher starts");
    let error = watcher.watch(&path).expect_err("no such directory");
    assert!(matches!(error, FileError::Watch { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn a_half_written_file_is_read_only_once_complete() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("plugin.wasm");
    let spin = wasm("spin");
    let (first, rest) = spin.split_at(spin.len() / 2);
    fs::write(&path, first).expect("first half written");

    // The writer pauses (longer than read_plugin's own pause) before the rest.
    let writer = {
        let path = path.clone();
        let rest = rest.to_vec();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            let mut file = OpenOptions::new()
                .append(true)
                .open(&path)
                .expect("file opens for appending");
            file.write_all(&rest).expect("rest written");
        })
    };
    let (bytes, digest) = read_plugin(&path).expect("reads once complete");
    writer.join().expect("writer finished");
    assert_eq!(digest, Digest::of(&spin));
    assert_eq!(bytes.len(), spin.len());
}

#[test]
fn a_file_left_half_written_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("plugin.wasm");
    let spin = wasm("spin");
    fs::write(&path, &spin[..spin.len() / 2]).expect("half written");

    let error = read_plugin(&path).expect_err("incomplete");
    assert!(matches!(error, FileError::Incomplete { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn a_missing_file_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("absent.wasm");
    let error = read_plugin(&path).expect_err("missing");
    assert!(matches!(error, FileError::Read { .. }), "{error:?}");
    assert!(error.to_string().contains("absent.wasm"), "{error}");
}

#[test]
fn a_file_that_is_not_webassembly_is_returned_for_the_runtime_to_judge() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("plugin.wasm");
    fs::write(&path, b"#!/bin/sh\necho not a plugin\n").expect("written");
    let (bytes, _) = read_plugin(&path).expect("returned as is");
    assert!(bytes.starts_with(b"#!"));
}
