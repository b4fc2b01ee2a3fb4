//! A long-lived local cluster for humans and scripts (`cargo xtask cluster up/down`).
//!
//! `up` starts a detached control plane in a state directory and records its
//! process group id there; `down` reads it back and stops the group. Both are
//! blocking so callers need no async runtime.

use std::path::{Path, PathBuf};

use crate::control_plane::Placement;
use crate::process::{group_alive, stop_group};
use crate::{ControlPlane, Error};

const GROUP_FILE: &str = "process-group";

/// Starts a cluster in `state_dir` (or finds the one running there), installs
/// `crds` on top of cert-manager's, and returns the kubeconfig's path.
pub fn up(state_dir: &Path, crds: &[PathBuf]) -> Result<PathBuf, Error> {
    let kubeconfig = state_dir.join("kubeconfig");
    if running(state_dir)?.is_some() {
        return Ok(kubeconfig);
    }
    // Leftovers of a cluster that died: start clean.
    if state_dir.exists() {
        std::fs::remove_dir_all(state_dir)
            .map_err(Error::io(format!("removing {}", state_dir.display())))?;
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::io("starting a Tokio runtime"))?;
    let control_plane = runtime.block_on(async {
        let control_plane =
            ControlPlane::start_in(Placement::Detached(state_dir.to_path_buf())).await?;
        control_plane.install_crds(crds).await?;
        Ok::<_, Error>(control_plane)
    })?;
    let group = control_plane.detach();
    let group_file = state_dir.join(GROUP_FILE);
    std::fs::write(&group_file, group.to_string())
        .map_err(Error::io(format!("writing {}", group_file.display())))?;
    Ok(kubeconfig)
}

/// Stops the cluster started by [`up`] in `state_dir`; returns false if none was running.
pub fn down(state_dir: &Path) -> Result<bool, Error> {
    let Some(group) = running(state_dir)? else {
        return Ok(false);
    };
    let stopped = stop_group(group)?;
    let group_file = state_dir.join(GROUP_FILE);
    std::fs::remove_file(&group_file)
        .map_err(Error::io(format!("removing {}", group_file.display())))?;
    Ok(stopped)
}

/// The recorded process group id, if that group is still alive.
fn running(state_dir: &Path) -> Result<Option<i32>, Error> {
    let group_file = state_dir.join(GROUP_FILE);
    let text = match std::fs::read_to_string(&group_file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Error::io(format!("reading {}", group_file.display()))(err)),
    };
    let group = text.trim().parse::<i32>().map_err(|err| Error::Invalid {
        path: group_file,
        reason: format!("not a process group id: {err}"),
    })?;
    Ok(group_alive(group).then_some(group))
}
