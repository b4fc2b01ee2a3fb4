//! Builds etcd, kube-apiserver, our cert-manager controller, the CNCF
//! distribution registry and helm from the Go module proxy, once, into a
//! cache outside the work tree.
//!
//! Each binary comes from a wrapper module under `tests/control-plane/go/<name>/`
//! (see the comments in their go.mod). The cache entry of a binary is named
//! after its pinned version and a hash of its wrapper module and build flags,
//! so editing a wrapper or bumping a version rebuilds exactly that binary. A
//! file lock makes concurrent test binaries and xtask invocations wait for
//! one build instead of racing; entries are built in a staging directory and
//! renamed into place, so a half-built entry is never visible.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::error::{Error, log_tail};

/// Where the built binaries (and cert-manager's CRDs) are.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub etcd: PathBuf,
    pub kube_apiserver: PathBuf,
    pub cert_manager_controller: PathBuf,
    /// cert-manager's CRD manifests (`*.yaml`), from the same module version as the controller.
    pub cert_manager_crds: PathBuf,
    /// The OCI registry (CNCF distribution), for [`Registry`](crate::Registry).
    pub registry: PathBuf,
    pub versions: Versions,
    cache: PathBuf,
}

impl Binaries {
    /// The cache directory holding every built binary (see [`cache_dir`]).
    pub fn dir(&self) -> &Path {
        &self.cache
    }
}

/// The pinned versions, as read from the wrapper modules' go.mod files.
#[derive(Debug, Clone)]
pub struct Versions {
    pub etcd: String,
    pub kubernetes: String,
    pub cert_manager: String,
    /// github.com/distribution/distribution/v3
    pub registry: String,
}

/// One wrapper module and how to build its binary.
struct Wrapper {
    /// Directory under `go/`, and the binary's name.
    name: &'static str,
    /// The module whose version go.mod pins (names the cache entry).
    pinned: &'static str,
    /// What to pass to `go build`.
    package: &'static str,
    tags: &'static str,
    /// Extra `-ldflags` besides `-s -w`, given the pinned version and the
    /// wrapper's go.mod (for the versions of other modules).
    ldflags: fn(&str, &str) -> String,
}

const ETCD: Wrapper = Wrapper {
    name: "etcd",
    pinned: "go.etcd.io/etcd/server/v3",
    package: "go.etcd.io/etcd/server/v3",
    tags: "",
    ldflags: |_, _| String::new(),
};

const KUBE_APISERVER: Wrapper = Wrapper {
    name: "kube-apiserver",
    pinned: "k8s.io/kubernetes",
    package: "k8s.io/kubernetes/cmd/kube-apiserver",
    // What Kubernetes' own release build uses.
    tags: "selinux,notest",
    // Without these /version says v0.0.0-master, which breaks clients' version checks.
    ldflags: |version, _| {
        let mut parts = version.trim_start_matches('v').split('.');
        let (major, minor) = (parts.next().unwrap_or("1"), parts.next().unwrap_or("0"));
        format!(
            "-X k8s.io/component-base/version.gitVersion={version} \
             -X k8s.io/component-base/version.gitMajor={major} \
             -X k8s.io/component-base/version.gitMinor={minor} \
             -X k8s.io/component-base/version.gitTreeState=clean"
        )
    },
};

const REGISTRY: Wrapper = Wrapper {
    name: "registry",
    pinned: "github.com/distribution/distribution/v3",
    package: "github.com/distribution/distribution/v3/cmd/registry",
    tags: "",
    ldflags: |_, _| String::new(),
};

const HELM: Wrapper = Wrapper {
    name: "helm",
    pinned: "helm.sh/helm/v3",
    package: "helm.sh/helm/v3/cmd/helm",
    tags: "",
    ldflags: |version, go_mod| {
        // Without it `helm version` says v3.22 whatever the module's patch release.
        let mut flags = format!("-X helm.sh/helm/v3/internal/version.version={version}");
        // As helm's Makefile does: the Kubernetes version helm assumes
        // without a cluster (`helm template`, `helm lint`) is its client-go's,
        // v0.X.Y meaning 1.X; left out, it is 1.20, below our chart's kubeVersion.
        let minor = required_version(go_mod, "k8s.io/client-go")
            .and_then(|client_go| client_go.split('.').nth(1).map(str::to_owned));
        if let Some(minor) = minor {
            for package in ["pkg/chartutil", "pkg/lint/rules"] {
                flags.push_str(&format!(
                    " -X helm.sh/helm/v3/{package}.k8sVersionMajor=1 \
                     -X helm.sh/helm/v3/{package}.k8sVersionMinor={minor}"
                ));
            }
        }
        flags
    },
};

