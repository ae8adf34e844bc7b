//! The helpers chart authors expect from Helm, as Handlebars helpers that return values, so they
//! compose in subexpressions: `{{nindent 4 (toYaml Values.resources)}}`.

use std::borrow::Cow;

use base64::Engine;
use handlebars::{Context, Handlebars, Helper, HelperDef, RenderContext, RenderError, RenderErrorReason, ScopedJson};
use serde_json::Value;
use sha2::Digest;

use super::memo::IncludeMemo;
use super::values::truthy;

/// The largest width or count a helper accepts (`indent`, `range`), so no value exhausts memory.
const MAX_COUNT: u64 = 10_000;

type Compute = fn(&Helper<'_>, &Handlebars<'_>, &Context) -> Result<Value, RenderError>;

struct ValueHelper(Compute);

impl HelperDef for ValueHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        (self.0)(h, r, ctx).map(ScopedJson::Derived)
    }
}

pub fn register(registry: &mut Handlebars<'_>) {
    let helpers: [(&str, Compute); 19] = [
        ("toYaml", to_yaml),
        ("toJson", to_json),
        ("indent", |h, _, _| Ok(Value::String(indent(int(h, "indent", 0)?, &text(h, "indent", 1)?)))),
        ("nindent", |h, _, _| {
            let text = text(h, "nindent", 1)?;
            let mut out = String::with_capacity(text.len() * 2 + 1);
            out.push('\n');
            write_indented(int(h, "nindent", 0)?, &text, &mut out);
            Ok(Value::String(out))
        }),
        ("quote", |h, _, _| Ok(Value::String(yaml_quoted(&text(h, "quote", 0)?)))),
        ("default", default),
        ("required", required),
        ("b64enc", |h, _, _| {
            Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(text(h, "b64enc", 0)?.as_bytes())))
        }),
        ("sha256sum", |h, _, _| Ok(Value::String(hex(&sha2::Sha256::digest(text(h, "sha256sum", 0)?.as_bytes()))))),
        ("hasApiVersion", has_api_version),
        ("include", include),
        ("fullname", fullname),
        ("range", |h, _, _| Ok(Value::Array((0..int(h, "range", 0)?).map(Value::from).collect()))),
        ("add", add),
        ("concat", |h, _, _| Ok(Value::String(h.params().iter().map(|p| as_text(p.value())).collect()))),
        ("toBytes", to_bytes),
        ("natsSize", nats_size),
        ("dict", dict),
        ("merge", merge_maps),
    ];
    for (name, compute) in helpers {
        registry.register_helper(name, Box::new(ValueHelper(compute)));
    }
}

fn fail(message: String) -> RenderError {
    RenderErrorReason::Other(message).into()
}

fn param<'a>(h: &'a Helper<'_>, helper: &'static str, index: usize) -> Result<&'a Value, RenderError> {
    match h.param(index) {
        Some(p) if !p.is_value_missing() => Ok(p.value()),
        Some(p) => Err(fail(format!(
            "{helper}: value {} is missing",
            p.relative_path().map(String::as_str).unwrap_or("(argument)")
        ))),
        None => Err(RenderErrorReason::ParamNotFoundForIndex(helper, index).into()),
    }
}

/// A value as template text: strings as they are, `null` as empty, everything else as JSON.
fn as_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        other => Cow::Owned(other.to_string()),
    }
}

fn text<'a>(h: &'a Helper<'_>, helper: &'static str, index: usize) -> Result<Cow<'a, str>, RenderError> {
    param(h, helper, index).map(as_text)
}

fn int(h: &Helper<'_>, helper: &'static str, index: usize) -> Result<usize, RenderError> {
    let value = param(h, helper, index)?;
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .filter(|n| *n <= MAX_COUNT)
        .map(|n| n as usize)
        .ok_or_else(|| {
            fail(format!("{helper}: argument {index} must be an integer from 0 to {MAX_COUNT}, got {value}"))
        })
}

