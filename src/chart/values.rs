//! Values with Helm's semantics: maps merge deeply, lists and scalars replace, a `null` override
//! removes a default; `--set` strings (`a.b[0].c=v`) build override trees.

use serde_json::{Map, Value};

use super::ChartError;

/// Merges `overlay` onto `base` in place.
pub fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match value {
                    Value::Null => {
                        base.remove(key);
                    }
                    Value::Object(_) => match base.get_mut(key) {
                        Some(existing @ Value::Object(_)) => merge(existing, value),
                        _ => {
                            let mut fresh = Value::Object(Map::new());
                            merge(&mut fresh, value);
                            base.insert(key.clone(), fresh);
                        }
                    },
                    _ => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

/// The value at a dotted path (`nats.enabled`), if any.
pub fn lookup<'v>(values: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').filter(|s| !s.is_empty()).try_fold(values, |value, key| value.get(key))
}

/// Helm's truthiness: `false`, `0`, `""`, `null` and empty collections are false.
pub fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// Parses one `--set` argument (`a.b=1,c[0].d=x`, `list={a,b}`) into an override tree.
pub fn parse_set(expression: &str) -> Result<Value, ChartError> {
    let mut tree = Value::Object(Map::new());
    apply_set(&mut tree, expression)?;
    Ok(tree)
}

/// Applies one `--set` argument to `tree`; several arguments build one tree, so
/// `a[0].x=1` and `a[0].y=2` set two fields of the same list item (as Helm does).
pub fn apply_set(tree: &mut Value, expression: &str) -> Result<(), ChartError> {
    let error = |message: &str| ChartError::BadSet { expression: expression.to_owned(), message: message.to_owned() };
    for assignment in split_unescaped(expression, ',', true) {
        let (path, raw) = assignment.split_once('=').ok_or_else(|| error("expected key=value"))?;
        let segments = parse_path(path).map_err(|m| error(&m))?;
        let value = if raw.starts_with('{') && raw.ends_with('}') {
            let inner = &raw[1..raw.len() - 1];
            let items = if inner.is_empty() { Vec::new() } else { split_unescaped(inner, ',', false) };
            Value::Array(items.iter().map(|item| scalar(item)).collect())
        } else {
            scalar(&raw.replace("\\,", ","))
        };
        set_path(tree, &segments, value).map_err(|m| error(&m))?;
    }
    Ok(())
}

#[derive(Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    if path.is_empty() {
        return Err("empty key".into());
    }
    let mut segments = Vec::new();
    for part in split_unescaped(path, '.', false) {
        let part = part.replace("\\.", ".");
        let (key, mut rest) = match part.find('[') {
            Some(i) => (part[..i].to_owned(), &part[i..]),
            None => (part.clone(), ""),
        };
        if key.is_empty() && segments.is_empty() {
            return Err(format!("key {path:?} starts with an index"));
        }
        if !key.is_empty() {
            segments.push(Segment::Key(key));
        } else if rest.is_empty() {
            return Err(format!("empty key segment in {path:?}"));
        }
        while !rest.is_empty() {
            let close = rest.find(']').ok_or_else(|| format!("unclosed [ in {path:?}"))?;
            let index: usize =
                rest[1..close].parse().map_err(|_| format!("{:?} is not a list index in {path:?}", &rest[1..close]))?;
            if index > 10_000 {
                return Err(format!("list index {index} in {path:?} is too large (at most 10000)"));
            }
            segments.push(Segment::Index(index));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(format!("unexpected {rest:?} after an index in {path:?}"));
            }
        }
    }
    Ok(segments)
}

fn set_path(node: &mut Value, segments: &[Segment], value: Value) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        *node = value;
        return Ok(());
    };
    match first {
        Segment::Key(key) => {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            let map = node.as_object_mut().ok_or("not a map")?;
            let child = map.entry(key.clone()).or_insert(Value::Null);
            set_path(child, rest, value)
        }
        Segment::Index(index) => {
            if !node.is_array() {
                *node = Value::Array(Vec::new());
            }
            let list = node.as_array_mut().ok_or("not a list")?;
            if list.len() <= *index {
                list.resize(index + 1, Value::Null);
            }
            set_path(&mut list[*index], rest, value)
        }
    }
}

