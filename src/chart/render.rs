//! Rendering: a chart and its enabled subcharts, each with Helm's context (`Values`, `Release`,
//! `Chart`, `Capabilities`), in strict mode, into objects in apply order.

use std::sync::Arc;

use handlebars::Handlebars;
use serde_json::{Value, json};

use super::manifest::{Manifest, apply_order, parse_documents};
use super::memo::IncludeMemo;
use super::parallel::map_in_order;
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
        let mut sources = Vec::new();
        collect_sources(&self, &mut sources);
        // Compiling is slow (handlebars finds the line of every element from the start of the text): spread it.
        let compiled = map_in_order(&sources, |source| {
            handlebars::Template::compile_with_name(source.text, source.name.clone())
                .map_err(|e| ChartError::Compile { template: source.described.clone(), message: e.to_string() })
        });
        for (source, template) in sources.iter().zip(compiled) {
            registry.register_template(&source.name, template?);
        }
        Ok(CompiledChart { chart: self, registry })
    }
}

fn template_name(chart: &Chart, file: &str) -> String {
    format!("{}/templates/{file}", chart.path)
}

/// A template or partial to compile: the name it is registered (and included) under, and how
/// errors name it.
struct Source<'c> {
    name: String,
    described: String,
    text: &'c str,
}

fn collect_sources<'c>(chart: &'c Chart, out: &mut Vec<Source<'c>>) {
    for (name, text) in &chart.partials {
        out.push(Source { name: name.clone(), described: format!("{} (partial {name})", chart.path), text });
    }
    for (file, text) in &chart.templates {
        let name = template_name(chart, file);
        out.push(Source { described: name.clone(), name, text });
    }
    for sub in &chart.subcharts {
        collect_sources(sub, out);
    }
}

/// One template to render, with the context of its chart.
struct Task<'a> {
    template: String,
    context: &'a handlebars::Context,
}

impl CompiledChart {
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
        let capabilities = json!({ "APIVersions": api_versions });
        let mut contexts = Vec::new();
        collect_contexts(&self.chart, values, release, &capabilities, "", &mut contexts);
        for (chart, context, key) in &contexts {
            if let Some(schema) = &chart.schema {
                super::schema::validate(schema, &context.data()["Values"], key)
                    .map_err(|bad| ChartError::BadValue { key: bad.key, message: bad.message })?;
            }
        }
        let tasks: Vec<Task<'_>> = contexts
            .iter()
            .flat_map(|(chart, context, _)| {
                chart.templates.keys().map(move |file| Task { template: template_name(chart, file), context })
            })
            .collect();
        let memo = Arc::new(IncludeMemo::new(contexts.iter().map(|(_, context, _)| context)));
        let mut manifests = Vec::new();
        // Most of the time goes into parsing the YAML the templates produce: spread it.
        for rendered in map_in_order(&tasks, |task| memo.scope(|| self.render_task(task))) {
            manifests.extend(rendered?);
        }
        manifests.sort_by_key(|m| apply_order(m.kind()));
        Ok(manifests)
    }

    fn render_task(&self, task: &Task<'_>) -> Result<Vec<Manifest>, ChartError> {
        let rendered = self
            .registry
            .render_with_context(&task.template, task.context)
            .map_err(|e| ChartError::Render { template: task.template.clone(), message: e.to_string() })?;
        parse_documents(&task.template, &rendered)
    }
}

