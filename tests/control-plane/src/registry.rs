//! A real OCI registry for tests: the CNCF distribution registry (v3),
//! built from the Go module proxy like the control plane's binaries, on a
//! free loopback port, plain HTTP, storing blobs on the filesystem of a
//! temporary directory, optionally behind htpasswd (HTTP Basic) auth.
//!
//! Its processes are supervised like the control plane's (see `process`):
//! they stop when the [`Registry`] is dropped or this process dies.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::build::ensure_registry;
use crate::control_plane::KEEP_ENV;
use crate::error::Error;
use crate::process::{Group, Lifetime};

const READY: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);
/// Another process may take the port between picking and binding it.
const START_ATTEMPTS: usize = 3;
/// bcrypt's minimum cost: the hash only has to be valid, not slow to crack.
const BCRYPT_COST: u32 = 4;

/// How to start a [`Registry`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryOptions {
    /// `(username, password)`: require HTTP Basic auth (htpasswd, bcrypt)
    /// for every request, pulls included. `None`: anyone may push and pull.
    pub basic_auth: Option<(String, String)>,
}

/// A running registry. Dropping it stops the process and removes its
/// directory (unless [`KEEP_ENV`] is set).
pub struct Registry {
    // Field order matters: the process stops before the directory goes.
    _group: Group,
    dir: RegistryDir,
    host: String,
    log: PathBuf,
}

enum RegistryDir {
    Temporary(TempDir),
    Kept(PathBuf),
}

impl RegistryDir {
    fn path(&self) -> &Path {
        match self {
            RegistryDir::Temporary(dir) => dir.path(),
            RegistryDir::Kept(dir) => dir,
        }
    }
}

impl Registry {
    /// Builds the registry if the cache lacks it (minutes, once; needs `go`),
    /// starts it and returns once it answers on `/v2/`.
    pub fn start(options: RegistryOptions) -> Result<Registry, Error> {
        let binary = ensure_registry()?;
        let mut attempt = 1;
        loop {
            match Self::start_once(&binary, &options) {
                Err(Error::ProcessExited { tail, .. })
                    if attempt < START_ATTEMPTS && tail.contains("address already in use") =>
                {
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    fn start_once(binary: &Path, options: &RegistryOptions) -> Result<Registry, Error> {
        let temp = tempfile::Builder::new()
            .prefix("wasm-issuer-registry-")
            .tempdir()
            .map_err(Error::io("creating the registry's temporary directory"))?;
        let keep = std::env::var_os(KEEP_ENV).is_some_and(|v| !v.is_empty());
        let (dir, cleanup) = if keep {
            (RegistryDir::Kept(temp.keep()), None)
        } else {
            let cleanup = Some(temp.path().to_path_buf());
            (RegistryDir::Temporary(temp), cleanup)
        };
        let root = dir.path().to_path_buf();
        let storage = root.join("storage");
        std::fs::create_dir_all(&storage)
            .map_err(Error::io(format!("creating {}", storage.display())))?;

        let htpasswd = match &options.basic_auth {
            Some((username, password)) => Some(write_htpasswd(&root, username, password)?),
            None => None,
        };
        let addr = free_port()?;
        let config = root.join("config.yml");
        let yaml = config_yaml(addr, &storage, htpasswd.as_deref());
        std::fs::write(&config, yaml)
            .map_err(Error::io(format!("writing {}", config.display())))?;

        let log = root.join("registry.log");
        let mut group = Group::new(Lifetime::Attached { cleanup })?;
        group.spawn(
            "registry",
            binary,
            &["serve".to_string(), config.display().to_string()],
            &log,
        )?;
        wait_until_ready(&mut group, addr, &log)?;
        tracing::info!(%addr, dir = %root.display(), auth = htpasswd.is_some(), "registry ready");
        Ok(Registry {
            _group: group,
            dir,
            host: addr.to_string(),
            log,
        })
    }

    /// `127.0.0.1:PORT`: the registry part of references (`{host}/repo:tag`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The filesystem driver's root directory (`docker/registry/v2/...`
    /// below it), e.g. to corrupt a blob.
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// Where the filesystem driver keeps the content of blob `digest`
    /// (`sha256:<hex>`): `docker/registry/v2/blobs/sha256/<hex[..2]>/<hex>/data`.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
        let prefix = hex.get(..2).unwrap_or(hex);
        self.storage_dir()
            .join("docker/registry/v2/blobs")
            .join(algorithm)
            .join(prefix)
            .join(hex)
            .join("data")
    }

    /// The registry's log (requests and errors).
    pub fn log(&self) -> &Path {
        &self.log
    }
}

/// An htpasswd file with one bcrypt entry (the only hash distribution accepts).
fn write_htpasswd(root: &Path, username: &str, password: &str) -> Result<PathBuf, Error> {
    if username.contains(':') {
        return Err(Error::Invalid {
            path: root.join("htpasswd"),
            reason: format!("an htpasswd username cannot contain ':' ({username:?})"),
        });
    }
    let hash = bcrypt::hash(password, BCRYPT_COST).map_err(|e| {
        Error::io("hashing the registry password (bcrypt)")(std::io::Error::other(e))
    })?;
    let path = root.join("htpasswd");
    std::fs::write(&path, format!("{username}:{hash}\n"))
        .map_err(Error::io(format!("writing {}", path.display())))?;
    Ok(path)
}

/// Binds port 0 to find a free port, then releases it for the registry.
fn free_port() -> Result<SocketAddr, Error> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(Error::io("picking a free loopback port"))?;
    listener
        .local_addr()
        .map_err(Error::io("picking a free loopback port"))
}

/// The registry's configuration. Strings are JSON-quoted (valid YAML) so
/// paths with odd characters survive.
fn config_yaml(addr: SocketAddr, storage: &Path, htpasswd: Option<&Path>) -> String {
    let quote = |text: &str| serde_json::Value::from(text).to_string();
    let mut yaml = format!(
        "version: 0.1\n\
         log:\n  level: info\n\
         storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n\
         http:\n  addr: {addr}\n  secret: wasm-issuer-test-registry\n",
        storage = quote(&storage.display().to_string()),
        addr = quote(&addr.to_string()),
    );
    if let Some(htpasswd) = htpasswd {
        yaml.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: wasm-issuer-test\n    path: {}\n",
            quote(&htpasswd.display().to_string())
        ));
    }
    yaml
}

