//! JetStream storage use: the NATS controller reads each server's `/jsz` and says in the CR's
//! status, before the store is full, that it is nearly full; the metric shows every server's share.
//! A real nats-server answers for the servers (the manager's `--nats-monitor-url` points at it;
//! kwok's pods run nothing).

mod common;

use std::time::Duration;

use common::crs::{create_nats, nats_in_state, nats_says};
use common::nats::{NatsServer, free_port};
use common::{MANAGER_NAMESPACE, TestNamespace, client_with_crds, start_manager_with, wait_until};
use eventing_manager::api::State;
use eventing_manager::controllers::{Config, KymaMode};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_nearly_full_file_store_is_a_warning_before_publishing_fails() {
    let dir = common::fresh_dir("storage-use");
    let http = free_port();
    let conf = dir.join("nats.conf");
    let store = dir.join("store").display().to_string();
    std::fs::write(
        &conf,
        format!("http: 127.0.0.1:{http}\njetstream {{ store_dir: {store:?}, max_file_store: 1MB }}\n"),
    )
    .expect("conf");
    let server = NatsServer::start(&["-c", conf.to_str().expect("path")]);

    start_manager_with(Config {
        manager_namespace: MANAGER_NAMESPACE.into(),
        kyma_mode: KymaMode::Standalone,
        // Storage fills without an event: look again every second.
        resync: Duration::from_secs(1),
        nats_monitor_url: format!("http://127.0.0.1:{http}"),
        ..Default::default()
    });
    let client = client_with_crds().await;
    let ns = TestNamespace::create(&client, "storage-use").await;
    let nats = create_nats(&client, &ns.name, "js", json!({"cluster": {"size": 1}})).await;
    let available = nats_says(State::Ready, "Available", &["js-nats-0", "of a server's JetStream file store is used"]);
    wait_until(&nats, "js", available, TIMEOUT).await;

    // 850 KB into the 1 MB store.
    let client_nats = async_nats::connect(server.url()).await.expect("connect");
    let stream = json!({"name": "FILL", "subjects": ["fill"], "storage": "file"});
    let reply =
        common::nats::request(&client_nats, "$JS.API.STREAM.CREATE.FILL", stream.to_string().as_bytes(), TIMEOUT).await;
    assert!(reply.get("error").is_none(), "{reply}");
    for _ in 0..850 {
        client_nats.request("fill", vec![b'x'; 1000].into()).await.expect("stored");
    }
    let nearly_full = nats_says(
        State::Warning,
        "NearlyFull",
        &["js-nats-0 uses", "of its JetStream file store", "grow spec.jetStream.fileStorage.size"],
    );
    wait_until(&nats, "js", nearly_full, TIMEOUT).await;
    let metrics = eventing_manager::metrics::render();
    let series = format!(
        "eventing_manager_nats_jetstream_storage_ratio{{namespace=\"{}\",name=\"js\",server=\"js-nats-0\"}} ",
        ns.name
    );
    let ratio: Option<f64> =
        metrics.lines().find_map(|line| line.strip_prefix(series.as_str())).and_then(|value| value.parse().ok());
    assert!(ratio.is_some_and(|r| (0.8..1.0).contains(&r)), "the metric shows the share ({ratio:?}):\n{metrics}");

    // Space freed: Ready again.
    let purged = common::nats::request(&client_nats, "$JS.API.STREAM.PURGE.FILL", b"", TIMEOUT).await;
    assert_eq!(purged["success"], true, "{purged}");
    wait_until(&nats, "js", nats_in_state(State::Ready), TIMEOUT).await;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
