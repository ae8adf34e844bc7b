//! Logging: `tracing`, JSON when running in a cluster (or asked for), plain text otherwise.

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// JSON in a cluster (KUBERNETES_SERVICE_HOST set), text elsewhere.
    Auto,
    Json,
    Text,
}

/// Checks a `--log-level` value: an `EnvFilter` directive (`info`, `eventing_manager=debug,kube=warn`).
pub fn parse_level(level: &str) -> Result<String, String> {
    EnvFilter::try_new(level).map(|_| level.to_owned()).map_err(|e| {
        format!(
            "{level:?} is not a log filter ({e}); use a level (error, warn, info, debug, trace) or target=level pairs"
        )
    })
}

/// Installs the global subscriber. `level` is an `EnvFilter` directive (`info`, `eventing_manager=debug`).
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => std::env::var_os("KUBERNETES_SERVICE_HOST").is_some(),
    };
    // Colours only for a person at a terminal, not in log files.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let result = if json {
        builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
    } else {
        builder.try_init()
    };
    if let Err(error) = result {
        eprintln!("logging was already set up: {error}");
    }
}
