//! Conditions on a lead: `{"all": [...]}`, `{"any": [...]}` or one comparison
//! `{"field", "op", "value"}`. Fields are the lead's columns or `custom_fields.<key>`
//! (`custom_fields->>key` is read the same way). Text compares case-insensitively.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A condition tree, as the builder stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Filter {
    All { all: Vec<Filter> },
    Any { any: Vec<Filter> },
    Compare(Comparison),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    pub field: String,
    pub op: Op,
    #[serde(default)]
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    Contains,
    IsEmpty,
    NotEmpty,
}

/// The deepest nesting a filter may have (the builder's trees are shallow; this bounds the
/// work one hostile workflow can ask for).
pub const MAX_DEPTH: usize = 8;

impl Filter {
    /// Whether `lead` (a row as JSON) meets the condition. An empty `all` holds; an empty
    /// `any` does not.
    pub fn matches(&self, lead: &serde_json::Map<String, Value>) -> bool {
        match self {
            Filter::All { all } => all.iter().all(|f| f.matches(lead)),
            Filter::Any { any } => any.iter().any(|f| f.matches(lead)),
            Filter::Compare(c) => c.matches(field_value(lead, &c.field)),
        }
    }

    pub fn depth(&self) -> usize {
        match self {
            Filter::All { all: list } | Filter::Any { any: list } => {
                1 + list.iter().map(Filter::depth).max().unwrap_or(0)
            }
            Filter::Compare(_) => 1,
        }
    }

    /// The fields the filter reads (validation names unknown ones).
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Filter::All { all: list } | Filter::Any { any: list } => {
                list.iter().flat_map(Filter::fields).collect()
            }
            Filter::Compare(c) => vec![c.field.as_str()],
        }
    }
}

/// The value of `field` on a lead: a column, or a key of `custom_fields`.
pub fn field_value<'a>(lead: &'a serde_json::Map<String, Value>, field: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    let custom = field
        .strip_prefix("custom_fields.")
        .or_else(|| field.strip_prefix("custom_fields->>"));
    match custom {
        Some(key) => lead
            .get("custom_fields")
            .and_then(|c| c.get(key))
            .unwrap_or(&NULL),
        None => lead.get(field).unwrap_or(&NULL),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A number from a JSON number or numeric text.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn equal(left: &Value, right: &Value) -> bool {
    match (number(left), number(right)) {
        (Some(a), Some(b)) if !left.is_string() || !right.is_string() => a == b,
        _ => match (text(left), text(right)) {
            (Some(a), Some(b)) => a == b,
            _ => left == right,
        },
    }
}

/// Orders two values: numerically when both read as numbers, else as text (ISO dates
/// order correctly as text).
fn order(left: &Value, right: &Value) -> Option<std::cmp::Ordering> {
    match (number(left), number(right)) {
        (Some(a), Some(b)) => a.partial_cmp(&b),
        _ => Some(text(left)?.cmp(&text(right)?)),
    }
}

impl Comparison {
    fn matches(&self, actual: &Value) -> bool {
        use std::cmp::Ordering::*;
        match self.op {
            Op::Eq => equal(actual, &self.value),
            Op::Neq => !equal(actual, &self.value),
            Op::Gt => order(actual, &self.value) == Some(Greater),
            Op::Gte => matches!(order(actual, &self.value), Some(Greater | Equal)),
            Op::Lt => order(actual, &self.value) == Some(Less),
            Op::Lte => matches!(order(actual, &self.value), Some(Less | Equal)),
            Op::In => match &self.value {
                Value::Array(options) => options.iter().any(|o| equal(actual, o)),
                other => equal(actual, other),
            },
            Op::Contains => match actual {
                Value::Array(items) => items.iter().any(|i| equal(i, &self.value)),
                Value::String(s) => {
                    text(&self.value).is_some_and(|needle| s.to_lowercase().contains(&needle))
                }
                _ => false,
            },
            Op::IsEmpty => is_empty(actual),
            Op::NotEmpty => !is_empty(actual),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lead() -> serde_json::Map<String, Value> {
        json!({"status": "New", "score": 42, "company": "Acme GmbH", "emails": ["a@x.io"],
               "custom_fields": {"tier": "gold", "seats": "12"}, "title": null})
        .as_object()
        .cloned()
        .unwrap()
    }

    fn parse(v: Value) -> Filter {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn comparisons_read_columns_and_custom_fields() {
        let l = lead();
        assert!(parse(json!({"field": "status", "op": "eq", "value": "new"})).matches(&l));
        assert!(parse(json!({"field": "score", "op": "gte", "value": 42})).matches(&l));
        assert!(!parse(json!({"field": "score", "op": "gt", "value": "42"})).matches(&l));
        assert!(
            parse(json!({"field": "custom_fields.tier", "op": "in", "value": ["silver", "Gold"]}))
                .matches(&l)
        );
        assert!(
            parse(json!({"field": "custom_fields->>seats", "op": "lt", "value": 20})).matches(&l)
        );
        assert!(parse(json!({"field": "company", "op": "contains", "value": "acme"})).matches(&l));
        assert!(parse(json!({"field": "emails", "op": "contains", "value": "a@x.io"})).matches(&l));
        assert!(parse(json!({"field": "title", "op": "is_empty"})).matches(&l));
        assert!(parse(json!({"field": "nothing", "op": "is_empty"})).matches(&l));
        assert!(parse(json!({"field": "company", "op": "not_empty"})).matches(&l));
    }

    #[test]
    fn all_and_any_nest() {
        let f = parse(json!({"all": [
            {"field": "status", "op": "neq", "value": "Lost"},
            {"any": [{"field": "score", "op": "gt", "value": 90}, {"field": "custom_fields.tier", "op": "eq", "value": "gold"}]}
        ]}));
        assert!(f.matches(&lead()));
        assert_eq!(f.depth(), 3);
        assert!(!parse(json!({"any": []})).matches(&lead()));
        assert!(parse(json!({"all": []})).matches(&lead()));
    }

    #[test]
    fn an_unknown_operator_is_refused() {
        assert!(
            serde_json::from_value::<Filter>(json!({"field": "a", "op": "regex", "value": "x"}))
                .is_err()
        );
    }
}