const CERT_MANAGER_CONTROLLER: Wrapper = Wrapper {
    name: "cert-manager-controller",
    pinned: "github.com/cert-manager/cert-manager",
    package: ".",
    tags: "",
    ldflags: |_, _| String::new(),
};

/// Builds whatever is missing from the cache and returns where everything is.
///
/// A warm cache costs milliseconds and needs no Go toolchain; a cold one
/// needs `go` on PATH and takes minutes (see docs/control-plane.md).
pub fn ensure_binaries() -> Result<Binaries, Error> {
    let cache = cache_dir()?;
    fs::create_dir_all(&cache).map_err(Error::io(format!("creating {}", cache.display())))?;

    let etcd = ensure(&cache, &ETCD)?;
    let kube_apiserver = ensure(&cache, &KUBE_APISERVER)?;
    let cert_manager = ensure(&cache, &CERT_MANAGER_CONTROLLER)?;
    let registry = ensure(&cache, &REGISTRY)?;
    Ok(Binaries {
        etcd: etcd.binary,
        kube_apiserver: kube_apiserver.binary,
        cert_manager_crds: cert_manager.entry.join("crds"),
        cert_manager_controller: cert_manager.binary,
        registry: registry.binary,
        versions: Versions {
            etcd: etcd.version,
            kubernetes: kube_apiserver.version,
            cert_manager: cert_manager.version,
            registry: registry.version,
        },
        cache,
    })
}

/// Builds only the OCI registry (or finds it in the cache) and returns its
/// path: what [`Registry::start`](crate::Registry::start) needs, without
/// the control plane's binaries. [`ensure_binaries`] builds it too.
pub fn ensure_registry() -> Result<PathBuf, Error> {
    let cache = cache_dir()?;
    fs::create_dir_all(&cache).map_err(Error::io(format!("creating {}", cache.display())))?;
    Ok(ensure(&cache, &REGISTRY)?.binary)
}

/// Builds helm (or finds it in the cache) and returns its path, for the
/// chart's tests. Not part of [`ensure_binaries`]: a control plane does
/// not need it.
pub fn ensure_helm() -> Result<PathBuf, Error> {
    let cache = cache_dir()?;
    fs::create_dir_all(&cache).map_err(Error::io(format!("creating {}", cache.display())))?;
    Ok(ensure(&cache, &HELM)?.binary)
}

/// `$XDG_CACHE_HOME/wasm-issuer/control-plane`, or `~/.cache/...` without it.
pub fn cache_dir() -> Result<PathBuf, Error> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::home_dir()
            .ok_or_else(|| Error::Invalid {
                path: PathBuf::from("$HOME"),
                reason: "no home directory and no $XDG_CACHE_HOME for the binary cache".into(),
            })?
            .join(".cache"),
    };
    Ok(base.join("wasm-issuer").join("control-plane"))
}

/// The wrapper modules, found relative to this crate's sources.
fn wrappers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("go")
}

struct Built {
    entry: PathBuf,
    binary: PathBuf,
    version: String,
}

fn ensure(cache: &Path, wrapper: &Wrapper) -> Result<Built, Error> {
    let source = wrappers_dir().join(wrapper.name);
    let go_mod_path = source.join("go.mod");
    let go_mod = fs::read_to_string(&go_mod_path)
        .map_err(Error::io(format!("reading {}", go_mod_path.display())))?;
    let version = pinned_version(&go_mod_path, &go_mod, wrapper.pinned)?;
    let args = build_args(wrapper, &version, &go_mod);
    let hash = source_hash(&source, wrapper, &args)?;
    let entry = cache.join(format!("{}-{version}-{hash}", wrapper.name));
    let built = Built {
        binary: entry.join(wrapper.name),
        entry,
        version,
    };
    if built.binary.is_file() {
        return Ok(built);
    }

    let _lock = lock(cache)?;
    // Someone else may have built it while we waited for the lock.
    if built.binary.is_file() {
        return Ok(built);
    }
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(cache)
        .map_err(Error::io(format!(
            "creating a staging dir in {}",
            cache.display()
        )))?;
    go_build(wrapper, &source, &args, staging.path(), cache)?;
    if wrapper.name == CERT_MANAGER_CONTROLLER.name {
        copy_crds(
            &source,
            wrapper.pinned,
            &built.version,
            &staging.path().join("crds"),
            cache,
        )?;
    }
    let staged = staging.keep();
    fs::rename(&staged, &built.entry).map_err(Error::io(format!(
        "moving {} to {}",
        staged.display(),
        built.entry.display()
    )))?;
    Ok(built)
}

