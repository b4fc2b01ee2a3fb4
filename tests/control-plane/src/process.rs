//! The control plane's processes, kept in one process group so they can be
//! stopped together by one id, and never outlive the process that started
//! them unless asked to.
//!
//! The group's leader is a tiny `sh` supervisor. Attached (tests), it blocks
//! reading a pipe whose only writer is this process: when this process is
//! gone, for whatever reason, the kernel closes the pipe, the read returns,
//! and the supervisor terminates the whole group and removes the control
//! plane's directory. That covers what `Drop` cannot: a shared control plane
//! in a `static` (never dropped), `panic = "abort"`, a killed test binary. We
//! do not use `PR_SET_PDEATHSIG`: it fires when the spawning *thread* exits,
//! and the test harness runs every test on its own thread. Detached (`cargo
//! xtask cluster up`), the supervisor just sleeps so the group id stays valid
//! for `down`.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::error::{Error, log_tail};

/// `watch`: wait for end-of-file on stdin (this process is gone), then stop the
/// group: TERM, a moment, remove $2 if set, KILL the rest and itself (KILL
/// cannot wait for the removal, as the supervisor is in the group). `hold`: only
/// hold the group id. (std opens pipes close-on-exec, so no other child keeps
/// the pipe open.)
const SUPERVISOR: &str = r#"
if [ "$1" = hold ]; then exec sleep infinity; fi
read -r _
trap '' TERM
kill -TERM 0
sleep 0.5
if [ -n "$2" ]; then rm -rf "$2"; fi
kill -KILL 0
"#;

/// How long `stop_group` waits for killed processes to be reaped.
const GONE: Duration = Duration::from_secs(5);

struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

/// A process group of control-plane processes, stopped on drop unless detached.
pub(crate) struct Group {
    supervisor: Child,
    processes: Vec<Process>,
    detached: bool,
}

/// Whether the group dies with the current process.
pub(crate) enum Lifetime {
    /// Stop everything when this process exits, and remove `cleanup` (if any) then.
    Attached { cleanup: Option<PathBuf> },
    /// Once [`Group::detach`]ed, keep running after this process exits, until [`stop_group`].
    Detached,
}

impl Group {
    pub(crate) fn new(lifetime: Lifetime) -> Result<Self, Error> {
        let mut command = Command::new("sh");
        command.arg("-c").arg(SUPERVISOR).arg("testenv-supervisor");
        match lifetime {
            Lifetime::Attached { cleanup } => {
                command
                    .arg("watch")
                    .arg(cleanup.unwrap_or_default())
                    .stdin(Stdio::piped());
            }
            Lifetime::Detached => {
                command.arg("hold").stdin(Stdio::null());
            }
        }
        // The supervisor's stdin stays in `Child` (open) for as long as the group is attached.
        let supervisor = command
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(Error::io("starting the process-group supervisor (sh)"))?;
        Ok(Group {
            supervisor,
            processes: Vec::new(),
            // Even a Detached group is stopped on drop until `detach`: a
            // start that fails half-way must not leave processes behind.
            detached: false,
        })
    }

    /// The process group id (the supervisor's pid).
    pub(crate) fn id(&self) -> i32 {
        self.supervisor.id() as i32
    }

    /// Starts `program` in the group, with stdout and stderr appended to `log`.
    pub(crate) fn spawn(
        &mut self,
        name: &str,
        program: &Path,
        args: &[String],
        log: &Path,
    ) -> Result<(), Error> {
        let output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(Error::io(format!("opening {}", log.display())))?;
        let stderr = output
            .try_clone()
            .map_err(Error::io(format!("opening {}", log.display())))?;
        let child = Command::new(program)
            .args(args)
            .process_group(self.id())
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(stderr)
            .spawn()
            .map_err(Error::io(format!(
                "starting {name} ({})",
                program.display()
            )))?;
        tracing::debug!(name, pid = child.id(), log = %log.display(), "started");
        self.processes.push(Process {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        });
        Ok(())
    }

    /// Fails with the process's log tail if any process of the group has exited.
    pub(crate) fn check_running(&mut self) -> Result<(), Error> {
        for process in &mut self.processes {
            let status = process
                .child
                .try_wait()
                .map_err(Error::io(format!("checking on {}", process.name)))?;
            if let Some(status) = status {
                return Err(Error::ProcessExited {
                    name: process.name.clone(),
                    status: status.to_string(),
                    log: process.log.clone(),
                    tail: log_tail(&process.log, 30),
                });
            }
        }
        Ok(())
    }

    /// Leaves the processes running after this value (and this process) is gone.
    pub(crate) fn detach(mut self) -> i32 {
        self.detached = true;
        self.id()
    }

    /// SIGKILL, not SIGTERM: kube-apiserver's graceful shutdown takes seconds,
    /// and everything here is throwaway (etcd's data included).
    fn stop(&mut self) {
        let group = Pid::from_raw(self.id());
        if let Err(err) = killpg(group, Signal::SIGKILL) {
            tracing::warn!(%err, %group, "could not kill the control plane's processes");
        }
        for process in &mut self.processes {
            let _ = process.child.wait();
        }
        let _ = self.supervisor.wait();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.detached {
            self.stop();
        }
    }
}

/// Kills a detached group by id and waits (up to [`GONE`]) until it is gone.
/// Returns false if no such group was running.
pub(crate) fn stop_group(id: i32) -> Result<bool, Error> {
    match killpg(Pid::from_raw(id), Signal::SIGKILL) {
        Ok(()) => {}
        Err(nix::errno::Errno::ESRCH) => return Ok(false),
        Err(err) => return Err(err.into()),
    }
    let deadline = Instant::now() + GONE;
    while Instant::now() < deadline && group_alive(id) {
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(true)
}

/// Whether any process of the group `id` still exists.
pub(crate) fn group_alive(id: i32) -> bool {
    killpg(Pid::from_raw(id), None).is_ok()
}