pub fn indent(width: usize, text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    write_indented(width, text, &mut out);
    out
}

fn pad(width: usize, out: &mut String) {
    const SPACES: &str = "                                                                ";
    let mut left = width;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        left -= step;
    }
}

/// `text` with every non-empty line indented by `width` spaces, lines joined by `\n`.
fn write_indented(width: usize, text: &str, out: &mut String) {
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !line.is_empty() {
            pad(width, out);
            out.push_str(line);
        }
    }
}

fn to_yaml(h: &Helper<'_>, _: &Handlebars<'_>, _: &Context) -> Result<Value, RenderError> {
    let mut out = String::new();
    write_yaml(param(h, "toYaml", 0)?, 0, &mut out);
    Ok(Value::String(out))
}

/// Block-style YAML with every string as a JSON string (JSON strings are YAML double-quoted
/// scalars), so no value can change type or break out of its line; much faster than a general emitter.
pub fn write_yaml(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                    pad(indent, out);
                }
                write_quoted(key, out);
                out.push(':');
                write_nested(item, indent, out);
            }
        }
        Value::Array(list) if !list.is_empty() => {
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                    pad(indent, out);
                }
                out.push('-');
                match item {
                    Value::Object(map) if !map.is_empty() => {
                        out.push(' ');
                        write_yaml(item, indent + 2, out);
                    }
                    _ => write_nested(item, indent, out),
                }
            }
        }
        Value::String(text) => write_quoted(text, out),
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A double-quoted scalar that YAML reads back as exactly `text`: JSON's escaping, plus escapes for
/// what JSON leaves bare but YAML does not allow or reads as a line break (U+2028, U+0085, C1 controls).
pub fn yaml_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    write_quoted(text, &mut out);
    out
}

fn write_quoted(text: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    let mut plain_from = 0;
    for (at, c) in text.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            '\u{20}'..='\u{7e}' => continue,
            c if yaml_printable(c) => continue,
            _ => "",
        };
        out.push_str(&text[plain_from..at]);
        plain_from = at + c.len_utf8();
        if escaped.is_empty() {
            // Infallible: writing to a String.
            let _ = if (c as u32) <= 0xffff {
                write!(out, "\\u{:04x}", c as u32)
            } else {
                write!(out, "\\U{:08x}", c as u32)
            };
        } else {
            out.push_str(escaped);
        }
    }
    out.push_str(&text[plain_from..]);
    out.push('"');
}