/// The version go.mod (`text`, read from `path`) requires of `module`.
fn pinned_version(path: &Path, text: &str, module: &str) -> Result<String, Error> {
    required_version(text, module).ok_or_else(|| Error::Invalid {
        path: path.to_path_buf(),
        reason: format!("no `require {module} vX.Y.Z`"),
    })
}

/// The version go.mod's `text` requires of `module` (in a `require` line or block).
fn required_version(text: &str, module: &str) -> Option<String> {
    text.lines()
        .map(|line| {
            line.trim()
                .trim_start_matches("require")
                .split_whitespace()
                .collect::<Vec<_>>()
        })
        .find_map(|words| match words.as_slice() {
            [path, version, ..] if *path == module && version.starts_with('v') => {
                Some(version.to_string())
            }
            _ => None,
        })
}

/// `go build` and its flags; the output path and the package follow.
fn build_args(wrapper: &Wrapper, version: &str, go_mod: &str) -> Vec<String> {
    let ldflags = format!("-s -w {}", (wrapper.ldflags)(version, go_mod));
    let mut args = vec![
        "build".into(),
        "-trimpath".into(),
        format!("-ldflags={}", ldflags.trim()),
    ];
    if !wrapper.tags.is_empty() {
        args.push(format!("-tags={}", wrapper.tags));
    }
    args
}

/// First 12 hex digits of SHA-256 over the wrapper's go.mod, go.sum, *.go and how it is built.
fn source_hash(source: &Path, wrapper: &Wrapper, args: &[String]) -> Result<String, Error> {
    let read_dir =
        fs::read_dir(source).map_err(Error::io(format!("listing {}", source.display())))?;
    let mut files: Vec<PathBuf> = read_dir
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            name == "go.mod" || name == "go.sum" || name.ends_with(".go")
        })
        .collect();
    files.sort();

    let mut hasher = Sha256::new();
    for file in &files {
        let content = fs::read(file).map_err(Error::io(format!("reading {}", file.display())))?;
        hasher.update(
            file.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        hasher.update((content.len() as u64).to_le_bytes());
        hasher.update(&content);
    }
    hasher.update(args.join("\0"));
    hasher.update(wrapper.package);
    Ok(hex::encode(hasher.finalize())[..12].to_string())
}

/// Holds the cache's build lock until dropped; says so when it has to wait.
fn lock(cache: &Path) -> Result<File, Error> {
    let path = cache.join(".build.lock");
    let file = File::create(&path).map_err(Error::io(format!("creating {}", path.display())))?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(TryLockError::WouldBlock) => {
            eprintln!(
                "testenv: another build of the control plane binaries is running; waiting for {}",
                path.display()
            );
        }
        Err(TryLockError::Error(err)) => {
            return Err(Error::io(format!("locking {}", path.display()))(err));
        }
    }
    file.lock()
        .map_err(Error::io(format!("locking {}", path.display())))?;
    Ok(file)
}

fn go_build(
    wrapper: &Wrapper,
    source: &Path,
    args: &[String],
    out_dir: &Path,
    cache: &Path,
) -> Result<(), Error> {
    let output = out_dir.join(wrapper.name);
    let log = cache.join(format!("{}.build.log", wrapper.name));
    eprintln!(
        "testenv: building {} (cold cache: this takes minutes; log: {})",
        wrapper.name,
        log.display()
    );
    let started = Instant::now();
    let mut command = Command::new("go");
    command
        .current_dir(source)
        .env("CGO_ENABLED", "0")
        .args(args)
        .arg("-o")
        .arg(&output)
        .arg(wrapper.package);
    run_logged(command, &log)?;
    eprintln!(
        "testenv: built {} in {:.0?}",
        wrapper.name,
        started.elapsed()
    );
    Ok(())
}

