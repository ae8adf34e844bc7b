//! Loading a chart: `Chart.yaml`, `values.yaml`, `templates/` (files starting with `_` are partials)
//! and `charts/<name>/` subcharts, from a directory or from files embedded in the binary.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::ChartError;

#[derive(Debug, Clone)]
pub struct Chart {
    pub name: String,
    pub version: String,
    /// Where the chart came from, for error messages (`module-chart/charts/nats`).
    pub path: String,
    pub dependencies: Vec<Dependency>,
    /// The chart's `values.yaml` (an empty map when it has none).
    pub values: Value,
    /// The chart's `values.schema.json`: the values of a render must match it.
    pub schema: Option<Value>,
    /// Manifest templates by file name, rendered in name order.
    pub templates: BTreeMap<String, String>,
    /// Partials by name: `_labels.tpl` in chart `nats` is `nats.labels`.
    pub partials: BTreeMap<String, String>,
    pub subcharts: Vec<Chart>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Dependency {
    pub name: String,
    /// A dotted path into the parent's values; the subchart renders only when it is true.
    #[serde(default)]
    pub condition: Option<String>,
}

#[derive(Deserialize)]
struct ChartYaml {
    name: String,
    version: String,
    #[serde(default)]
    dependencies: Vec<Dependency>,
}

/// A chart's files relative to its root, as read from disk or from the binary.
type Files = BTreeMap<String, String>;

impl Chart {
    /// Loads the chart in `dir` and its subcharts.
    pub fn load(dir: &Path) -> Result<Self, ChartError> {
        let mut files = Files::new();
        read_dir_into(dir, dir, &mut files)?;
        let label =
            dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string());
        Self::from_files(&label, &files)
    }

    /// Loads a chart compiled into the binary with `include_dir!`.
    pub fn from_embedded(dir: &include_dir::Dir<'_>) -> Result<Self, ChartError> {
        let mut files = Files::new();
        collect_embedded(dir, dir.path(), &mut files)?;
        Self::from_files("module-chart", &files)
    }

    /// Builds a chart from `relative path → contents`; `label` names it in errors.
    pub fn from_files(label: &str, files: &Files) -> Result<Self, ChartError> {
        let at = |file: &str| format!("{label}/{file}");
        let chart_yaml = files.get("Chart.yaml").ok_or_else(|| ChartError::BadChart {
            path: at("Chart.yaml"),
            message: "missing: a chart needs a Chart.yaml with name and version".into(),
        })?;
        let meta: ChartYaml = yaml_serde::from_str(chart_yaml)
            .map_err(|e| ChartError::BadYaml { path: at("Chart.yaml"), message: e.to_string() })?;
        let values = match files.get("values.yaml") {
            None => Value::Object(Default::default()),
            Some(text) => match yaml_serde::from_str::<Option<Value>>(text) {
                Ok(None) => Value::Object(Default::default()),
                Ok(Some(value @ Value::Object(_))) => value,
                Ok(Some(_)) => {
                    return Err(ChartError::BadChart { path: at("values.yaml"), message: "must be a map".into() });
                }
                Err(e) => return Err(ChartError::BadYaml { path: at("values.yaml"), message: e.to_string() }),
            },
        };
        let schema = match files.get("values.schema.json") {
            None => None,
            Some(text) => {
                let schema: Value = serde_json::from_str(text)
                    .map_err(|e| ChartError::BadYaml { path: at("values.schema.json"), message: e.to_string() })?;
                super::schema::check_schema(&schema, &at("values.schema.json"))
                    .map_err(|message| ChartError::BadChart { path: at("values.schema.json"), message })?;
                Some(schema)
            }
        };

        let mut templates = BTreeMap::new();
        let mut partials = BTreeMap::new();
        let mut subchart_files: BTreeMap<String, Files> = BTreeMap::new();
        for (path, contents) in files {
            if let Some(file) = path.strip_prefix("templates/") {
                if file.contains('/') {
                    continue;
                }
                if let Some(partial) = file.strip_prefix('_') {
                    let stem = partial.rsplit_once('.').map_or(partial, |(stem, _)| stem);
                    partials.insert(format!("{}.{stem}", meta.name), contents.clone());
                } else if file.ends_with(".yaml") || file.ends_with(".yml") {
                    templates.insert(file.to_owned(), contents.clone());
                }
            } else if let Some(rest) = path.strip_prefix("charts/")
                && let Some((sub, file)) = rest.split_once('/')
            {
                subchart_files.entry(sub.to_owned()).or_default().insert(file.to_owned(), contents.clone());
            }
        }
        let subcharts = subchart_files
            .iter()
            .map(|(sub, files)| Self::from_files(&at(&format!("charts/{sub}")), files))
            .collect::<Result<Vec<_>, _>>()?;
        for dependency in &meta.dependencies {
            if !subcharts.iter().any(|c| c.name == dependency.name) {
                return Err(ChartError::BadChart {
                    path: at("Chart.yaml"),
                    message: format!("dependency {:?} has no chart in charts/", dependency.name),
                });
            }
        }
        Ok(Self {
            name: meta.name,
            version: meta.version,
            path: label.to_owned(),
            dependencies: meta.dependencies,
            values,
            schema,
            templates,
            partials,
            subcharts,
        })
    }
}

impl Chart {
    /// Every `apiVersion`/`kind` the chart and its subcharts can render (read from the templates'
    /// top-level lines), so that prune knows which kinds to look at even when a subchart is off.
    pub fn kinds(&self) -> Vec<(String, String)> {
        let mut kinds = std::collections::BTreeSet::new();
        for text in self.templates.values() {
            let mut api_version = None;
            for line in text.lines() {
                if let Some(value) = line.strip_prefix("apiVersion:") {
                    api_version = Some(value.trim().to_owned());
                } else if let Some(kind) = line.strip_prefix("kind:")
                    && let Some(api_version) = api_version.take()
                {
                    kinds.insert((api_version, kind.trim().to_owned()));
                }
            }
        }
        for sub in &self.subcharts {
            kinds.extend(sub.kinds());
        }
        kinds.into_iter().collect()
    }
}

fn read_dir_into(root: &Path, dir: &Path, files: &mut Files) -> Result<(), ChartError> {
    let read_error = |source| ChartError::Read { path: dir.to_path_buf(), source };
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.is_dir() {
            read_dir_into(root, &path, files)?;
        } else {
            let contents =
                std::fs::read_to_string(&path).map_err(|source| ChartError::Read { path: path.clone(), source })?;
            let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            files.insert(relative, contents);
        }
    }
    Ok(())
}

fn collect_embedded(dir: &include_dir::Dir<'_>, root: &Path, files: &mut Files) -> Result<(), ChartError> {
    for file in dir.files() {
        let relative = file.path().strip_prefix(root).unwrap_or(file.path()).to_string_lossy().replace('\\', "/");
        let contents = file
            .contents_utf8()
            .ok_or_else(|| ChartError::BadChart { path: relative.clone(), message: "is not UTF-8 text".into() })?;
        files.insert(relative, contents.to_owned());
    }
    for sub in dir.dirs() {
        collect_embedded(sub, root, files)?;
    }
    Ok(())
}
