//! Reading a model's answer: the JSON object it was asked for, found even when the model
//! wraps it in a code fence or a sentence, and bounded text pulled out of it.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("the model's answer is empty")]
    Empty,
    #[error("the model's answer is not the JSON asked for: {0}")]
    Malformed(String),
}

/// The JSON object in an answer: the whole answer, else the span from its first `{` to its
/// last `}` (which drops a code fence or a sentence around it).
pub fn json_object_in(answer: &str) -> Option<Map<String, Value>> {
    let trimmed = answer.trim();
    if let Ok(Value::Object(object)) = serde_json::from_str(trimmed) {
        return Some(object);
    }
    let start = trimmed.find('{')?;
    let end = trimmed.rfind('}')?;
    if end <= start {
        return None;
    }
    match serde_json::from_str(&trimmed[start..=end]) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

/// A text member, whitespace trimmed and kept to `max_chars`; None when missing or blank.
pub fn text_member(object: &Map<String, Value>, name: &str, max_chars: usize) -> Option<String> {
    let text = object.get(name)?.as_str()?.trim();
    (!text.is_empty()).then(|| truncate_chars(text, max_chars))
}

pub fn truncate_chars(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// `text` cut to at most `max_bytes`, at a character boundary.
pub fn truncate_bytes(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_object_is_found_inside_a_fence_or_a_sentence() {
        let fenced = "```json\n{\"a\": 1}\n```";
        assert_eq!(json_object_in(fenced).unwrap()["a"], 1);
        let chatty = "Sure! Here it is: {\"a\": {\"b\": 2}} Hope it helps.";
        assert_eq!(json_object_in(chatty).unwrap()["a"]["b"], 2);
        assert_eq!(json_object_in("no json } here {"), None);
        assert_eq!(json_object_in("[1, 2]"), None);
    }

    #[test]
    fn text_is_cut_at_character_boundaries() {
        assert_eq!(truncate_bytes("café", 4), "caf");
        assert_eq!(truncate_bytes("café", 5), "café");
        assert_eq!(truncate_chars("café", 3), "caf");
    }
}
