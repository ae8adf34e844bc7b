//! No input panics the chart engine: arbitrary values, templates, `--set` strings and rendered
//! text each end in `Ok` or a `ChartError`, never a panic.

use std::collections::BTreeMap;

use eventing_manager::chart::{self, Chart, Release, values};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Keys the bundled chart reads, mixed with arbitrary ones, so generated values reach the templates.
const KEYS: &[&str] = &[
    "nats",
    "publisher",
    "global",
    "enabled",
    "cluster",
    "size",
    "name",
    "routes",
    "jetStream",
    "memStorage",
    "fileStorage",
    "storageClassName",
    "leafNodes",
    "remotes",
    "urls",
    "credentialsSecret",
    "authorization",
    "service",
    "type",
    "nodePorts",
    "client",
    "labels",
    "annotations",
    "logging",
    "debug",
    "replicas",
    "min",
    "max",
    "backend",
    "eventMesh",
    "secretName",
    "resources",
    "images",
    "tag",
    "fullnameOverride",
    "exporter",
    "istio",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-5i64..10).prop_map(Value::from),
        "[a-zA-Z0-9:/.{}\\-\\n\" ]{0,12}".prop_map(Value::String),
        Just(Value::String("1Gi".into())),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS).prop_map(str::to_owned), inner.clone()), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
            prop::collection::vec(("[a-z]{1,6}", inner), 0..3)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn template_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "{{",
        "}}",
        "{{#if ",
        "{{/if}}",
        "{{#each ",
        "{{/each}}",
        "{{else}}",
        "Values.a",
        "Values",
        "Release.Name",
        "(toYaml ",
        "(nindent 2 ",
        "(default \"x\" ",
        "(required \"m\" ",
        "(toBytes ",
        "(range ",
        "(dict \"k\" ",
        "(merge ",
        "(include \"c.p\" ",
        "(fullname)",
        "(add 1 ",
        ")",
        "\"",
        "\n",
        "---\n",
        "kind: ",
        "apiVersion: v1\n",
        "metadata: {name: n}\n",
        " ",
        "@root",
        "this",
        "@index",
        "{{> c.p}}",
        "[",
        "]",
        ": ",
        "-1",
        "99999999999",
    ]);
    prop::collection::vec(pieces, 0..24).prop_map(|parts| parts.concat())
}

fn release() -> Release {
    Release { name: "r".into(), namespace: "n".into() }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_values_never_panic_the_bundled_chart(overrides in json_value()) {
        let compiled = chart::bundled().expect("bundled").compile().expect("compiles");
        let _ = compiled.render(&overrides, &release(), &["networking.istio.io/v1".to_owned()]);
    }

    #[test]
    fn arbitrary_templates_never_panic_the_engine(template in template_text(), partial in template_text(), values in json_value()) {
        let files: BTreeMap<String, String> = [
            ("Chart.yaml".to_owned(), "name: c\nversion: 1.0.0\n".to_owned()),
            ("templates/t.yaml".to_owned(), template),
            ("templates/_p.tpl".to_owned(), partial),
        ]
        .into_iter()
        .collect();
        if let Ok(chart) = Chart::from_files("c", &files) {
            let overrides = serde_json::json!({"a": values});
            let _ = chart::render(&chart, &overrides, &release(), &[]);
        }
    }

    #[test]
    fn arbitrary_set_strings_never_panic(expression in "[a-z.\\[\\]0-9=,{}\\\\]{0,24}") {
        let mut tree = Value::Object(Map::new());
        let _ = values::apply_set(&mut tree, &expression);
    }

    #[test]
    fn arbitrary_chart_files_never_panic_the_loader(chart_yaml in "[a-z: \\n\\-\\[\\]{}]{0,40}", values_yaml in "[a-z: \\n\\-\\[\\]{}0-9]{0,40}") {
        let files: BTreeMap<String, String> =
            [("Chart.yaml".to_owned(), chart_yaml), ("values.yaml".to_owned(), values_yaml)].into_iter().collect();
        let _ = Chart::from_files("c", &files);
    }
}