/// Polls `GET /v2/` until it answers 200 (open) or 401 (auth required).
fn wait_until_ready(group: &mut Group, addr: SocketAddr, log: &Path) -> Result<(), Error> {
    let deadline = Instant::now() + READY;
    loop {
        group.check_running()?;
        if let Some(status) = v2_status(addr)
            && (status == 200 || status == 401)
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("the registry on {addr} to answer /v2/"),
                timeout: READY,
                logs: log.to_path_buf(),
            });
        }
        std::thread::sleep(POLL);
    }
}

/// The HTTP status of `GET /v2/`, if the registry answers at all.
fn v2_status(addr: SocketAddr) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(format!("GET /v2/ HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .ok()?;
    let mut head = [0u8; 64];
    let read = stream.read(&mut head).ok()?;
    let text = std::str::from_utf8(&head[..read]).ok()?;
    // "HTTP/1.0 200 OK"
    text.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_quotes_paths_and_adds_auth_only_when_asked() {
        let addr: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let open = config_yaml(addr, Path::new("/tmp/a b/storage"), None);
        assert!(
            open.contains("rootdirectory: \"/tmp/a b/storage\""),
            "{open}"
        );
        assert!(open.contains("addr: \"127.0.0.1:5000\""), "{open}");
        assert!(!open.contains("auth:"), "{open}");

        let private = config_yaml(addr, Path::new("/s"), Some(Path::new("/h/htpasswd")));
        assert!(private.contains("path: \"/h/htpasswd\""), "{private}");
    }

    #[test]
    fn htpasswd_entries_verify() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_htpasswd(dir.path(), "alice", "s3cret").expect("htpasswd");
        let line = std::fs::read_to_string(path).expect("read");
        let (user, hash) = line.trim().split_once(':').expect("user:hash");
        assert_eq!(user, "alice");
        assert!(bcrypt::verify("s3cret", hash).expect("verify"));
        assert!(write_htpasswd(dir.path(), "a:b", "x").is_err());
    }
}