/// The context of the chart and of every enabled subchart (Helm's `Values`, `Release`, `Chart`,
/// `Capabilities`), built once per render: `render` would copy the values for every template.
/// Each comes with the key its values have in the top chart's (`nats` for the nats subchart).
fn collect_contexts<'c>(
    chart: &'c Chart,
    values: Value,
    release: &Release,
    capabilities: &Value,
    key: &str,
    out: &mut Vec<(&'c Chart, handlebars::Context, String)>,
) {
    // As in Helm, a condition whose path is not in the values leaves the subchart enabled.
    let enabled = |sub: &Chart| {
        let condition = chart.dependencies.iter().find(|d| d.name == sub.name).and_then(|d| d.condition.as_deref());
        condition.and_then(|path| lookup(&values, path)).is_none_or(|value| truthy(Some(value)))
    };
    let subcharts: Vec<(&Chart, Value)> =
        chart.subcharts.iter().filter(|sub| enabled(sub)).map(|sub| (sub, subchart_values(sub, &values))).collect();
    // Built by moving `values` in: `json!` would copy the whole tree.
    let mut root = serde_json::Map::new();
    root.insert("Values".into(), values);
    root.insert(
        "Release".into(),
        json!({ "Name": release.name, "Namespace": release.namespace, "Service": "eventing-manager" }),
    );
    root.insert("Chart".into(), json!({ "Name": chart.name, "Version": chart.version }));
    root.insert("Capabilities".into(), capabilities.clone());
    let context = handlebars::Context::from(Value::Object(root));
    out.push((chart, context, key.to_owned()));
    for (sub, values) in subcharts {
        let sub_key = if key.is_empty() { sub.name.clone() } else { format!("{key}.{}", sub.name) };
        collect_contexts(sub, values, release, capabilities, &sub_key, out);
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn files(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn umbrella() -> Chart {
        Chart::from_files(
            "top",
            &files(&[
                ("Chart.yaml", "name: top\nversion: 1.0.0\ndependencies:\n- name: sub\n  condition: sub.enabled\n"),
                ("values.yaml", "global: {team: core}\nsub: {enabled: true, color: parent}\nown: top-default\n"),
                ("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{Release.Name}}-top}\ndata: {own: {{Values.own}}}\n"),
                ("charts/sub/Chart.yaml", "name: sub\nversion: 2.0.0\n"),
                ("charts/sub/values.yaml", "color: sub-default\nsize: small\nglobal: {team: sub-default, zone: z}\n"),
                ("charts/sub/templates/_name.tpl", "{{Release.Name}}-{{Chart.Name}}"),
                (
                    "charts/sub/templates/sa.yaml",
                    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{include \"sub.name\" this}}\n  labels: {color: {{Values.color}}, size: {{Values.size}}, team: {{Values.global.team}}, zone: {{Values.global.zone}}, chart: {{Chart.Name}}-{{Chart.Version}}}\n",
                ),
            ]),
        )
        .expect("chart loads")
    }

    fn release() -> Release {
        Release { name: "rel".into(), namespace: "ns".into() }
    }

    #[test]
    fn subcharts_see_their_own_values_and_global_with_helm_precedence() {
        let overrides = json!({"sub": {"size": "large"}, "own": "override"});
        let manifests = render(&umbrella(), &overrides, &release(), &[]).expect("renders");
        assert_eq!(
            manifests.iter().map(|m| m.kind()).collect::<Vec<_>>(),
            ["ServiceAccount", "ConfigMap"],
            "apply order"
        );
        let sa = &manifests[0].object;
        assert_eq!(sa["metadata"]["name"], "rel-sub");
        // defaults < parent's values for the subchart < overrides; parent's global over the subchart's
        assert_eq!(
            sa["metadata"]["labels"],
            json!({"color": "parent", "size": "large", "team": "core", "zone": "z", "chart": "sub-2.0.0"})
        );
        assert_eq!(manifests[1].object["data"]["own"], "override");
        assert_eq!(manifests[0].source, "top/charts/sub/templates/sa.yaml");
    }

    #[test]
    fn included_partials_are_remembered_per_chart_context_only() {
        // One partial included by the top chart and the subchart (different contexts), and inside
        // `#with` blocks (contexts of their own): each include must see its own context.
        let chart = Chart::from_files(
            "top",
            &files(&[
                ("Chart.yaml", "name: top\nversion: 1.0.0\ndependencies:\n- name: sub\n"),
                ("values.yaml", "a: {n: top-a}\nb: {n: top-b}\n"),
                ("templates/_who.tpl", "{{#if Chart}}{{Chart.Name}}{{else}}{{n}}{{/if}}"),
                (
                    "templates/cm.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: top}\ndata: {who: {{include \"top.who\" this}}, a: {{#with Values.a}}{{include \"top.who\" this}}{{/with}}, b: {{#with Values.b}}{{include \"top.who\" this}}{{/with}}}\n",
                ),
                ("charts/sub/Chart.yaml", "name: sub\nversion: 1.0.0\n"),
                ("charts/sub/values.yaml", "a: {n: sub-a}\n"),
                (
                    "charts/sub/templates/cm.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sub}\ndata: {who: {{include \"top.who\" this}}, a: {{#with Values.a}}{{include \"top.who\" this}}{{/with}}}\n",
                ),
                ("charts/sub/templates/sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: {{include \"top.who\" this}}}\n"),
                ("charts/sub/templates/s1.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: {{include \"top.who\" this}}-1}\n"),
                ("charts/sub/templates/s2.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: {{include \"top.who\" this}}-2}\n"),
            ]),
        )
        .expect("chart loads");
        let compiled = chart.compile().expect("compiles");
        for values in [json!({}), json!({"a": {"n": "other-a"}, "sub": {"a": {"n": "other-sub-a"}}})] {
            // Twice each: nothing may be remembered from the render before.
            for _ in 0..2 {
                let manifests = compiled.render(&values, &release(), &[]).expect("renders");
                let data = |name: &str| {
                    manifests
                        .iter()
                        .find(|m| m.kind() == "ConfigMap" && m.name() == name)
                        .map(|m| m.object["data"].clone())
                        .expect(name)
                };
                let top_a = values.pointer("/a/n").and_then(Value::as_str).unwrap_or("top-a");
                let sub_a = values.pointer("/sub/a/n").and_then(Value::as_str).unwrap_or("sub-a");
                assert_eq!(data("top"), json!({"who": "top", "a": top_a, "b": "top-b"}));
                assert_eq!(data("sub"), json!({"who": "sub", "a": sub_a}));
                let names: Vec<&str> = manifests.iter().map(Manifest::name).collect();
                assert_eq!(
                    names,
                    ["sub", "sub-1", "sub-2", "top", "sub"],
                    "kinds in apply order, each named by its chart"
                );
            }
        }
    }

    #[test]
    fn a_false_condition_skips_the_subchart() {
        let manifests = render(&umbrella(), &json!({"sub": {"enabled": false}}), &release(), &[]).expect("renders");
        assert_eq!(manifests.iter().map(|m| m.kind()).collect::<Vec<_>>(), ["ConfigMap"]);
        let manifests = render(&umbrella(), &json!({"sub": {"enabled": null}}), &release(), &[]).expect("renders");
        assert_eq!(manifests.len(), 2, "a condition path that is not in the values leaves the subchart on");
    }

    #[test]
    fn a_missing_value_names_template_and_line() {
        let error = render(&umbrella(), &json!({"own": null}), &release(), &[]).expect_err("own is missing");
        let message = error.to_string();
        assert!(message.contains("rendering top/templates/cm.yaml failed"), "{message}");
        assert!(message.contains("line 4"), "{message}");
        assert!(message.contains("Values.own"), "{message}");
    }

    #[test]
    fn a_template_that_does_not_compile_is_named() {
        let mut chart = umbrella();
        chart.templates.insert("broken.yaml".into(), "{{#if Values.own}}unclosed".into());
        let message = chart.compile().err().expect("does not compile").to_string();
        assert!(message.contains("template top/templates/broken.yaml does not compile"), "{message}");
    }

    #[test]
    fn a_dependency_without_a_chart_is_an_error() {
        let error = Chart::from_files(
            "top",
            &files(&[("Chart.yaml", "name: top\nversion: 1.0.0\ndependencies:\n- name: gone\n")]),
        )
        .expect_err("gone is missing");
        assert!(error.to_string().contains("dependency \"gone\" has no chart in charts/"), "{error}");
    }

    #[test]
    fn chart_kinds_cover_every_rendered_kind() {
        let kinds = crate::chart::bundled().expect("bundled").kinds();
        for expected in [
            ("apps/v1", "StatefulSet"),
            ("v1", "ConfigMap"),
            ("networking.istio.io/v1", "DestinationRule"),
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ] {
            assert!(kinds.contains(&(expected.0.to_owned(), expected.1.to_owned())), "{expected:?} in {kinds:?}");
        }
    }

    #[test]
    fn the_bundled_chart_renders_with_defaults() {
        let manifests =
            render(&crate::chart::bundled().expect("bundled chart"), &json!({}), &release(), &[]).expect("renders");
        let kinds: Vec<_> = manifests.iter().map(|m| (m.kind(), m.name())).collect();
        assert!(kinds.contains(&("StatefulSet", "rel-nats")), "{kinds:?}");
        assert!(kinds.contains(&("Deployment", "rel-publisher-proxy")), "{kinds:?}");
        assert!(!kinds.iter().any(|(kind, _)| *kind == "DestinationRule"), "no Istio, no DestinationRule");
    }
}
