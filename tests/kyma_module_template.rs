//! A ModuleTemplate installed in the cluster wins over the embedded `module-template.yaml`: the
//! default Eventing CR is its `spec.data`. (A binary of its own: the template is cluster-wide.)

mod common;

use std::time::Duration;

use common::{FIELD_MANAGER, setup_with_manager, wait_deleted, wait_until};
use eventing_manager::api::eventing::{ActiveBackend, Eventing};
use eventing_manager::api::kyma::Kyma;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::wait::conditions;
use kube::{Api, ResourceExt};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_cluster_module_template_provides_the_default_cr() {
    let (client, ns) = setup_with_manager("kyma-template").await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd: CustomResourceDefinition =
        yaml_serde::from_str(include_str!("../config/kyma/moduletemplate-crd.yaml")).expect("fixture");
    crds.patch(&crd.name_any(), &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&crd)).await.expect("CRD");
    wait_until(&crds, &crd.name_any(), conditions::is_crd_established(), TIMEOUT).await;

    let resource = eventing_manager::controllers::kyma::module_template_resource();
    let templates: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns.name, &resource);
    let mut template = DynamicObject::new("eventing-fast", &resource);
    template.metadata.labels =
        Some([("operator.kyma-project.io/module-name".to_owned(), "eventing".to_owned())].into());
    template.data = json!({"spec": {"channel": "fast", "data": {
        "apiVersion": "operator.kyma-project.io/v1alpha1", "kind": "Eventing",
        "metadata": {"name": "eventing", "namespace": "kyma-system"},
        "spec": {"backend": {"type": "NATS"}, "publisher": {"replicas": {"min": 1, "max": 3}}, "logging": {"logLevel": "Debug"}}
    }}});
    templates.create(&PostParams::default(), &template).await.expect("create ModuleTemplate");

    let kymas: Api<Kyma> = Api::namespaced(client.clone(), &ns.name);
    let kyma: Kyma = serde_json::from_value(json!({
        "apiVersion": "operator.kyma-project.io/v1beta2", "kind": "Kyma", "metadata": {"name": "default"},
        "spec": {"channel": "regular", "modules": [{"name": "eventing"}]}
    }))
    .expect("Kyma");
    kymas.create(&PostParams::default(), &kyma).await.expect("create Kyma");
    let eventings: Api<Eventing> = Api::namespaced(client.clone(), &ns.name);
    let eventing = wait_until(&eventings, "eventing", |e: Option<&Eventing>| e.is_some(), TIMEOUT).await;
    assert_eq!(
        (eventing.spec.publisher.replicas.min, eventing.spec.publisher.replicas.max),
        (1, 3),
        "spec.data of the cluster's template"
    );
    assert_eq!(eventing.spec.backend.kind.canonical(), ActiveBackend::Nats);
    assert_eq!(eventing.namespace().as_deref(), Some(ns.name.as_str()), "created next to the Kyma CR");

    kymas.delete("default", &DeleteParams::default()).await.expect("delete Kyma");
    templates.delete("eventing-fast", &DeleteParams::default()).await.expect("delete template");
    crds.delete(&crd.name_any(), &DeleteParams::default()).await.expect("delete CRD");
    wait_deleted(&crds, &crd.name_any(), TIMEOUT).await;
}
