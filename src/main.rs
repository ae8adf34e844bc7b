use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use eventing_manager::api;

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
    /// Print the version.
    Version,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Crd { dir: None } => api::crds_yaml().map(|yaml| print!("{yaml}")).map_err(|e| e.to_string()),
        Command::Crd { dir: Some(dir) } => write_crds(&dir),
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

fn write_crds(dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for crd in api::crds() {
        let file = dir.join(format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural));
        let yaml = yaml_serde::to_string(&crd).map_err(|e| format!("cannot serialize {}: {e}", file.display()))?;
        std::fs::write(&file, format!("---\n{yaml}")).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    Ok(())
}
