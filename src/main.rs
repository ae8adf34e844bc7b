use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use eventing_manager::control;
use eventing_manager::leader::{Elector, LeaseConfig, replica_identity};
use eventing_manager::{api, chart, controllers, naming, telemetry};
use futures::FutureExt;

/// Kyma lifecycle module manager for Eventing and NATS.
#[derive(Parser)]
#[command(name = "eventing-manager", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions this project owns (Eventing, NATS) as YAML.
    Crd {
        /// Write one file per CRD (`<group>_<plural>.yaml`) into this directory instead of stdout.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Instead: the Kyma CRD for clusters without lifecycle-manager (create it only where none exists).
        #[arg(long)]
        kyma_standalone: bool,
    },
    /// Print the module's default Eventing CR (spec.data of module-template.yaml) as YAML.
    DefaultCr,
    /// Render a chart like `helm template` (the bundled module chart when CHART_DIR is not given).
    Template(TemplateArgs),
    /// Run the controllers against the cluster in KUBECONFIG (or the in-cluster config).
    Run(Box<RunArgs>),
    /// Print the version.
    Version,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Namespace the manager runs in (holds the key its generated credentials derive from).
    #[arg(long, env = "EVENTING_MANAGER_NAMESPACE", default_value = "kyma-system")]
    manager_namespace: String,
    /// Seconds between safety-net reconciles of an unchanged object.
    #[arg(long, env = "EVENTING_MANAGER_RESYNC_SECONDS", default_value_t = 300)]
    resync_seconds: u64,
    /// Log format: json in a cluster, text elsewhere, unless chosen.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "auto")]
    log_format: telemetry::LogFormat,
    /// Log filter (`info`, `debug`, `eventing_manager=debug,kube=info`).
    #[arg(long, env = "LOG_LEVEL", default_value = "info", value_parser = telemetry::parse_level)]
    log_level: String,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "METRICS_ADDR", default_value = "0.0.0.0:8080")]
    metrics_addr: String,
    /// managed: lifecycle-manager owns the Kyma CR; standalone (no lifecycle-manager): create the Eventing CR from Kyma CRs and report into them.
    #[arg(long, env = "KYMA_MODE", value_enum, default_value = "managed")]
    kyma_mode: controllers::KymaMode,
    /// Seconds that running reconciles get to finish after SIGTERM/SIGINT.
    #[arg(long, default_value_t = 30)]
    shutdown_timeout_seconds: u64,
    /// The field manager of every apply and the value of the `app.kubernetes.io/managed-by` label.
    #[arg(long, env = "EVENTING_MANAGER_NAME", default_value = eventing_manager::apply::MANAGER_NAME, value_parser = naming::label_value)]
    manager_name: String,
    /// Namespace the Eventing module installs NATS and the publisher into (default: the Eventing CR's).
    #[arg(long, env = "EVENTING_INSTALL_NAMESPACE", value_parser = naming::dns_label)]
    install_namespace: Option<String>,
    /// Release name of the Eventing module's objects (`<release>-nats`, ...; default: the Eventing CR's name).
    #[arg(long, env = "EVENTING_RELEASE_NAME", value_parser = naming::release_name)]
    release_name: Option<String>,
    /// Where each NATS server's monitoring endpoint answers, for its JetStream storage use:
    /// `{pod}`, `{service}` and `{namespace}` are filled in.
    #[arg(long, env = "NATS_MONITOR_URL", default_value = eventing_manager::controllers::storage::DEFAULT_MONITOR_URL)]
    nats_monitor_url: String,
    /// Reconcile only while holding a coordination Lease (run several replicas safely).
    #[arg(long, env = "LEADER_ELECT")]
    leader_elect: bool,
    /// Namespace of the Lease (default: --manager-namespace).
    #[arg(long, env = "LEADER_ELECTION_NAMESPACE", value_parser = naming::dns_label)]
    leader_election_namespace: Option<String>,
    /// Seconds a leader that stopped renewing keeps the Lease before another replica takes over.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..=300))]
    lease_duration_seconds: u64,
    #[command(flatten)]
    control: ControlArgs,
}