/// Characters YAML allows unescaped inside a double-quoted scalar (beyond printable ASCII), less
/// those it would read as a line break or a byte order mark.
fn yaml_printable(c: char) -> bool {
    matches!(c, '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// The value after `key:` or `-`: scalars and empty collections inline, the rest on the next lines.
fn write_nested(item: &Value, indent: usize, out: &mut String) {
    match item {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            pad(indent + 2, out);
            write_yaml(item, indent + 2, out);
        }
        Value::Array(list) if !list.is_empty() => {
            out.push('\n');
            pad(indent + 2, out);
            write_yaml(item, indent + 2, out);
        }
        _ => {
            out.push(' ');
            write_yaml(item, indent, out);
        }
    }
}

fn to_json(h: &Helper<'_>, _: &Handlebars<'_>, _: &Context) -> Result<Value, RenderError> {
    Ok(Value::String(param(h, "toJson", 0)?.to_string()))
}

/// `default FALLBACK VALUE`: VALUE when it is set and not empty, FALLBACK otherwise (Helm's order).
fn default(h: &Helper<'_>, _: &Handlebars<'_>, _: &Context) -> Result<Value, RenderError> {
    let fallback = param(h, "default", 0)?;
    let value = h.param(1).filter(|p| !p.is_value_missing()).map(|p| p.value());
    Ok(if truthy(value) { value.cloned().unwrap_or(Value::Null) } else { fallback.clone() })
}

/// `required "MESSAGE" VALUE`: fails with MESSAGE (and the value's path) when VALUE is missing or empty.
fn required(h: &Helper<'_>, _: &Handlebars<'_>, _: &Context) -> Result<Value, RenderError> {
    let message = text(h, "required", 0)?;
    let Some(p) = h.param(1) else { return Err(RenderErrorReason::ParamNotFoundForIndex("required", 1).into()) };
    let path = p.relative_path().map(String::as_str).unwrap_or("(argument)");
    match p.value() {
        _ if p.is_value_missing() => Err(fail(format!("{message} (value {path} is missing)"))),
        Value::Null => Err(fail(format!("{message} (value {path} is null)"))),
        Value::String(s) if s.is_empty() => Err(fail(format!("{message} (value {path} is empty)"))),
        value => Ok(value.clone()),
    }
}

/// `hasApiVersion "GROUP/VERSION"`: whether the cluster serves that API (`Capabilities.APIVersions`).
fn has_api_version(h: &Helper<'_>, _: &Handlebars<'_>, ctx: &Context) -> Result<Value, RenderError> {
    let wanted = text(h, "hasApiVersion", 0)?;
    let served = field(ctx.data(), "Capabilities", "APIVersions").and_then(Value::as_array);
    Ok(Value::Bool(served.is_some_and(|list| list.iter().any(|v| v.as_str() == Some(&*wanted)))))
}

/// `include "PARTIAL" CONTEXT`: a partial rendered to a string, to pipe into `nindent` and friends.
fn include(h: &Helper<'_>, r: &Handlebars<'_>, ctx: &Context) -> Result<Value, RenderError> {
    let name = text(h, "include", 0)?;
    // Most includes pass the whole context (`this` at the top level): reuse it instead of copying it.
    let owned;
    let context = match h.param(1) {
        Some(p) if p.is_value_missing() => {
            return Err(fail(format!("include {name}: context {:?} is missing", p.relative_path())));
        }
        Some(p) if !std::ptr::eq(p.value(), ctx.data()) => {
            owned = Context::from(p.value().clone());
            &owned
        }
        _ => ctx,
    };
    // Only an include with the template's own context can be remembered (see IncludeMemo).
    let remembered = std::ptr::eq(context, ctx);
    if let Some(hit) = remembered.then(|| IncludeMemo::get(ctx, &name)).flatten() {
        return Ok(Value::String(hit));
    }
    let depth = INCLUDE_DEPTH.with(|d| d.get());
    if depth >= MAX_INCLUDE_DEPTH {
        return Err(fail(format!(
            "include {name}: nested deeper than {MAX_INCLUDE_DEPTH} (does a partial include itself?)"
        )));
    }
    INCLUDE_DEPTH.with(|d| d.set(depth + 1));
    let rendered = r.render_with_context(&name, context);
    INCLUDE_DEPTH.with(|d| d.set(depth));
    let mut rendered = rendered.map_err(|e| fail(format!("include {name}: {e}")))?;
    rendered.truncate(rendered.trim_end_matches('\n').len());
    if remembered {
        IncludeMemo::put(ctx, &name, &rendered);
    }
    Ok(Value::String(rendered))
}

const MAX_INCLUDE_DEPTH: usize = 32;

thread_local! {
    /// How deep `include` calls are nested on this thread: a partial that includes itself must fail, not overflow the stack.
    static INCLUDE_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// `root.<section>.<name>` (`Value::pointer` would parse a path on every call).
fn field<'v>(root: &'v Value, section: &str, name: &str) -> Option<&'v Value> {
    root.get(section)?.get(name)
}

