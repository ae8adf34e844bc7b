//! Taking over a running installation of Kyma's nats-manager: its objects (tests/fixtures/
//! upstream-nats-install.yaml, in the shapes of upstream's chart, applied as its field manager) and
//! the NATS CR from upstream's own sample exist; three real nats-servers ran upstream's nats.conf on
//! the claims' volumes and stored a JetStream marker. Then this manager starts: it adopts every
//! object in place (same UIDs, same claims bound to the same volumes), drops what upstream's shape
//! had and ours has not, and three servers running the adopted nats.conf on those volumes read the
//! marker back. An installation whose StatefulSet cannot take our shape is named in the CR's status
//! and none of its objects is written.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::crs::nats_ready_with;
use common::nats::{Servers, free_port, localize, nats_server_binary};
use common::{TestNamespace, client_with_crds, eventing_in_state, start_manager, wait_until};
use eventing_manager::api::eventing::{ActiveBackend, Eventing};
use eventing_manager::api::{Nats, State};
use eventing_manager::controllers::nats::NatsNames;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);
const MARKER: &str = "written by upstream's servers before the takeover";

fn kyma_file(path: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/kyma").join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    yaml_serde::from_str(&text).expect("sample")
}

/// The objects of a fixture, made for the CR `kind`/`name` with `uid` in `namespace`.
fn upstream_objects(fixture: &str, namespace: &str, (kind, name, uid): (&str, &str, &str)) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(fixture);
    let text = std::fs::read_to_string(path).expect("fixture").replace("NAMESPACE", namespace);
    let owner = json!([{"apiVersion": "operator.kyma-project.io/v1alpha1", "kind": kind, "name": name,
                        "uid": uid, "controller": true, "blockOwnerDeletion": true}]);
    text.split("\n---\n")
        .map(|doc| {
            let mut object: Value = yaml_serde::from_str(doc).expect("fixture document");
            object["metadata"]["namespace"] = json!(namespace);
            object["metadata"]["ownerReferences"] = owner.clone();
            object
        })
        .collect()
}

/// Applies `objects` as upstream's manager `field_manager` does (server-side apply).
async fn apply_as(client: &Client, field_manager: &str, objects: &[Value]) {
    for object in objects {
        let api = common::dynamic_api(client, object).await.expect("kind served");
        let name = object["metadata"]["name"].as_str().expect("name");
        api.patch(name, &PatchParams::apply(field_manager).force(), &Patch::Apply(object)).await.expect("apply");
    }
}

/// The claim of each server with its UID and volume, once all three are bound.
async fn bound_claims(client: &Client, namespace: &str) -> BTreeMap<String, (String, String)> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let names = NatsNames::of("eventing-nats");
    let mut bound = BTreeMap::new();
    for i in 0..3 {
        let bound_claim = |c: Option<&PersistentVolumeClaim>| {
            c.is_some_and(|c| c.spec.as_ref().and_then(|s| s.volume_name.as_ref()).is_some())
        };
        let claim = wait_until(&claims, &names.claim(i), bound_claim, TIMEOUT).await;
        let volume = claim.spec.and_then(|s| s.volume_name).unwrap_or_default();
        bound.insert(names.claim(i), (claim.metadata.uid.unwrap_or_default(), volume));
    }
    bound
}

/// Three nats-servers on 127.0.0.1, one per claim: server `i` keeps its data in the directory of
/// the volume its claim is bound to, as the kubelet would mount it.
struct Site {
    dir: PathBuf,
    ports: Vec<(u16, u16, u16)>,
}

impl Site {
    fn new(dir: PathBuf) -> Self {
        Self { dir, ports: (0..3).map(|_| (free_port(), free_port(), free_port())).collect() }
    }

    fn volume(&self, volume: &str) -> PathBuf {
        let path = self.dir.join("volumes").join(volume);
        std::fs::create_dir_all(&path).expect("volume dir");
        path
    }