/// Copies `deploy/crds/*.yaml` of the pinned cert-manager module into `into`.
fn copy_crds(
    source: &Path,
    module: &str,
    version: &str,
    into: &Path,
    cache: &Path,
) -> Result<(), Error> {
    let log = cache.join("cert-manager-crds.download.log");
    let mut command = Command::new("go");
    command
        .current_dir(source)
        .args(["mod", "download", "-json"])
        .arg(format!("{module}@{version}"));
    let json = run_logged(command, &log)?;
    let dir = serde_json::from_str::<serde_json::Value>(&json)
        .ok()
        .and_then(|v| v["Dir"].as_str().map(PathBuf::from))
        .ok_or_else(|| Error::Invalid {
            path: log.clone(),
            reason: "`go mod download -json` printed no \"Dir\"".into(),
        })?;

    let crds = dir.join("deploy").join("crds");
    fs::create_dir_all(into).map_err(Error::io(format!("creating {}", into.display())))?;
    let entries = fs::read_dir(&crds).map_err(Error::io(format!("listing {}", crds.display())))?;
    let mut copied = 0;
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.extension().is_some_and(|ext| ext == "yaml")
            && let Some(name) = path.file_name()
        {
            fs::copy(&path, into.join(name))
                .map_err(Error::io(format!("copying {}", path.display())))?;
            copied += 1;
        }
    }
    if copied == 0 {
        return Err(Error::Invalid {
            path: crds,
            reason: "no CRD manifests (*.yaml) found".into(),
        });
    }
    Ok(())
}

/// Runs `command` with stderr to `log`; returns its stdout. Fails with the log's tail.
fn run_logged(mut command: Command, log: &Path) -> Result<String, Error> {
    let describe = format!("{command:?}");
    let log_file = File::create(log).map_err(Error::io(format!("creating {}", log.display())))?;
    let output = command
        .stdin(Stdio::null())
        .stderr(log_file)
        .output()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => Error::MissingTool {
                tool: "go".into(),
                source,
            },
            _ => Error::io(format!("running {describe}"))(source),
        })?;
    if !output.status.success() {
        return Err(Error::CommandFailed {
            command: describe,
            status: output.status.to_string(),
            log: log.to_path_buf(),
            tail: log_tail(log, 40),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_wrapper_modules() {
        for (wrapper, prefix) in [
            (&ETCD, "v3.6."),
            (&KUBE_APISERVER, "v1."),
            (&CERT_MANAGER_CONTROLLER, "v1."),
            (&REGISTRY, "v3."),
            (&HELM, "v3."),
        ] {
            let path = wrappers_dir().join(wrapper.name).join("go.mod");
            let text = fs::read_to_string(&path).expect("the wrapper's go.mod");
            let version = pinned_version(&path, &text, wrapper.pinned).expect("pinned version");
            assert!(version.starts_with(prefix), "{}: {version}", wrapper.name);
        }
    }

    #[test]
    fn kube_apiserver_gets_version_ldflags() {
        let args = build_args(&KUBE_APISERVER, "v1.36.3", "");
        let ldflags = args
            .iter()
            .find(|a| a.starts_with("-ldflags="))
            .expect("ldflags");
        assert!(ldflags.contains("gitVersion=v1.36.3"), "{ldflags}");
        assert!(ldflags.contains("gitMajor=1 "), "{ldflags}");
        assert!(ldflags.contains("gitMinor=36 "), "{ldflags}");
    }

    #[test]
    fn helm_assumes_the_kubernetes_version_of_its_client_go() {
        let go_mod = "require (\n\thelm.sh/helm/v3 v3.22.0 // indirect\n\tk8s.io/client-go v0.37.1 // indirect\n)\n";
        let args = build_args(&HELM, "v3.22.0", go_mod);
        let ldflags = args
            .iter()
            .find(|a| a.starts_with("-ldflags="))
            .expect("ldflags");
        assert!(ldflags.contains("version.version=v3.22.0"), "{ldflags}");
        assert!(
            ldflags.contains("chartutil.k8sVersionMinor=37"),
            "{ldflags}"
        );
        assert!(ldflags.contains("rules.k8sVersionMajor=1 "), "{ldflags}");
    }
}
