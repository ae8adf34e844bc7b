use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Crd,
    /// Print the version.
    Version,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd => match eventing_manager::api::crds_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: cannot serialize the CRDs: {error}");
                ExitCode::FAILURE
            }
        },
        Command::Version => {
            println!("eventing-manager {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
    }
}
