//! Leader election through a coordination.k8s.io/v1 Lease, with upstream's timings
//! (lease 15 s, renew deadline 10 s, retry 2 s): only the holder acts; a leader that cannot
//! renew in time stops leading.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use tokio_util::sync::CancellationToken;

/// Timings and identity of one elector.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// Namespace of the Lease (kube-system upstream).
    pub namespace: String,
    /// Name of the Lease (e.g. kube-controller-manager).
    pub name: String,
    /// This candidate's identity (hostname plus a unique suffix).
    pub identity: String,
    /// How long a lease is valid without renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before giving up.
    pub renew_deadline: Duration,
    /// How often candidates retry and the leader renews.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// Upstream's defaults for a component's lock.
    pub fn new(namespace: &str, name: &str) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "localhost".into());
        LeaseConfig {
            namespace: namespace.into(),
            name: name.into(),
            identity: format!("{}_{}", host.trim(), uuid::Uuid::new_v4()),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Outcome of one acquire-or-renew attempt.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    Holding,
    HeldByOther,
}

/// Blocks until this candidate holds the Lease; returns a token cancelled when leadership
/// is lost (the caller should stop acting, as upstream components exit).
pub async fn acquire(client: kube::Client, cfg: LeaseConfig) -> CancellationToken {
    let api: Api<Lease> = Api::namespaced(client, &cfg.namespace);
    loop {
        match try_acquire_or_renew(&api, &cfg).await {
            Ok(Attempt::Holding) => break,
            Ok(Attempt::HeldByOther) => {}
            Err(e) => tracing::warn!(error = %e, lease = %cfg.name, "leader election attempt failed"),
        }
        tokio::time::sleep(cfg.retry_period).await;
    }
    tracing::info!(lease = %cfg.name, identity = %cfg.identity, "became leader");
    let lost = CancellationToken::new();
    tokio::spawn(renew_loop(api, cfg, lost.clone()));
    lost
}

async fn renew_loop(api: Api<Lease>, cfg: LeaseConfig, lost: CancellationToken) {
    let mut last_renew = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(cfg.retry_period).await;
        match try_acquire_or_renew(&api, &cfg).await {
            Ok(Attempt::Holding) => last_renew = tokio::time::Instant::now(),
            Ok(Attempt::HeldByOther) => break,
            Err(e) => tracing::warn!(error = %e, "renewing the lease failed"),
        }
        if last_renew.elapsed() > cfg.renew_deadline {
            break;
        }
    }
    tracing::error!(lease = %cfg.name, "leader election lost");
    lost.cancel();
}

fn now() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

async fn try_acquire_or_renew(api: &Api<Lease>, cfg: &LeaseConfig) -> Result<Attempt, kube::Error> {
    let existing = api.get_opt(&cfg.name).await?;
    let Some(mut lease) = existing else {
        let lease = Lease {
            metadata: ObjectMeta { name: Some(cfg.name.clone()), ..Default::default() },
            spec: Some(LeaseSpec {
                holder_identity: Some(cfg.identity.clone()),
                lease_duration_seconds: Some(cfg.lease_duration.as_secs() as i32),
                acquire_time: Some(now()),
                renew_time: Some(now()),
                lease_transitions: Some(0),
                ..Default::default()
            }),
        };
        return match api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(Attempt::Holding),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(Attempt::HeldByOther),
            Err(e) => Err(e),
        };
    };
    let spec = lease.spec.get_or_insert_with(Default::default);
    let holder = spec.holder_identity.clone().unwrap_or_default();
    let expired = spec.renew_time.as_ref().is_none_or(|t| {
        let valid = i64::from(spec.lease_duration_seconds.unwrap_or(15));
        t.0.as_second() + valid < k8s_openapi::jiff::Timestamp::now().as_second()
    });
    if holder != cfg.identity && !holder.is_empty() && !expired {
        return Ok(Attempt::HeldByOther);
    }
    if holder != cfg.identity {
        spec.acquire_time = Some(now());
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    }
    spec.holder_identity = Some(cfg.identity.clone());
    spec.lease_duration_seconds = Some(cfg.lease_duration.as_secs() as i32);
    spec.renew_time = Some(now());
    // The update is guarded by the resourceVersion we read: a racing candidate gets 409.
    match api.replace(&cfg.name, &PostParams::default(), &lease).await {
        Ok(_) => Ok(Attempt::Holding),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(Attempt::HeldByOther),
        Err(e) => Err(e),
    }
}
