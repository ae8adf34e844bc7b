//! The chart engine: Helm-shaped charts whose templates are Handlebars. Pure: no Kubernetes client.
//!
//! load (a directory or embedded files) → values (defaults < parent < overrides) → checked against
//! each chart's `values.schema.json` → render each chart and enabled subchart in strict mode → split
//! into documents → objects in apply order.

mod error;
mod helpers;
mod load;
mod manifest;
mod memo;
mod parallel;
mod render;
pub mod schema;
pub mod values;

pub use error::ChartError;
pub use helpers::{fullname_of as helpers_fullname, quantity_bytes};
pub use load::{Chart, Dependency};
pub use manifest::{Manifest, apply_order, to_yaml_stream};
pub use render::{CompiledChart, Release, render};
pub use values::merge as merge_values;

/// The Eventing module's chart, compiled into the binary.
pub static BUNDLED: include_dir::Dir<'static> = include_dir::include_dir!("$CARGO_MANIFEST_DIR/module-chart");

/// The bundled module chart (`module-chart/`).
pub fn bundled() -> Result<Chart, ChartError> {
    Chart::from_embedded(&BUNDLED)
}

/// The bundled NATS subchart alone (`module-chart/charts/nats`), as a NATS CR renders it.
pub fn bundled_nats() -> Result<Chart, ChartError> {
    let chart = bundled()?;
    chart.subcharts.into_iter().find(|c| c.name == "nats").ok_or(ChartError::MissingSubchart { name: "nats".into() })
}