    fn start(&self, phase: &str, confs: Vec<String>, env: &[(&str, &str)]) -> Servers {
        let mut servers = Servers(Vec::new());
        for (i, conf) in confs.into_iter().enumerate() {
            let dir = self.dir.join(format!("{phase}-{i}"));
            std::fs::create_dir_all(dir.join("accounts")).expect("server dir");
            let file = dir.join("nats.conf");
            std::fs::write(&file, conf).expect("conf");
            std::fs::write(dir.join("accounts/resolver.conf"), UPSTREAM_ACCOUNTS).expect("accounts");
            let (_, cluster, _) = self.ports[i];
            let log = std::fs::File::create(dir.join("log")).expect("log");
            let child = Command::new(nats_server_binary())
                .arg("-c")
                .arg(&file)
                .env("SERVER_NAME", format!("eventing-nats-{i}"))
                .env("CLUSTER_ADVERTISE", format!("127.0.0.1:{cluster}"))
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("nats-server");
            servers.0.push(child);
        }
        let http: Vec<u16> = self.ports.iter().map(|p| p.2).collect();
        wait_for_meta_leader(&http, TIMEOUT, &self.dir);
        servers
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.ports[0].0)
    }
}

/// Waits until the servers monitored on `http_ports` agree on one JetStream meta leader.
fn wait_for_meta_leader(http_ports: &[u16], within: Duration, logs: &Path) -> String {
    let deadline = Instant::now() + within;
    loop {
        let leaders: Vec<String> = http_ports
            .iter()
            .map(|port| {
                common::http_get(*port, "/jsz")
                    .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
                    .and_then(|v| v["meta_cluster"]["leader"].as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        if !leaders[0].is_empty() && leaders.iter().all(|l| *l == leaders[0]) {
            return leaders[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "no JetStream meta leader within {within:?}: {leaders:?} (logs in {})",
            logs.display()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

const UPSTREAM_ACCOUNTS: &str = "accounts: { \"$SYS\": { users: [ { user: \"admin\", password: \"upstream-generated-password\" } ] }, }\nsystem_account: \"$SYS\"\n";

/// Upstream's nats.conf of server `i`, on 127.0.0.1 with its store on `volume`.
fn upstream_conf(conf: &str, namespace: &str, site: &Site, i: usize, volume: &Path) -> String {
    let (client, cluster, http) = site.ports[i];
    let mut local = conf
        .replace("port: 4222", &format!("listen: 127.0.0.1:{client}"))
        .replace("http: 8222\nhttp_port: 8222,", &format!("http: 127.0.0.1:{http}"))
        .replace("port: 6222", &format!("listen: 127.0.0.1:{cluster}"))
        .replace("store_dir: /data", &format!("store_dir: {:?}", volume.display().to_string()))
        .replace(
            "\"/var/run/nats/nats.pid\"",
            &format!("{:?}", site.dir.join(format!("up-{i}.pid")).display().to_string()),
        );
    for (j, (_, peer, _)) in site.ports.iter().enumerate() {
        local = local.replace(
            &format!("eventing-nats-{j}.eventing-nats.{namespace}.svc.cluster.local:6222"),
            &format!("127.0.0.1:{peer}"),
        );
    }
    assert!(!local.contains("svc.cluster.local") && !local.contains("/data"), "localized:\n{local}");
    local
}

/// Upstream's installation: its sample CR with its finalizer, its objects (changed by `edit`) as
/// its manager applies them.
async fn install_upstream(
    client: &Client,
    namespace: &str,
    edit: impl FnOnce(&mut Vec<Value>),
) -> (Api<Nats>, Vec<Value>) {
    let classes: Api<PriorityClass> = Api::all(client.clone());
    let class = json!({"metadata": {"name": "nats-manager-priority-class"}, "value": 2000000});
    let _ = classes.create(&PostParams::default(), &serde_json::from_value(class).expect("class")).await;
    let mut cr = kyma_file("nats-manager/samples/default.yaml");
    cr["metadata"]["namespace"] = json!(namespace);
    cr["metadata"]["finalizers"] = json!(["nats.operator.kyma-project.io/finalizer"]);
    let crs: Api<Nats> = Api::namespaced(client.clone(), namespace);
    let cr = crs.create(&PostParams::default(), &serde_json::from_value(cr).expect("CR")).await.expect("create CR");
    let uid = cr.uid().expect("uid");
    let mut objects = upstream_objects("upstream-nats-install.yaml", namespace, ("NATS", "eventing-nats", &uid));
    edit(&mut objects);
    apply_as(client, "nats-manager", &objects).await;
    (crs, objects)
}

/// Upstream's Eventing CR (its sample with the NATS backend, with its finalizer) and the publisher
/// that its manager made for it.
async fn install_upstream_eventing(client: &Client, namespace: &str) -> (Api<Eventing>, Vec<Value>) {
    let mut cr = kyma_file("eventing-manager/samples/default_nats.yaml");
    cr["metadata"]["namespace"] = json!(namespace);
    cr["metadata"]["finalizers"] = json!([UPSTREAM_EVENTING_FINALIZER]);
    let crs: Api<Eventing> = Api::namespaced(client.clone(), namespace);
    let cr = crs.create(&PostParams::default(), &serde_json::from_value(cr).expect("CR")).await.expect("create CR");
    let uid = cr.uid().expect("uid");
    let objects = upstream_objects("upstream-eventing-install.yaml", namespace, ("Eventing", "eventing", &uid));
    apply_as(client, "eventing-manager", &objects).await;
    (crs, objects)
}

const UPSTREAM_EVENTING_FINALIZER: &str = "eventing.operator.kyma-project.io/finalizer";

/// Per object: its generation (workloads; their resource version moves with their status) or
/// resource version, and its managed-by label: what any write would change.
async fn versions(client: &Client, objects: &[Value]) -> BTreeMap<String, String> {
    versions_or_uids(client, objects, false).await
}

/// [`versions`], or with `uids` each object's UID (which stays when it is adopted in place).
async fn versions_or_uids(client: &Client, objects: &[Value], uids: bool) -> BTreeMap<String, String> {
    let mut versions = BTreeMap::new();
    for object in objects {
        let api: Api<DynamicObject> = common::dynamic_api(client, object).await.expect("api");
        let name = object["metadata"]["name"].as_str().expect("name");
        let live = api.get(name).await.expect("get");
        let version = match live.metadata.generation {
            Some(generation) => format!("generation {generation}"),
            None => live.resource_version().unwrap_or_default(),
        };
        let managed_by = live.labels().get("app.kubernetes.io/managed-by").cloned().unwrap_or_default();
        let value = if uids { live.uid().unwrap_or_default() } else { format!("{version}, managed by {managed_by}") };
        versions.insert(format!("{} {name}", object["kind"]), value);
    }
    versions
}

async fn js_request(nats: &async_nats::Client, subject: &str, body: Value) -> Value {
    let payload = serde_json::to_vec(&body).expect("json");
    common::nats::request(nats, subject, &payload, Duration::from_secs(30)).await
}

/// Both installations exist before the manager starts: one is adopted with its data, the other
/// (a claim template that differs from what the CR means: a class where the CR says the default;
/// claim templates are immutable) is refused with its objects untouched.
#[tokio::test]
async fn upstream_installs_are_adopted_with_their_data_or_refused_untouched() {
    let client = client_with_crds().await;
    let refused_ns = TestNamespace::create(&client, "takeover-refused").await;
    let (refused_crs, refused_objects) = install_upstream(&client, &refused_ns.name, |objects| {
        let sts = objects.iter_mut().find(|o| o["kind"] == "StatefulSet").expect("StatefulSet");
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] = json!("fixed-size");
    })
    .await;
    let refused_before = versions(&client, &refused_objects).await;

    let ns = TestNamespace::create(&client, "takeover").await;
    let namespace = ns.name.clone();
    let site = Site::new(std::env::temp_dir().join(format!("takeover-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(site.dir.join("volumes"));

    let (crs, objects) = install_upstream(&client, &namespace, |_| {}).await;
    let (eventings, publisher_objects) = install_upstream_eventing(&client, &namespace).await;
    let claims_before = bound_claims(&client, &namespace).await;

    // Upstream's servers store the marker in an R3 stream on those volumes.
    let upstream = objects.iter().find(|o| o["kind"] == "ConfigMap").expect("ConfigMap");
    let upstream_nats_conf = upstream["data"]["nats.conf"].as_str().expect("nats.conf");
    let confs = claims_before
        .values()
        .enumerate()
        .map(|(i, (_, volume))| upstream_conf(upstream_nats_conf, &namespace, &site, i, &site.volume(volume)))
        .collect();
    let servers = site.start("upstream", confs, &[]);
    let nats = async_nats::connect(site.url()).await.expect("connect to upstream's servers");
    let created = js_request(
        &nats,
        "$JS.API.STREAM.CREATE.MARK",
        json!({"name": "MARK", "subjects": ["mark.>"], "num_replicas": 3}),
    )
    .await;
    assert!(created.get("error").is_none(), "stream created: {created}");
    // The new stream's leader may take a moment to listen.
    let deadline = Instant::now() + Duration::from_secs(20);
    let ack = loop {
        match nats.request("mark.before", MARKER.into()).await {
            Ok(ack) => break ack,
            Err(error) if Instant::now() < deadline => tracing::debug!("publish: {error}; retrying"),
            Err(error) => panic!("publish: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(String::from_utf8_lossy(&ack.payload).contains("\"seq\":1"), "stored: {:?}", ack.payload);
    drop(nats);
    drop(servers);

    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), &namespace);
    let before = sts_api.get("eventing-nats").await.expect("upstream's StatefulSet");
    let uids_before = versions_or_uids(&client, &objects, true).await;
    let publisher_uids = versions_or_uids(&client, &publisher_objects, true).await;

    // Ours takes over.
    start_manager();
    wait_until(&crs, "eventing-nats", nats_ready_with(3), TIMEOUT).await;

    assert_eq!(versions_or_uids(&client, &objects, true).await, uids_before, "adopted in place, not re-created");
    let after = sts_api.get("eventing-nats").await.expect("StatefulSet");
    assert_eq!(after.uid(), before.uid());
    assert_eq!(after.labels().get("app.kubernetes.io/managed-by").map(String::as_str), Some("eventing-manager"));
    let managers: Vec<&str> = after.managed_fields().iter().filter_map(|m| m.manager.as_deref()).collect();
    assert!(!managers.contains(&"nats-manager"), "nats-manager owns no field any more: {managers:?}");
    let pod = after.spec.template.spec.as_ref().expect("pod spec");
    let nats_container = pod.containers.iter().find(|c| c.name == "nats").expect("nats container");
    let env: Vec<&str> = nats_container.env.iter().flatten().map(|e| e.name.as_str()).collect();
    assert!(!env.contains(&"CLUSTER_ADVERTISE"), "upstream's leftovers are gone: {env:?}");
    assert!(!pod.volumes.iter().flatten().any(|v| v.name == "accounts-volume"), "upstream's accounts volume is gone");
    assert_eq!(bound_claims(&client, &namespace).await, claims_before, "the same claims, bound to the same volumes");
    let service = Api::<Service>::namespaced(client.clone(), &namespace).get("eventing-nats").await.expect("svc");
    assert_eq!(service.labels().get("app.kubernetes.io/managed-by").map(String::as_str), Some("eventing-manager"));
    let pdb =
        Api::<PodDisruptionBudget>::namespaced(client.clone(), &namespace).get("eventing-nats").await.expect("pdb");
    assert!(pdb.managed_fields().iter().all(|m| m.manager.as_deref() != Some("nats-manager")));
    let secret =
        Api::<Secret>::namespaced(client.clone(), &namespace).get("eventing-nats-secret").await.expect("secret");
    let data = secret.data.unwrap_or_default();
    assert!(
        data.contains_key("admin-password") && !data.contains_key("resolver.conf"),
        "our credentials replaced upstream's"
    );
    let password = String::from_utf8(data["admin-password"].0.clone()).expect("utf-8");
    let cr = crs.get("eventing-nats").await.expect("CR");
    assert_eq!(cr.finalizers(), ["nats.operator.kyma-project.io/finalizer"], "upstream's finalizer name is ours");

    // The Eventing CR: our finalizer instead of upstream's, its publisher adopted in place and
    // pointed at the NATS CR's cluster.
    let eventing =
        wait_until(&eventings, "eventing", eventing_in_state(State::Ready, ActiveBackend::Nats), TIMEOUT).await;
    assert_eq!(eventing.finalizers(), ["eventing-manager.kyma-project.io/deletion-hook"]);
    assert_eq!(versions_or_uids(&client, &publisher_objects, true).await, publisher_uids, "adopted in place");
    let deployment = Api::<Deployment>::namespaced(client.clone(), &namespace)
        .get("eventing-publisher-proxy")
        .await
        .expect("publisher");
    assert!(deployment.labels().contains_key("eventing-manager.kyma-project.io/owner-name"), "ours now");
    let container = &deployment.spec.template.spec.as_ref().expect("pod spec").containers[0];
    let env: BTreeMap<&str, Option<&str>> =
        container.env.iter().flatten().map(|e| (e.name.as_str(), e.value.as_deref())).collect();
    assert_eq!(
        env.get("NATS_URL"),
        Some(&Some(format!("nats://eventing-nats.{namespace}.svc.cluster.local:4222").as_str()))
    );
    assert!(!env.contains_key("LEGACY_NAMESPACE"), "upstream's leftovers are gone: {env:?}");

    // Our nats.conf on the same volumes: the servers read the marker written before the takeover.
    let ours = Api::<ConfigMap>::namespaced(client.clone(), &namespace).get("eventing-nats-config").await.expect("cm");
    let our_conf = ours.data.and_then(|d| d.get("nats.conf").cloned()).expect("nats.conf");
    let peers: Vec<u16> = site.ports.iter().map(|p| p.1).collect();
    let confs = (0..3)
        .map(|i| {
            let (_, volume) = &claims_before[&NatsNames::of("eventing-nats").claim(i)];
            let link = site.dir.join(format!("data-{i}"));
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(site.volume(volume), &link).expect("link");
            localize(&our_conf, site.ports[i], &site.dir, i, ("eventing", &namespace), &peers)
        })
        .collect();
    let servers = site.start("ours", confs, &[("ADMIN_PASSWORD", password.as_str())]);
    let nats = async_nats::connect(site.url()).await.expect("connect to our servers");
    // The meta leader announces the streams it recovered a moment after it is elected.
    let deadline = Instant::now() + Duration::from_secs(20);
    let message = loop {
        let reply = js_request(&nats, "$JS.API.STREAM.MSG.GET.MARK", json!({"last_by_subj": "mark.before"})).await;
        if reply.get("error").is_none() || Instant::now() > deadline {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let data = message["message"]["data"].as_str().unwrap_or_else(|| panic!("the marker is there: {message}"));
    let data = base64::engine::general_purpose::STANDARD.decode(data).expect("base64");
    assert_eq!(String::from_utf8_lossy(&data), MARKER);
    drop(servers);
    let _ = std::fs::remove_dir_all(&site.dir);

    let refused = common::crs::nats_says(
        State::Error,
        "Conflict",
        &["StatefulSet", "eventing-nats", "cannot be taken over", "nothing was changed", "volumeClaimTemplates"],
    );
    wait_until(&refused_crs, "eventing-nats", refused, TIMEOUT).await;
    assert_eq!(versions(&client, &refused_objects).await, refused_before, "no object was written, the Secret included");
}
