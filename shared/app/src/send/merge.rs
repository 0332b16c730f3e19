//! Merge values of a lead for the templates.

use super::*;

/// Merge values from a lead: its columns, `name` from first + last, `custom_fields.*`, then
/// the request's variables.
pub fn merge_values(lead: &Row, variables: &BTreeMap<String, String>) -> MergeValues {
    let mut values = MergeValues::new();
    for column in [
        "first_name",
        "last_name",
        "name",
        "company",
        "title",
        "email",
        "primary_email",
        "industry",
        "location",
        "linkedin_url",
    ] {
        let text = match &lead.get(column) {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        values.insert(column.into(), text);
    }
    if values["first_name"].is_empty() && !values["name"].is_empty() {
        let first = values["name"]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        values.insert("first_name".into(), first);
    }
    if values["name"].is_empty() {
        let full = format!("{} {}", values["first_name"], values["last_name"])
            .trim()
            .to_owned();
        values.insert("name".into(), full);
    }
    if let Some(Value::Object(custom)) = lead.get("custom_fields") {
        for (key, value) in custom {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            values.insert(format!("custom_fields.{key}"), text);
        }
    }
    for (key, value) in variables {
        values.insert(key.clone(), value.clone());
    }
    values
}
