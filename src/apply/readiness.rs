//! Rollout state of workloads: complete when the controller has observed the current generation
//! and every replica is updated, ready and available.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    Complete,
    /// Still rolling out, with the reason a user reads in the condition message.
    InProgress(String),
}

pub fn statefulset_rollout(sts: &StatefulSet) -> Rollout {
    let desired = sts.spec.replicas.unwrap_or(1);
    let Some(status) = sts.status.as_ref() else {
        return Rollout::InProgress("waiting for the StatefulSet controller".into());
    };
    let generation = sts.metadata.generation.unwrap_or_default();
    if status.observed_generation.unwrap_or_default() < generation {
        return Rollout::InProgress("the StatefulSet controller has not seen the latest spec yet".into());
    }
    let updated = status.updated_replicas.unwrap_or_default();
    let ready = status.ready_replicas.unwrap_or_default();
    let available = status.available_replicas.unwrap_or_default();
    if status.current_revision.is_some()
        && status.update_revision.is_some()
        && status.current_revision != status.update_revision
        && updated < desired
    {
        return Rollout::InProgress(format!("{updated} of {desired} replicas updated"));
    }
    if status.replicas > desired {
        return Rollout::InProgress(format!("scaling down to {desired} replicas, {} running", status.replicas));
    }
    if ready < desired || available < desired || updated < desired {
        return Rollout::InProgress(format!("{ready} of {desired} replicas ready"));
    }
    Rollout::Complete
}

pub fn deployment_rollout(deployment: &Deployment) -> Rollout {
    let desired = deployment.spec.replicas.unwrap_or(1);
    let Some(status) = deployment.status.as_ref() else {
        return Rollout::InProgress("waiting for the Deployment controller".into());
    };
    if status.observed_generation.unwrap_or_default() < deployment.metadata.generation.unwrap_or_default() {
        return Rollout::InProgress("the Deployment controller has not seen the latest spec yet".into());
    }
    let updated = status.updated_replicas.unwrap_or_default();
    let ready = status.ready_replicas.unwrap_or_default();
    let available = status.available_replicas.unwrap_or_default();
    let total = status.replicas.unwrap_or_default();
    if updated < desired {
        return Rollout::InProgress(format!("{updated} of {desired} replicas updated"));
    }
    if total > updated {
        return Rollout::InProgress(format!("{} old replicas still running", total - updated));
    }
    if ready < desired || available < desired {
        return Rollout::InProgress(format!("{available} of {desired} replicas available"));
    }
    Rollout::Complete
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sts(generation: i64, status: serde_json::Value) -> StatefulSet {
        serde_json::from_value(json!({"metadata": {"name": "s", "generation": generation}, "spec": {"replicas": 3, "selector": {}, "serviceName": "s", "template": {}}, "status": status})).expect("sts")
    }

    #[test]
    fn statefulset_is_complete_only_when_every_replica_is_current_and_ready() {
        let done = json!({"observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "updatedReplicas": 3, "currentRevision": "r2", "updateRevision": "r2"});
        assert_eq!(statefulset_rollout(&sts(2, done.clone())), Rollout::Complete);
        assert!(matches!(statefulset_rollout(&sts(3, done)), Rollout::InProgress(m) if m.contains("latest spec")));
        let rolling = json!({"observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "updatedReplicas": 1, "currentRevision": "r1", "updateRevision": "r2"});
        assert!(
            matches!(statefulset_rollout(&sts(2, rolling)), Rollout::InProgress(m) if m.contains("1 of 3 replicas updated"))
        );
        let starting = json!({"observedGeneration": 2, "replicas": 3, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 3});
        assert!(
            matches!(statefulset_rollout(&sts(2, starting)), Rollout::InProgress(m) if m.contains("1 of 3 replicas ready"))
        );
    }

    #[test]
    fn deployment_is_complete_when_old_replicas_are_gone() {
        let deployment = |status: serde_json::Value| -> Deployment {
            serde_json::from_value(json!({"metadata": {"name": "d", "generation": 1}, "spec": {"replicas": 2, "selector": {}, "template": {}}, "status": status})).expect("deployment")
        };
        let done = json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2});
        assert_eq!(deployment_rollout(&deployment(done)), Rollout::Complete);
        let surge = json!({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 2, "readyReplicas": 3, "availableReplicas": 3});
        assert!(matches!(deployment_rollout(&deployment(surge)), Rollout::InProgress(m) if m.contains("old replicas")));
    }
}
