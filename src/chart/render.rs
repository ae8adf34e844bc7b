//! Rendering: a chart and its enabled subcharts, each with Helm's context (`Values`, `Release`,
//! `Chart`, `Capabilities`), in strict mode, into objects in apply order.

use handlebars::Handlebars;
use serde_json::{Value, json};

use super::manifest::{Manifest, apply_order, parse_documents};
use super::values::{lookup, merge, truthy};
use super::{Chart, ChartError, helpers};

/// The release a chart is rendered for: names and namespace of what it creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub name: String,
    pub namespace: String,
}

/// A chart with every template compiled once; render it as often as needed.
pub struct CompiledChart {
    chart: Chart,
    registry: Handlebars<'static>,
}

impl Chart {
    /// Compiles every template and partial of the chart and its subcharts.
    pub fn compile(self) -> Result<CompiledChart, ChartError> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        helpers::register(&mut registry);
        register_templates(&self, &mut registry)?;
        Ok(CompiledChart { chart: self, registry })
    }
}

fn template_name(chart: &Chart, file: &str) -> String {
    format!("{}/templates/{file}", chart.path)
}

fn register_templates(chart: &Chart, registry: &mut Handlebars<'static>) -> Result<(), ChartError> {
    for (name, text) in &chart.partials {
        registry.register_partial(name, text).and_then(|()| registry.register_template_string(name, text)).map_err(
            |e| ChartError::Compile { template: format!("{} (partial {name})", chart.path), message: e.to_string() },
        )?;
    }
    for (file, text) in &chart.templates {
        let name = template_name(chart, file);
        registry
            .register_template_string(&name, text)
            .map_err(|e| ChartError::Compile { template: name.clone(), message: e.to_string() })?;
    }
    chart.subcharts.iter().try_for_each(|sub| register_templates(sub, registry))
}

impl CompiledChart {
    pub fn chart(&self) -> &Chart {
        &self.chart
    }

    /// Renders with `overrides` over the chart's defaults; `api_versions` are the APIs the cluster
    /// serves (`networking.istio.io/v1`), as in `Capabilities.APIVersions`.
    pub fn render(
        &self,
        overrides: &Value,
        release: &Release,
        api_versions: &[String],
    ) -> Result<Vec<Manifest>, ChartError> {
        let mut values = self.chart.values.clone();
        merge(&mut values, overrides);
        let mut manifests = Vec::new();
        let capabilities = json!({ "APIVersions": api_versions });
        self.render_chart(&self.chart, values, release, &capabilities, &mut manifests)?;
        manifests.sort_by_key(|m| apply_order(m.kind()));
        Ok(manifests)
    }

    fn render_chart(
        &self,
        chart: &Chart,
        values: Value,
        release: &Release,
        capabilities: &Value,
        out: &mut Vec<Manifest>,
    ) -> Result<(), ChartError> {
        let context = json!({
            "Values": values,
            "Release": { "Name": release.name, "Namespace": release.namespace, "Service": "eventing-manager" },
            "Chart": { "Name": chart.name, "Version": chart.version },
            "Capabilities": capabilities,
        });
        for file in chart.templates.keys() {
            let name = template_name(chart, file);
            let rendered = self
                .registry
                .render(&name, &context)
                .map_err(|e| ChartError::Render { template: name.clone(), message: e.to_string() })?;
            out.extend(parse_documents(&name, &rendered)?);
        }
        let values = &context["Values"];
        for sub in &chart.subcharts {
            let condition = chart.dependencies.iter().find(|d| d.name == sub.name).and_then(|d| d.condition.as_deref());
            if condition.is_some_and(|path| !truthy(lookup(values, path))) {
                continue;
            }
            self.render_chart(sub, subchart_values(sub, values), release, capabilities, out)?;
        }
        Ok(())
    }
}

/// A subchart's values: its defaults < the parent's values under its name; `global` shared.
fn subchart_values(sub: &Chart, parent: &Value) -> Value {
    let mut values = sub.values.clone();
    if let Some(own) = parent.get(&sub.name) {
        merge(&mut values, own);
    }
    if let Some(global) = parent.get("global") {
        let mut merged = values.get("global").cloned().unwrap_or_else(|| json!({}));
        merge(&mut merged, global);
        if let Some(map) = values.as_object_mut() {
            map.insert("global".into(), merged);
        }
    }
    values
}

/// Renders a chart once (compiles it first); for repeated renders, compile once with [`Chart::compile`].
pub fn render(
    chart: &Chart,
    overrides: &Value,
    release: &Release,
    api_versions: &[String],
) -> Result<Vec<Manifest>, ChartError> {
    chart.clone().compile()?.render(overrides, release, api_versions)
}