/// `fullname [CHART]`: Helm's naming rule. `Values.fullnameOverride` wins; otherwise the release
/// name when it already contains the chart name, else `RELEASE-CHART`. With CHART, the name that
/// chart would get in this release (for referring to a sibling subchart's objects).
fn fullname(h: &Helper<'_>, _: &Handlebars<'_>, ctx: &Context) -> Result<Value, RenderError> {
    let root = ctx.data();
    let release = field(root, "Release", "Name").and_then(Value::as_str).unwrap_or_default();
    let (chart, override_name) = match h.param(0) {
        Some(p) => (as_text(p.value()), None),
        None => (
            Cow::Borrowed(field(root, "Chart", "Name").and_then(Value::as_str).unwrap_or_default()),
            field(root, "Values", "fullnameOverride").and_then(Value::as_str).filter(|s| !s.is_empty()),
        ),
    };
    Ok(Value::String(match override_name {
        Some(name) => truncate_name(name),
        None => fullname_of(release, &chart),
    }))
}

/// Helm's naming rule without an override: the release name when it contains the chart name,
/// else `RELEASE-CHART`, at most 63 characters.
pub fn fullname_of(release: &str, chart: &str) -> String {
    if release.contains(chart) { truncate_name(release) } else { truncate_name(&format!("{release}-{chart}")) }
}

fn truncate_name(name: &str) -> String {
    name.chars().take(63).collect::<String>().trim_end_matches('-').to_owned()
}

/// `dict "k1" v1 "k2" v2 ...`: a map (a missing value is left out).
fn dict(h: &Helper<'_>, _: &Handlebars<'_>, _: &Context) -> Result<Value, RenderError> {
    let params = h.params();
    if params.len() % 2 != 0 {
        return Err(fail(format!("dict: needs key/value pairs, got {} arguments", params.len())));
    }
    let mut map = serde_json::Map::new();
    for pair in params.chunks(2) {
        if !pair[1].is_value_missing() {
            map.insert(as_text(pair[0].value()).into_owned(), pair[1].value().clone());
        }
    }
    Ok(Value::Object(map))
}

/// `merge MAP1 MAP2 ...`: maps merged left to right (later wins, deeply); missing ones are skipped.
fn merge_maps(h: &Helper<'_>, _: &Handlebars<'_>, _: &Context) -> Result<Value, RenderError> {
    let mut merged = Value::Object(serde_json::Map::new());
    for (index, p) in h.params().iter().enumerate() {
        match p.value() {
            _ if p.is_value_missing() => {}
            Value::Null => {}
            value @ Value::Object(_) => super::values::merge(&mut merged, value),
            other => return Err(fail(format!("merge: argument {index} is not a map: {other}"))),
        }
    }
    Ok(merged)
}

fn add(h: &Helper<'_>, _: &Handlebars<'_>, _: &Context) -> Result<Value, RenderError> {
    let mut sum: i64 = 0;
    for (index, p) in h.params().iter().enumerate() {
        let n = p
            .value()
            .as_i64()
            .ok_or_else(|| fail(format!("add: argument {index} is not an integer: {}", p.value())))?;
        sum = sum.checked_add(n).ok_or_else(|| fail("add: overflow".into()))?;
    }
    Ok(Value::from(sum))
}

/// `toBytes QUANTITY`: a Kubernetes quantity (`1Gi`, `500M`, `1024`) as a number of bytes.
fn to_bytes(h: &Helper<'_>, _: &Handlebars<'_>, _: &Context) -> Result<Value, RenderError> {
    let quantity = text(h, "toBytes", 0)?;
    quantity_bytes(&quantity)
        .map(Value::from)
        .ok_or_else(|| fail(format!("toBytes: {quantity:?} is not a quantity such as 1Gi")))
}