/// `true`/`false`/`null`, integers and plain strings, as `helm --set` reads them.
fn scalar(raw: &str) -> Value {
    match raw {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => match raw.parse::<i64>() {
            Ok(n) if !(raw.len() > 1 && raw.starts_with('0')) => Value::from(n),
            _ => Value::String(raw.to_owned()),
        },
    }
}

/// Splits on `separator` unless it is escaped with `\` or (when `braces`) inside `{...}`.
fn split_unescaped(text: &str, separator: char, braces: bool) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            current.push('\\');
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '{' if braces => {
                depth += 1;
                current.push(c);
            }
            '}' if braces => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            c if c == separator && depth == 0 => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    if escaped {
        current.push('\\');
    }
    parts.push(current);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_follows_helm_rules() {
        let cases = [
            // maps merge deeply
            (json!({"a": {"b": 1, "c": 2}}), json!({"a": {"c": 3, "d": 4}}), json!({"a": {"b": 1, "c": 3, "d": 4}})),
            // lists replace
            (json!({"l": [1, 2, 3]}), json!({"l": [9]}), json!({"l": [9]})),
            // scalars replace, also with another type
            (json!({"s": "x"}), json!({"s": {"k": 1}}), json!({"s": {"k": 1}})),
            (json!({"s": {"k": 1}}), json!({"s": 5}), json!({"s": 5})),
            // null removes a default
            (json!({"a": {"b": 1, "c": 2}}), json!({"a": {"b": null}}), json!({"a": {"c": 2}})),
            // null inside a new map is not kept either
            (json!({}), json!({"n": {"x": null, "y": 1}}), json!({"n": {"y": 1}})),
            // an empty overlay changes nothing
            (json!({"a": 1}), json!({}), json!({"a": 1})),
        ];
        for (mut base, overlay, expected) in cases {
            let before = base.clone();
            merge(&mut base, &overlay);
            assert_eq!(base, expected, "{before} + {overlay}");
        }
    }

    #[test]
    fn set_strings_build_override_trees() {
        let cases = [
            ("a=1", json!({"a": 1})),
            ("a.b=true", json!({"a": {"b": true}})),
            ("a.b=x,c=false", json!({"a": {"b": "x"}, "c": false})),
            ("list[1].name=n", json!({"list": [null, {"name": "n"}]})),
            ("matrix[0][1]=v", json!({"matrix": [[null, "v"]]})),
            ("tags={a,b,3}", json!({"tags": ["a", "b", 3]})),
            ("empty={}", json!({"empty": []})),
            ("a=null", json!({"a": null})),
            ("zip=0123", json!({"zip": "0123"})),
            (r"labels.app\.kubernetes\.io/name=nats", json!({"labels": {"app.kubernetes.io/name": "nats"}})),
            (r"msg=a\,b", json!({"msg": "a,b"})),
            ("url=nats://h:4222?x=1", json!({"url": "nats://h:4222?x=1"})),
        ];
        for (expression, expected) in cases {
            assert_eq!(parse_set(expression).expect(expression), expected, "{expression}");
        }
    }

    #[test]
    fn several_set_strings_build_one_tree() {
        let mut tree = json!({});
        for expression in ["r[0].urls={a}", "r[0].key=k", "r[1].urls={b}", "x.y=1", "x.z=2"] {
            apply_set(&mut tree, expression).expect(expression);
        }
        assert_eq!(tree, json!({"r": [{"urls": ["a"], "key": "k"}, {"urls": ["b"]}], "x": {"y": 1, "z": 2}}));
    }

    #[test]
    fn bad_set_strings_say_what_is_wrong() {
        for (expression, fragment) in [
            ("novalue", "expected key=value"),
            ("=1", "empty key"),
            ("a[x]=1", "is not a list index"),
            ("a[1=1", "unclosed ["),
            ("[0]=1", "starts with an index"),
            ("a[99999]=1", "too large"),
        ] {
            let error = parse_set(expression).expect_err(expression).to_string();
            assert!(error.contains(fragment), "{expression}: {error}");
        }
    }

    #[test]
    fn lookup_and_truthiness() {
        let values = json!({"nats": {"enabled": true, "off": false, "zero": 0, "s": "", "list": []}});
        assert!(truthy(lookup(&values, "nats.enabled")));
        for path in ["nats.off", "nats.zero", "nats.s", "nats.list", "nats.missing", "missing.deep"] {
            assert!(!truthy(lookup(&values, path)), "{path}");
        }
    }
}
