//! Bounded text: status messages and log lines never carry a whole user value or an unbounded
//! error (a 1 MiB label value must not make the status update itself too large).

use std::borrow::Cow;

/// The most a status message may hold, in bytes.
pub const MAX_MESSAGE: usize = 1024;
/// The most of a user value that a message quotes, in characters.
const MAX_QUOTE: usize = 64;

/// `text` cut to at most `max` bytes on a character boundary, ending in "…" when cut.
pub fn bounded(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let ellipsis = "…";
    let mut end = max.saturating_sub(ellipsis.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{ellipsis}", &text[..end]))
}

/// A status message: at most [`MAX_MESSAGE`] bytes.
pub fn message(text: &str) -> String {
    bounded(text, MAX_MESSAGE).into_owned()
}

/// A user value as messages quote it: in full when short, else its start and its length.
pub fn quote(value: &str) -> String {
    if value.chars().count() <= MAX_QUOTE {
        return format!("{value:?}");
    }
    let start: String = value.chars().take(MAX_QUOTE).collect();
    format!("{start:?}… ({} bytes)", value.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_with_an_ellipsis_on_a_character_boundary() {
        assert_eq!(bounded("short", 10), "short");
        let long = "ä".repeat(2000);
        let cut = message(&long);
        assert!(cut.len() <= MAX_MESSAGE && cut.ends_with('…'), "{} bytes", cut.len());
        assert_eq!(message(&"x".repeat(MAX_MESSAGE)).len(), MAX_MESSAGE, "exactly the limit is not cut");
    }

    #[test]
    fn long_values_are_quoted_by_their_start_and_length() {
        assert_eq!(quote("abc"), "\"abc\"");
        let quoted = quote(&"v".repeat(1 << 20));
        assert!(quoted.len() < 100 && quoted.contains("(1048576 bytes)"), "{quoted}");
    }
}
