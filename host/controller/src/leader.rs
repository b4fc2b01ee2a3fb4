//! Leader election with a `coordination.k8s.io` Lease (kube-lease-manager):
//! one replica signs, the others stand by and take over when the leader's
//! lease runs out, or at once when a leader that stops gives it up.

use std::time::Duration;

use kube_lease_manager::{LeaseManager, LeaseManagerBuilder, LeaseManagerError, LeaseParams};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::Error;

/// How replicas elect their leader.
#[derive(Clone, Debug)]
pub struct Election {
    lease_name: String,
    namespace: String,
    identity: String,
    lease_duration: Duration,
    renew_grace: Duration,
}

impl Election {
    /// `lease_duration`: how long a leader that stopped renewing keeps the
    /// lease; `renew_grace`: how long before that the leader renews it.
    /// Both are whole seconds on the Lease; the grace must be shorter.
    pub fn new(
        lease_name: String,
        namespace: String,
        identity: String,
        lease_duration: Duration,
        renew_grace: Duration,
    ) -> Result<Self, Error> {
        let (duration, grace) = (lease_duration.as_secs(), renew_grace.as_secs());
        if grace == 0 || grace >= duration {
            return Err(Error::InvalidElection(format!(
                "the renew grace ({grace}s) must be at least 1s and shorter than the lease \
                 duration ({duration}s)"
            )));
        }
        Ok(Self {
            lease_name,
            namespace,
            identity,
            lease_duration,
            renew_grace,
        })
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Starts competing for the lease in the background.
    pub async fn campaign(&self, client: kube::Client) -> Result<Campaign, Error> {
        let params = LeaseParams::new(
            self.identity.clone(),
            self.lease_duration.as_secs(),
            self.renew_grace.as_secs(),
        );
        let manager = LeaseManagerBuilder::new(client, self.lease_name.clone())
            .with_namespace(self.namespace.clone())
            .with_parameters(params)
            .build()
            .await
            .map_err(lease_error)?;
        let (leading, task) = manager.watch().await;
        Ok(Campaign { leading, task })
    }
}

/// A running campaign: whether this replica leads, as it changes.
pub struct Campaign {
    leading: watch::Receiver<bool>,
    task: JoinHandle<Result<LeaseManager, LeaseManagerError>>,
}

impl Campaign {
    /// Completes once this replica leads.
    pub async fn won(&mut self) -> Result<(), Error> {
        self.leading
            .wait_for(|leading| *leading)
            .await
            .map(drop)
            .map_err(|_| Error::LeaderElection("the lease manager stopped".to_owned()))
    }

    /// Completes when this replica no longer leads (or cannot know it).
    pub fn lost(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut leading = self.leading.clone();
        async move {
            let _ = leading.wait_for(|leading| !*leading).await;
        }
    }

    /// Gives the lease up so that a standby takes over without waiting for
    /// it to expire. Every [`Campaign::lost`] future must be gone: the
    /// manager releases once nobody watches it.
    pub async fn resign(self) -> Result<(), Error> {
        drop(self.leading);
        match self.task.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(lease_error(error)),
            Err(join) => Err(Error::LeaderElection(join.to_string())),
        }
    }
}

fn lease_error(error: LeaseManagerError) -> Error {
    Error::LeaderElection(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn election(duration: u64, grace: u64) -> Result<Election, Error> {
        Election::new(
            "wasm-issuer".into(),
            "cert-manager".into(),
            "pod-a".into(),
            Duration::from_secs(duration),
            Duration::from_secs(grace),
        )
    }

    #[test]
    fn the_grace_must_be_shorter_than_the_lease() {
        assert!(election(15, 5).is_ok());
        for (duration, grace) in [(5, 5), (5, 6), (5, 0)] {
            let error = election(duration, grace).expect_err("refused").to_string();
            assert!(error.contains("renew grace"), "{error}");
        }
    }
}
