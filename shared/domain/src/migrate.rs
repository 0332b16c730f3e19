//! Values from a PostgreSQL CSV export (`\copy <table> TO '<table>.csv' WITH (FORMAT csv,
//! HEADER, NULL '\N')`) as the JSON values the row repository takes: `\N` is NULL, booleans are
//! `t`/`f`, arrays are `{a,"b c"}` literals, JSONB is JSON text, timestamps are
//! `2026-01-31 09:30:00.123456+00`.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::schema::{Column, ColumnType};

/// The NULL marker the export is asked to write (an empty field is an empty string).
pub const NULL_MARKER: &str = "\\N";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{column}: {reason} ({value:?})")]
pub struct ValueError {
    pub column: String,
    pub value: String,
    pub reason: &'static str,
}

/// One exported field as the column's JSON value.
pub fn value_of(column: &Column, text: &str) -> Result<Value, ValueError> {
    if text == NULL_MARKER {
        return Ok(Value::Null);
    }
    let error = |reason| ValueError {
        column: column.name.to_owned(),
        value: text.chars().take(80).collect(),
        reason,
    };
    Ok(match column.ty {
        ColumnType::Uuid | ColumnType::Text | ColumnType::Date => json!(text),
        ColumnType::Int | ColumnType::BigInt => {
            json!(
                text.trim()
                    .parse::<i64>()
                    .map_err(|_| error("not an integer"))?
            )
        }
        ColumnType::Real => json!(
            text.trim()
                .parse::<f64>()
                .map_err(|_| error("not a number"))?
        ),
        ColumnType::Boolean => match text.trim() {
            "t" | "true" | "TRUE" | "1" => json!(true),
            "f" | "false" | "FALSE" | "0" => json!(false),
            _ => return Err(error("not a boolean")),
        },
        ColumnType::Jsonb => serde_json::from_str(text).map_err(|_| error("not JSON"))?,
        ColumnType::TextArray => {
            json!(parse_array(text).ok_or_else(|| error("not an array literal"))?)
        }
        ColumnType::Timestamptz => json!(timestamp(text).ok_or_else(|| error("not a timestamp"))?),
    })
}

/// `2026-01-31 09:30:00.123456+00` (or `+05:30`, or RFC 3339) as RFC 3339 UTC.
fn timestamp(text: &str) -> Option<String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(
            at.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Micros, true),
        );
    }
    // PostgreSQL writes the offset as `+HH`, `+HH:MM` or `+HH:MM:SS`.
    let split = text.rfind(['+', '-']).filter(|&i| i > 10)?;
    let (local, offset) = text.split_at(split);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let parts: Vec<i64> = offset[1..]
        .split(':')
        .filter_map(|p| p.parse().ok())
        .collect();
    let seconds = sign
        * (parts.first().copied()? * 3600
            + parts.get(1).copied().unwrap_or(0) * 60
            + parts.get(2).copied().unwrap_or(0));
    let naive = NaiveDateTime::parse_from_str(local.trim(), "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let utc = naive - chrono::Duration::seconds(seconds);
    Some(utc.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// A one-dimensional text array literal: `{}`, `{a,b}`, `{"a,b","say \"hi\"",NULL}`.
pub fn parse_array(text: &str) -> Option<Vec<Value>> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Vec::new();
    if inner.is_empty() {
        return Some(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        let mut element = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => element.push(chars.next()?),
                    '"' => break,
                    c => element.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                element.push(c);
                chars.next();
            }
        }
        if !quoted && element == "NULL" {
            out.push(Value::Null);
        } else {
            out.push(Value::String(element));
        }
        match chars.next() {
            Some(',') => continue,
            None => return Some(out),
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;

    fn column(table: &str, name: &str) -> &'static Column {
        schema::table(table).and_then(|t| t.column(name)).unwrap()
    }

    #[test]
    fn postgres_export_values_become_row_values() {
        assert_eq!(
            value_of(column("leads", "title"), "\\N").unwrap(),
            Value::Null
        );
        assert_eq!(value_of(column("leads", "title"), "").unwrap(), json!(""));
        assert_eq!(value_of(column("leads", "score"), "42").unwrap(), json!(42));
        assert_eq!(
            value_of(column("leads", "emails"), "{a@x.com,\"b,c@x.com\"}").unwrap(),
            json!(["a@x.com", "b,c@x.com"])
        );
        assert_eq!(
            value_of(column("leads", "custom_fields"), "{\"k\": [1, 2]}").unwrap(),
            json!({ "k": [1, 2] })
        );
        assert_eq!(
            value_of(
                column("leads", "created_at"),
                "2026-01-31 09:30:00.123456+05:30"
            )
            .unwrap(),
            json!("2026-01-31T04:00:00.123456Z")
        );
        assert_eq!(
            value_of(column("leads", "created_at"), "2026-01-31 09:30:00+00").unwrap(),
            json!("2026-01-31T09:30:00.000000Z")
        );
        assert!(value_of(column("leads", "score"), "many").is_err());
    }

    #[test]
    fn array_literals_parse() {
        assert_eq!(parse_array("{}"), Some(vec![]));
        assert_eq!(
            parse_array("{NULL,\"NULL\",\"say \\\"hi\\\"\"}"),
            Some(vec![Value::Null, json!("NULL"), json!("say \"hi\"")])
        );
        assert_eq!(parse_array("not an array"), None);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::schema;

    proptest! {
        /// No exported text panics the conversion, for any column type.
        #[test]
        fn any_export_text_converts_or_is_refused(text in "\\PC{0,60}") {
            for column in schema::LEADS.columns {
                let _ = value_of(column, &text);
            }
            let _ = parse_array(&format!("{{{text}}}"));
        }
    }
}
