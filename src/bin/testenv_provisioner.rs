//! Simulated volume provisioner of the local test environment (hack/testenv).
//!
//! kwok runs no storage, so this binds every PersistentVolumeClaim of a StorageClass whose provisioner
//! is [`PROVISIONER`] to a PersistentVolume it creates, completes expansion requests (PV capacity and
//! claim status), and deletes released volumes. Not part of the manager; only the test environment runs it.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::{
    CSIPersistentVolumeSource, ObjectReference, PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use serde_json::json;

const PROVISIONER: &str = "testenv.eventing-manager.local/simulated";
const SELECTED_NODE_ANNOTATION: &str = "volume.kubernetes.io/selected-node";

#[tokio::main]
async fn main() -> Result<(), kube::Error> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let client = Client::try_default().await?;
    let claims: Api<PersistentVolumeClaim> = Api::all(client.clone());
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let classes: Api<StorageClass> = Api::all(client.clone());

    // Any change of a claim or a volume triggers a full pass; the tick is the safety net.
    let claim_events = watcher(claims.clone(), watcher::Config::default()).touched_objects().map(|_| ());
    let volume_events = watcher(volumes.clone(), watcher::Config::default()).touched_objects().map(|_| ());
    let ticks = stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Some(((), ()))
    });
    let triggers = std::pin::pin!(stream::select(stream::select(claim_events, volume_events), ticks));
    tracing::info!(provisioner = PROVISIONER, "simulated provisioner started");
    // Events that arrive together are handled by one pass.
    let mut triggers = triggers.ready_chunks(4096);
    while triggers.next().await.is_some() {
        if let Err(error) = sync(&claims, &volumes, &classes).await {
            tracing::warn!(%error, "provisioning pass failed; retrying on the next event");
        }
    }
    Ok(())
}

async fn sync(
    claims: &Api<PersistentVolumeClaim>,
    volumes: &Api<PersistentVolume>,
    classes: &Api<StorageClass>,
) -> Result<(), kube::Error> {
    // Class name → whether it binds only once the scheduler picked a node (WaitForFirstConsumer).
    let our_classes: BTreeMap<String, bool> = classes
        .list(&ListParams::default())
        .await?
        .into_iter()
        .filter(|class| class.provisioner == PROVISIONER)
        .map(|class| {
            let waits = class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer");
            (class.name_any(), waits)
        })
        .collect();
    let all_volumes = volumes.list(&ListParams::default()).await?;
    let existing: HashSet<String> = all_volumes.iter().map(|pv| pv.name_any()).collect();

    for claim in claims.list(&ListParams::default()).await? {
        let Some(class) = claim.spec.as_ref().and_then(|s| s.storage_class_name.clone()) else { continue };
        let Some(&waits_for_consumer) = our_classes.get(&class) else { continue };
        if claim.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if waits_for_consumer && !claim.annotations().contains_key(SELECTED_NODE_ANNOTATION) {
            continue;
        }
        let Some(uid) = claim.uid() else { continue };
        let volume_name = format!("pvc-{uid}");
        let requested = requested_storage(&claim);
        if !existing.contains(&volume_name) {
            if let Some(size) = requested.clone() {
                create_volume(volumes, &claim, &volume_name, &class, size).await?;
            }
            continue;
        }
        complete_expansion(claims, volumes, &claim, &volume_name, requested).await?;
    }

    for volume in all_volumes {
        let ours = volume.annotations().get("pv.kubernetes.io/provisioned-by").is_some_and(|p| p == PROVISIONER);
        let released = volume.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Released");
        if ours && released {
            tracing::info!(volume = %volume.name_any(), "deleting released volume");
            volumes.delete(&volume.name_any(), &DeleteParams::default()).await?;
        }
    }
    Ok(())
}

fn requested_storage(claim: &PersistentVolumeClaim) -> Option<Quantity> {
    claim.spec.as_ref()?.resources.as_ref()?.requests.as_ref()?.get("storage").cloned()
}

async fn create_volume(
    volumes: &Api<PersistentVolume>,
    claim: &PersistentVolumeClaim,
    volume_name: &str,
    class: &str,
    size: Quantity,
) -> Result<(), kube::Error> {
    let volume = PersistentVolume {
        metadata: ObjectMeta {
            name: Some(volume_name.to_owned()),
            annotations: Some(BTreeMap::from([("pv.kubernetes.io/provisioned-by".to_owned(), PROVISIONER.to_owned())])),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeSpec {
            capacity: Some(BTreeMap::from([("storage".to_owned(), size)])),
            access_modes: claim.spec.as_ref().and_then(|s| s.access_modes.clone()),
            claim_ref: Some(ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("PersistentVolumeClaim".into()),
                namespace: claim.namespace(),
                name: Some(claim.name_any()),
                uid: claim.uid(),
                ..ObjectReference::default()
            }),
            storage_class_name: Some(class.to_owned()),
            persistent_volume_reclaim_policy: Some("Delete".into()),
            volume_mode: claim.spec.as_ref().and_then(|s| s.volume_mode.clone()),
            csi: Some(CSIPersistentVolumeSource {
                driver: PROVISIONER.replace('/', "."),
                volume_handle: volume_name.to_owned(),
                ..CSIPersistentVolumeSource::default()
            }),
            ..PersistentVolumeSpec::default()
        }),
        status: None,
    };
    tracing::info!(claim = %claim.name_any(), namespace = ?claim.namespace(), volume = volume_name, "provisioning");
    match volumes.create(&PostParams::default(), &volume).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(error),
    }
}

async fn complete_expansion(
    claims: &Api<PersistentVolumeClaim>,
    volumes: &Api<PersistentVolume>,
    claim: &PersistentVolumeClaim,
    volume_name: &str,
    requested: Option<Quantity>,
) -> Result<(), kube::Error> {
    let Some(requested) = requested else { return Ok(()) };
    let status = claim.status.as_ref();
    if status.and_then(|s| s.phase.as_deref()) != Some("Bound") {
        return Ok(());
    }
    let current = status.and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage"));
    if current == Some(&requested) {
        return Ok(());
    }
    tracing::info!(claim = %claim.name_any(), size = %requested.0, "expanding");
    let params = PatchParams::default();
    volumes.patch(volume_name, &params, &Patch::Merge(json!({"spec": {"capacity": {"storage": requested}}}))).await?;
    let namespaced: Api<PersistentVolumeClaim> =
        Api::namespaced(claims.clone().into_client(), &claim.namespace().unwrap_or_default());
    namespaced
        .patch_status(
            &claim.name_any(),
            &params,
            &Patch::Merge(json!({"status": {
                "capacity": {"storage": requested},
                "allocatedResources": {"storage": requested},
                "conditions": null,
                "allocatedResourceStatuses": null
            }})),
        )
        .await?;
    Ok(())
}
