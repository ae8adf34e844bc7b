use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use eventing_manager::{api, chart};

/// Kyma lifecycle module manager for Eventing and NATS.
#[derive(Parser)]
#[command(name = "eventing-manager", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions of Kyma, Eventing and NATS as YAML.
    Crd {
        /// Write one file per CRD (`<group>_<plural>.yaml`) into this directory instead of stdout.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Render a chart like `helm template` (the bundled module chart when CHART_DIR is not given).
    Template(TemplateArgs),
    /// Print the version.
    Version,
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
        Command::Crd { dir: None } => api::crds_yaml().map(|yaml| print!("{yaml}")).map_err(|e| e.to_string()),
        Command::Crd { dir: Some(dir) } => write_crds(&dir),
        Command::Template(args) => template(&args).map(|yaml| print!("{yaml}")),
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

fn write_crds(dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for crd in api::crds() {
        let file = dir.join(format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural));
        let yaml = yaml_serde::to_string(&crd).map_err(|e| format!("cannot serialize {}: {e}", file.display()))?;
        std::fs::write(&file, format!("---\n{yaml}")).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok(())
}