/// The NATS control API (off unless --control-nats-url is given).
#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("control_credentials").multiple(false))]
struct ControlArgs {
    /// NATS URL of the control API (`nats://host:4222`); enables it.
    #[arg(long, env = "CONTROL_NATS_URL")]
    control_nats_url: Option<String>,
    /// First subject token(s) of the API's subjects.
    #[arg(long, env = "CONTROL_SUBJECT_PREFIX", default_value = "_SAT", value_parser = eventing_manager::control::check_prefix)]
    control_subject_prefix: String,
    /// Queue group shared by the replicas (each request is answered once).
    #[arg(long, env = "CONTROL_QUEUE_GROUP", default_value = "eventing-manager")]
    control_queue_group: String,
    /// Most routes a config.put may set (the CRD allows 32).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=32))]
    control_max_routes: u64,
    /// Largest request payload, in bytes.
    #[arg(long, default_value_t = 65536, value_parser = clap::value_parser!(u64).range(64..=1048576))]
    control_max_payload_bytes: u64,
    /// NATS user (with --control-nats-password-file).
    #[arg(long, env = "CONTROL_NATS_USER", requires = "control_nats_password_file")]
    control_nats_user: Option<String>,
    /// File holding the NATS password.
    #[arg(long, group = "control_credentials", requires = "control_nats_user")]
    control_nats_password_file: Option<PathBuf>,
    /// File holding a NATS token.
    #[arg(long, group = "control_credentials")]
    control_nats_token_file: Option<PathBuf>,
    /// File holding an nkey seed (`SU...`).
    #[arg(long, group = "control_credentials")]
    control_nats_nkey_file: Option<PathBuf>,
    /// A NATS `.creds` file (JWT and nkey seed).
    #[arg(long, group = "control_credentials")]
    control_nats_creds_file: Option<PathBuf>,
    /// `namespace/name` of a Secret with `user` and `password`, or `token`, or `nkey`, or `creds`.
    #[arg(long, env = "CONTROL_NATS_SECRET", group = "control_credentials", value_parser = naming::secret_ref)]
    control_nats_secret: Option<(String, String)>,
}

impl ControlArgs {
    fn config(&self, identity: &str, manager_name: &str) -> Option<control::ControlConfig> {
        use control::CredentialsSource as Source;
        let credentials =
            if let (Some(user), Some(password_file)) = (&self.control_nats_user, &self.control_nats_password_file) {
                Source::UserPasswordFile { user: user.clone(), password_file: password_file.clone() }
            } else if let Some(path) = &self.control_nats_token_file {
                Source::TokenFile(path.clone())
            } else if let Some(path) = &self.control_nats_nkey_file {
                Source::NkeySeedFile(path.clone())
            } else if let Some(path) = &self.control_nats_creds_file {
                Source::CredsFile(path.clone())
            } else if let Some((namespace, name)) = &self.control_nats_secret {
                Source::Secret { namespace: namespace.clone(), name: name.clone() }
            } else {
                Source::None
            };
        Some(control::ControlConfig {
            url: self.control_nats_url.clone()?,
            credentials,
            prefix: self.control_subject_prefix.clone(),
            queue_group: self.control_queue_group.clone(),
            limits: control::Limits {
                max_routes: self.control_max_routes as usize,
                max_payload: self.control_max_payload_bytes as usize,
            },
            identity: identity.to_owned(),
            field_manager: format!("{manager_name}-control-api"),
        })
    }
}

