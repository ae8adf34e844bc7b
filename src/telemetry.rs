//! Logging: `tracing`, JSON when running in a cluster (or asked for), plain text otherwise.

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// JSON in a cluster (KUBERNETES_SERVICE_HOST set), text elsewhere.
    Auto,
    Json,
    Text,
}

/// Installs the global subscriber. `level` is an `EnvFilter` directive (`info`, `eventing_manager=debug`).
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => std::env::var_os("KUBERNETES_SERVICE_HOST").is_some(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if json {
        builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
    } else {
        builder.try_init()
    };
    if let Err(error) = result {
        eprintln!("logging was already set up: {error}");
    }
}
