//! Checks of the names a user configures (`--manager-name`, `--install-namespace`,
//! `--release-name`), so that a bad one stops the manager at start with a reason instead of
//! failing every apply later.

/// The longest release name: `<release>-publisher-proxy` must stay a valid object name, and the
/// StatefulSet `<release>-nats` short enough for its pods' `controller-revision-hash` label.
pub const MAX_RELEASE_NAME: usize = 40;

/// A DNS-1123 label of at most `max` characters.
pub fn is_dns_label(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// An object name such as a Secret's: a DNS-1123 subdomain.
pub fn is_dns_subdomain(name: &str) -> bool {
    (1..=253).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// `namespace/name` of a Secret (`--control-nats-secret`).
pub fn secret_ref(text: &str) -> Result<(String, String), String> {
    let (namespace, name) = text.split_once('/').ok_or_else(|| format!("{text:?} is not namespace/name"))?;
    dns_label(namespace)?;
    if name.is_empty() || name.contains('/') {
        return Err(format!("{text:?} is not namespace/name"));
    }
    Ok((namespace.to_owned(), name.to_owned()))
}

/// A namespace name: a DNS-1123 label.
pub fn dns_label(name: &str) -> Result<String, String> {
    if is_dns_label(name, 63) {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "{name:?} is not a valid namespace name: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
        ))
    }
}

/// A release name: a DNS-1123 label of at most [`MAX_RELEASE_NAME`] characters.
pub fn release_name(name: &str) -> Result<String, String> {
    if is_dns_label(name, MAX_RELEASE_NAME) {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "{name:?} is not a valid release name: at most {MAX_RELEASE_NAME} lower-case letters, digits and '-', starting and ending with a letter or digit"
        ))
    }
}

/// A label value (the managed-by label carries the manager name).
pub fn label_value(name: &str) -> Result<String, String> {
    let alphanumeric = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let valid = name.len() <= 63
        && alphanumeric(name.chars().next())
        && alphanumeric(name.chars().last())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "{name:?} is not a valid manager name: it is a label value, at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_pass() {
        assert_eq!(dns_label("kyma-system").as_deref(), Ok("kyma-system"));
        assert_eq!(release_name("eventing").as_deref(), Ok("eventing"));
        assert_eq!(label_value("Eventing_Manager.v2").as_deref(), Ok("Eventing_Manager.v2"));
    }

    #[test]
    fn bad_names_say_what_is_allowed() {
        for bad in ["", "Kyma", "-a", "a-", "a_b", &"a".repeat(64)] {
            let error = dns_label(bad).expect_err(bad);
            assert!(error.contains("lower-case letters"), "{error}");
        }
        assert!(release_name(&"a".repeat(MAX_RELEASE_NAME + 1)).expect_err("too long").contains("at most 40"));
        for bad in ["", "-x", "x.", "a b", "a/b"] {
            assert!(label_value(bad).expect_err(bad).contains("label value"));
        }
    }
}
