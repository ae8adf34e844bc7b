//! Storage sizes as Kyma's managers take them: a Kubernetes quantity written as a string (`1Gi`)
//! or as an integer number of bytes (`1073741824`): `x-kubernetes-int-or-string`, kept as the
//! string the chart and `validate::storage_size` read.

use serde::{Deserialize, Deserializer};

use super::validate::cel;

/// A string or an integer in its string form; `None` for null (an int-or-string field that is
/// not required is nullable in the CRD, and null means "the default", as a missing field does).
fn int_or_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrString {
        Int(i64),
        String(String),
    }
    Ok(Option::<IntOrString>::deserialize(deserializer)?.map(|v| match v {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s,
    }))
}

pub const DEFAULT_STORAGE_SIZE: &str = "1Gi";
pub const DEFAULT_STREAM_MAX_SIZE: &str = "700Mi";

/// A JetStream store size; null is [`DEFAULT_STORAGE_SIZE`].
pub fn storage<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(int_or_string(deserializer)?.unwrap_or_else(|| DEFAULT_STORAGE_SIZE.into()))
}

/// The Eventing stream's maximum size; null is [`DEFAULT_STREAM_MAX_SIZE`].
pub fn stream<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(int_or_string(deserializer)?.unwrap_or_else(|| DEFAULT_STREAM_MAX_SIZE.into()))
}

/// The schema of an int-or-string size with `rule` (CEL over `string(self)`) and its `message`.
fn schema(rule: String, message: &str) -> schemars::Schema {
    schemars::json_schema!({
        "x-kubernetes-int-or-string": true,
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "maxLength": 32,
        "x-kubernetes-validations": [{"rule": rule, "message": message}],
    })
}

pub fn mem_storage(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schema(
        cel::STORAGE_SIZE.into(),
        "spec.jetStream.memStorage.size must be a whole number of bytes greater than 0 and at most 1Pi, such as 1Gi",
    )
}

pub fn file_storage(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schema(
        cel::STORAGE_SIZE.into(),
        "spec.jetStream.fileStorage.size must be a whole number of bytes greater than 0 and at most 1Pi, such as 1Gi",
    )
}

pub fn stream_max_size(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schema(
        format!("string(self) == '-1' || ({})", cel::STORAGE_SIZE),
        "spec.backend.config.natsStreamMaxSize must be a whole number of bytes greater than 0 and at most 1Pi, such as 700Mi, or -1 for no limit",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "stream")]
        size: String,
    }

    #[test]
    fn integers_and_strings_read_as_their_string_and_null_as_the_default() {
        let read =
            |v: serde_json::Value| serde_json::from_value::<Holder>(serde_json::json!({"size": v})).map(|h| h.size);
        assert_eq!(read(serde_json::json!(1073741824)).expect("int"), "1073741824");
        assert_eq!(read(serde_json::json!(-1)).expect("int"), "-1");
        assert_eq!(read(serde_json::json!("1Gi")).expect("string"), "1Gi");
        assert_eq!(read(serde_json::json!(null)).expect("null"), DEFAULT_STREAM_MAX_SIZE);
        assert!(read(serde_json::json!(1.5)).is_err(), "a fraction is neither");
        assert!(read(serde_json::json!(true)).is_err());
    }
}