#[derive(clap::Args)]
struct TemplateArgs {
    /// Chart directory; the module chart compiled into this binary when absent.
    chart_dir: Option<PathBuf>,
    /// Release name: names the rendered objects.
    #[arg(long, default_value = "eventing")]
    release_name: String,
    /// Namespace of the rendered objects.
    #[arg(long, short = 'n', default_value = "kyma-system")]
    namespace: String,
    /// Values files, merged in order over the chart's defaults.
    #[arg(long = "values", short = 'f')]
    values: Vec<PathBuf>,
    /// Overrides such as `nats.cluster.size=5` or `nats.cluster.routes={nats://a:6222}`, after the files.
    #[arg(long = "set")]
    set: Vec<String>,
    /// APIs the target cluster serves (`networking.istio.io/v1`), for `hasApiVersion`.
    #[arg(long = "api-versions", short = 'a')]
    api_versions: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Crd { dir, kyma_standalone } => {
            let crds = if kyma_standalone { vec![api::kyma::standalone_crd()] } else { api::crds() };
            match dir {
                None => api::crds_yaml(crds).map(|yaml| print!("{yaml}")).map_err(|e| e.to_string()),
                Some(dir) => write_crds(&dir, crds),
            }
        }
        Command::DefaultCr => controllers::module_template::embedded()
            .map_err(|e| e.to_string())
            .and_then(|module| yaml_serde::to_string(&module.data).map_err(|e| e.to_string()))
            .map(|yaml| print!("{yaml}")),
        Command::Template(args) => template(&args).map(|yaml| print!("{yaml}")),
        Command::Run(args) => run(*args),
        Command::Version => {
            println!("eventing-manager {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: RunArgs) -> Result<(), String> {
    telemetry::init(args.log_format, &args.log_level);
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.metrics_addr)
            .await
            .map_err(|e| format!("cannot listen on {} (--metrics-addr): {e}", args.metrics_addr))?;
        let readiness = eventing_manager::health::Readiness::default();
        tokio::spawn(eventing_manager::health::serve(listener, readiness.clone()));
        let client = eventing_manager::client::connect(&args.manager_name)
            .await
            .map_err(|e| format!("cannot reach the cluster: {e}"))?;
        let config = controllers::Config {
            manager_namespace: args.manager_namespace,
            resync: std::time::Duration::from_secs(args.resync_seconds.max(1)),
            readiness,
            kyma_mode: args.kyma_mode,
            manager_name: args.manager_name,
            eventing_install_namespace: args.install_namespace,
            eventing_release_name: args.release_name,
            nats_monitor_url: args.nats_monitor_url,
        };
        let timeout = std::time::Duration::from_secs(args.shutdown_timeout_seconds);
        let shutdown = shutdown_signal(timeout).shared();
        let identity = replica_identity();
        // The control API runs on every replica: it only changes CRs, which the leader reconciles.
        if let Some(control) = args.control.config(&identity, &config.manager_name) {
            let (client, shutdown) = (client.clone(), shutdown.clone());
            tokio::spawn(async move {
                if let Err(error) = control::serve(client, control, shutdown).await {
                    tracing::error!("{error}");
                    std::process::exit(2);
                }
            });
        }
        if !args.leader_elect {
            eventing_manager::metrics::set_leader(true);
            return controllers::run(client, config, shutdown).await.map(drop).map_err(|e| e.to_string());
        }
        let lease = LeaseConfig::new(
            args.leader_election_namespace.as_deref().unwrap_or(&config.manager_namespace),
            &format!("{}-leader", config.manager_name),
            &identity,
            std::time::Duration::from_secs(args.lease_duration_seconds),
        );
        loop {
            // A replica standing by is healthy and ready: a rolling update must be able to start it.
            config.readiness.set_ready();
            let mut elector = Elector::new(client.clone(), lease.clone());
            eventing_manager::metrics::set_leader(false);
            tracing::info!(identity = %elector.identity(), lease = %lease.name, "waiting for leadership");
            tokio::select! {
                () = elector.acquire() => {}
                () = shutdown.clone() => return Ok(()),
            }
            // Losing the Lease stops the controllers at once: another replica may lead now. The
            // process stays and competes again, so that after an API server outage (which no
            // replica can renew through) the manager leads again as soon as the server is back.
            let (lost_tx, lost_rx) = tokio::sync::oneshot::channel::<()>();
            let holder = tokio::spawn(async move {
                let lost = elector.hold().await;
                tracing::error!("{lost}; stopping the controllers so that only the leader reconciles");
                let _ = lost_tx.send(());
            });
            let lost = lost_rx.map(drop).shared();
            let stop = futures::future::select(shutdown.clone(), lost.clone()).map(drop);
            let result = controllers::run(client.clone(), config.clone(), stop).await.map_err(|e| e.to_string());
            holder.abort();
            if lost.clone().now_or_never().is_some() && shutdown.clone().now_or_never().is_none() {
                result?;
                continue;
            }
            let uninstalling = matches!(result, Ok(controllers::Uninstalling(true)));
            Elector::new(client, lease).release(uninstalling).await;
            return result.map(drop);
        }
    })
}

/// Completes on SIGTERM or SIGINT: the controllers stop taking work and finish what runs.
fn shutdown_signal(timeout: std::time::Duration) -> impl std::future::Future<Output = ()> + Send + Sync + 'static {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            () = terminate => {},
        }
        tracing::info!(timeout_seconds = timeout.as_secs(), "shutdown requested: finishing running reconciles");
        let _ = tx.send(());
        tokio::time::sleep(timeout).await;
        tracing::warn!("reconciles did not finish within the shutdown timeout; exiting");
        std::process::exit(0);
    });
    async move {
        let _ = rx.await;
    }
}

fn template(args: &TemplateArgs) -> Result<String, String> {
    let chart = match &args.chart_dir {
        Some(dir) => chart::Chart::load(dir),
        None => chart::bundled(),
    }
    .map_err(|e| e.to_string())?;
    let mut overrides = serde_json::json!({});
    for file in &args.values {
        let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let values: serde_json::Value =
            yaml_serde::from_str(&text).map_err(|e| format!("{} is not valid YAML: {e}", file.display()))?;
        if !(values.is_object() || values.is_null()) {
            return Err(format!("{} must hold a map of values", file.display()));
        }
        chart::values::merge(&mut overrides, &values);
    }
    let mut set = serde_json::json!({});
    for expression in &args.set {
        chart::values::apply_set(&mut set, expression).map_err(|e| e.to_string())?;
    }
    chart::values::merge(&mut overrides, &set);
    let release = chart::Release { name: args.release_name.clone(), namespace: args.namespace.clone() };
    let manifests = chart::render(&chart, &overrides, &release, &args.api_versions).map_err(|e| e.to_string())?;
    chart::to_yaml_stream(&manifests).map_err(|e| e.to_string())
}

fn write_crds(
    dir: &std::path::Path,
    crds: Vec<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for crd in crds {
        let file = dir.join(format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural));
        let yaml = yaml_serde::to_string(&crd).map_err(|e| format!("cannot serialize {}: {e}", file.display()))?;
        std::fs::write(&file, format!("---\n{yaml}")).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok(())
}
