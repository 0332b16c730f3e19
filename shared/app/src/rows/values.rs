//! The value rules of a column: coercion to its type, CHECK sets and ranges, defaults, and a
//! new row with every default filled in. Pure: no store.

use super::*;

/// The canonical text of a timestamp: UTC with microseconds (PostgreSQL's precision), fixed
/// width so that text order is time order.
pub fn timestamp_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Checks and normalises one value for a column (types as PostgreSQL would coerce them).
pub fn coerce(column: &Column, value: Value) -> Result<Value, RowError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let name = column.name;
    let value = match column.ty {
        ColumnType::Uuid => {
            let text = value
                .as_str()
                .ok_or_else(|| invalid(name, "must be a UUID string"))?;
            let id = uuid::Uuid::parse_str(text).map_err(|_| invalid(name, "must be a UUID"))?;
            Value::String(id.hyphenated().to_string())
        }
        ColumnType::Text => {
            if !value.is_string() {
                return Err(invalid(name, "must be a string"));
            }
            value
        }
        ColumnType::Int => {
            let n = value
                .as_i64()
                .ok_or_else(|| invalid(name, "must be an integer"))?;
            if i32::try_from(n).is_err() {
                return Err(invalid(name, "is out of range for a 32-bit integer"));
            }
            value
        }
        ColumnType::BigInt => {
            value
                .as_i64()
                .ok_or_else(|| invalid(name, "must be an integer"))?;
            value
        }
        ColumnType::Real => {
            value
                .as_f64()
                .ok_or_else(|| invalid(name, "must be a number"))?;
            value
        }
        ColumnType::Boolean => {
            value
                .as_bool()
                .ok_or_else(|| invalid(name, "must be true or false"))?;
            value
        }
        ColumnType::Jsonb => value,
        ColumnType::TextArray => {
            let items = value
                .as_array()
                .ok_or_else(|| invalid(name, "must be an array of strings"))?;
            if !items.iter().all(Value::is_string) {
                return Err(invalid(name, "must be an array of strings"));
            }
            value
        }
        ColumnType::Date => {
            let text = value
                .as_str()
                .ok_or_else(|| invalid(name, "must be a date (YYYY-MM-DD)"))?;
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| invalid(name, "must be a date (YYYY-MM-DD)"))?;
            Value::String(date.format("%Y-%m-%d").to_string())
        }
        ColumnType::Timestamptz => {
            let text = value
                .as_str()
                .ok_or_else(|| invalid(name, "must be an RFC 3339 timestamp"))?;
            let at = DateTime::parse_from_rfc3339(text)
                .map_err(|_| invalid(name, "must be an RFC 3339 timestamp with an offset"))?;
            Value::String(timestamp_text(at.with_timezone(&Utc)))
        }
    };
    match column.check {
        Check::None => {}
        Check::OneOf(allowed) => {
            let text = value.as_str().unwrap_or_default();
            if !allowed.contains(&text) {
                return Err(invalid(
                    name,
                    format!("must be one of {}", allowed.join(", ")),
                ));
            }
        }
        Check::Range { min, max } => {
            let n = value.as_i64().unwrap_or(i64::MIN);
            if n < min || n > max {
                return Err(invalid(name, format!("must be between {min} and {max}")));
            }
        }
    }
    Ok(value)
}

/// The value a column's default produces now.
pub fn default_value(column: &Column, now: DateTime<Utc>) -> Value {
    match column.default {
        DefaultValue::None | DefaultValue::Null => Value::Null,
        DefaultValue::RandomUuid => Value::String(uuid::Uuid::new_v4().to_string()),
        DefaultValue::Now => Value::String(timestamp_text(now)),
        DefaultValue::NowPlusSeconds(seconds) => {
            Value::String(timestamp_text(now + chrono::Duration::seconds(seconds)))
        }
        DefaultValue::CurrentDate => Value::String(now.format("%Y-%m-%d").to_string()),
        DefaultValue::Text(text) => Value::String(text.to_owned()),
        DefaultValue::Int(n) => Value::from(n),
        DefaultValue::Real(f) => Value::from(f),
        DefaultValue::Bool(b) => Value::Bool(b),
        DefaultValue::Json(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        DefaultValue::EmptyArray => Value::Array(vec![]),
    }
}

/// Applies defaults and validates a new row; unknown fields are refused.
pub fn prepare_new(table: &Table, input: Row, now: DateTime<Utc>) -> Result<Row, RowError> {
    if let Some(unknown) = input.keys().find(|k| table.column(k).is_none()) {
        return Err(RowError::UnknownField(unknown.clone()));
    }
    let mut input = input;
    let mut row = Row::with_capacity(table.columns.len() + 1);
    for column in table.columns {
        let value = match input.remove(column.name) {
            Some(value) => coerce(column, value)?,
            None => default_value(column, now),
        };
        if value.is_null() && (column.not_null || column.primary_key) {
            return Err(invalid(column.name, "is required"));
        }
        row.insert(column.name.to_owned(), value);
    }
    if table.primary_key().is_none() {
        row.insert(
            ROWID.to_owned(),
            Value::String(uuid::Uuid::new_v4().to_string()),
        );
    }
    Ok(row)
}