/// `natsSize QUANTITY`: a size as nats.conf states it. Whole numbers with a suffix nats-server reads
/// as Kubernetes does (`1Gi`, `500M`) stay as written, as Kyma's nats-manager writes them; anything
/// else (`1.5Gi`, `1e9`) becomes bytes.
fn nats_size(h: &Helper<'_>, _: &Handlebars<'_>, _: &Context) -> Result<Value, RenderError> {
    let quantity = text(h, "natsSize", 0)?;
    let quantity = quantity.trim();
    let digits = quantity.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &quantity[digits.len()..];
    const SAME_IN_NATS: &[&str] = &["", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && SAME_IN_NATS.contains(&suffix) {
        return Ok(Value::String(quantity.to_owned()));
    }
    quantity_bytes(quantity)
        .map(Value::from)
        .ok_or_else(|| fail(format!("natsSize: {quantity:?} is not a quantity such as 1Gi")))
}

pub fn quantity_bytes(quantity: &str) -> Option<u64> {
    crate::quantity::bytes(quantity.trim())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn registry() -> Handlebars<'static> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        register(&mut registry);
        registry.register_template_string("labels", "a: {{Values.a}}").expect("partial compiles");
        registry.register_template_string("loop", "{{include \"loop\" this}}").expect("partial compiles");
        registry
    }

    fn context() -> Value {
        json!({
            "Values": {"a": "x", "n": 3, "empty": "", "list": [1, 2], "map": {"k": "v", "n": {"deep": true}}, "nothing": null, "text": "a\nb", "gap": "a\n\nb"},
            "Release": {"Name": "eventing", "Namespace": "kyma-system"},
            "Chart": {"Name": "nats", "Version": "0.1.0"},
            "Capabilities": {"APIVersions": ["networking.istio.io/v1"]}
        })
    }

    fn render(template: &str) -> Result<String, String> {
        registry().render_template(template, &context()).map_err(|e| e.to_string())
    }

    #[test]
    fn helpers_render_as_helm_does() {
        let cases = [
            ("{{toYaml Values.map}}", "\"k\": \"v\"\n\"n\":\n  \"deep\": true"),
            ("{{toYaml Values.list}}", "- 1\n- 2"),
            ("{{toJson Values.map}}", r#"{"k":"v","n":{"deep":true}}"#),
            ("{{indent 2 Values.text}}", "  a\n  b"),
            ("{{indent 2 Values.gap}}", "  a\n\n  b"),
            ("x:{{nindent 2 (toYaml Values.map.n)}}", "x:\n  \"deep\": true"),
            ("{{quote Values.a}}", "\"x\""),
            ("{{quote Values.n}}", "\"3\""),
            ("{{quote \"say \\\"hi\\\"\"}}", r#""say \"hi\"""#),
            ("{{default \"d\" Values.a}}", "x"),
            ("{{default \"d\" Values.empty}}", "d"),
            ("{{default \"d\" Values.missing}}", "d"),
            ("{{default \"d\" Values.nothing}}", "d"),
            ("{{required \"need a\" Values.a}}", "x"),
            ("{{b64enc \"admin\"}}", "YWRtaW4="),
            ("{{sha256sum \"abc\"}}", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("{{#if (hasApiVersion \"networking.istio.io/v1\")}}yes{{else}}no{{/if}}", "yes"),
            ("{{#if (hasApiVersion \"networking.istio.io/v1beta1\")}}yes{{else}}no{{/if}}", "no"),
            ("{{include \"labels\" this}}", "a: x"),
            ("{{fullname}}", "eventing-nats"),
            ("{{fullname \"publisher\"}}", "eventing-publisher"),
            ("{{fullname \"event\"}}", "eventing"),
            ("{{#each (range 3)}}{{this}}{{/each}}", "012"),
            ("{{add 1 2 Values.n}}", "6"),
            ("{{concat \"a\" Values.n \"-\" Values.a}}", "a3-x"),
            (
                "{{toBytes \"1Gi\"}} {{toBytes \"500M\"}} {{toBytes \"1.5Ki\"}} {{toBytes \"42\"}}",
                "1073741824 500000000 1536 42",
            ),
            (
                "{{natsSize \"1Gi\"}} {{natsSize \"500M\"}} {{natsSize \"1.5Ki\"}} {{natsSize \"42\"}} {{natsSize \"2000m\"}} {{natsSize \"1e3\"}}",
                "1Gi 500M 1536 42 2 1000",
            ),
            ("{{toJson (dict \"k\" 1 \"m\" Values.missing)}}", r#"{"k":1}"#),
            ("{{toJson (merge Values.map (dict \"k\" \"w\") Values.missing)}}", r#"{"k":"w","n":{"deep":true}}"#),
            ("{{#if (and (eq Values.a \"x\") (not (ne Values.n 3)))}}t{{/if}}", "t"),
            ("{{#if (or Values.empty Values.list)}}t{{/if}}", "t"),
        ];
        for (template, expected) in cases {
            assert_eq!(render(template).as_deref(), Ok(expected), "{template}");
        }
    }

    #[test]
    fn helper_errors_name_the_problem() {
        let cases = [
            (
                "{{required \"nats.auth.secretName is required\" Values.missing}}",
                "nats.auth.secretName is required (value Values.missing is missing)",
            ),
            ("{{required \"need it\" Values.empty}}", "need it (value Values.empty is empty)"),
            ("{{required \"need it\" Values.nothing}}", "need it (value Values.nothing is null)"),
            ("{{Values.missing}}", "strict mode"),
            ("{{toYaml Values.missing}}", "toYaml: value Values.missing is missing"),
            ("{{indent \"x\" Values.a}}", "indent: argument 0 must be an integer from 0 to 10000"),
            ("{{indent 99999999999 Values.a}}", "indent: argument 0 must be an integer from 0 to 10000"),
            ("{{range 10001}}", "range: argument 0 must be an integer from 0 to 10000"),
            ("{{toBytes \"lots\"}}", "toBytes: \"lots\" is not a quantity"),
            ("{{dict \"k\"}}", "dict: needs key/value pairs"),
            ("{{merge Values.list}}", "merge: argument 0 is not a map"),
            ("{{include \"nope\" this}}", "include nope"),
            ("{{include \"loop\" this}}", "nested deeper than 32"),
            ("{{add Values.a 1}}", "add: argument 0 is not an integer"),
        ];
        for (template, fragment) in cases {
            let error = render(template).expect_err(template);
            assert!(error.contains(fragment), "{template}: {error}");
        }
    }

    #[test]
    fn quantities_convert_to_bytes() {
        for (quantity, bytes) in [("0", Some(0)), ("1k", Some(1000)), ("2Mi", Some(2 << 20)), ("1Ti", Some(1 << 40))] {
            assert_eq!(quantity_bytes(quantity), bytes, "{quantity}");
        }
        for bad in ["", "Gi", "1Zi", "-1Gi", "1500m", "1..2"] {
            assert_eq!(quantity_bytes(bad), None, "{bad}");
        }
    }
}

#[cfg(test)]
mod yaml_tests {
    use super::write_yaml;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn round_trip(value: &Value) -> Value {
        let mut out = String::new();
        write_yaml(value, 0, &mut out);
        let text = format!("root:\n  {}\n", out.replace('\n', "\n  "));
        let parsed: Value = yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        parsed["root"].clone()
    }

    #[test]
    fn to_yaml_round_trips_through_a_yaml_parser() {
        for value in [
            json!({"a": 1, "b": {"c": [1, "two", {"d": null, "e": [[], {}]}]}, "f": "yes", "g": "1.0", "h": "a: b # c"}),
            json!([{"k": "v", "l": [1, 2]}, [3, [4]], "x", {}]),
            json!({"multi": "line\nbreak", "quote": "\"'", "unicode": "zoë ✓", "empty": ""}),
            // JSON leaves these bare; YAML reads them as line breaks or rejects them.
            json!({"\u{2028}": "a\u{2029}b", "nel": "\u{85}", "del": "\u{7f}\u{9f}", "bom": "\u{feff}x", "astral": "\u{1F600}"}),
            json!("plain"),
            json!(42),
        ] {
            assert_eq!(round_trip(&value), value);
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_round_trips(value in json_value()) {
            prop_assert_eq!(round_trip(&value), value);
        }
    }
}
