//! PostgREST filters: `column=[not.]op.value` query parameters and the `or=(…)` / `and=(…)`
//! trees, parsed into a [`Condition`], rendered back, and evaluated against a row with SQL's
//! three-valued logic (a comparison with NULL is neither true nor false, and so is its `not`).

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::ParseError;

/// `->` (the JSON value) or `->>` (its text) in a column path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrow {
    Json,
    Text,
}

/// A column, or a path into a JSON column (`custom_fields->>tier`, `data->a->0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPath {
    pub column: String,
    pub path: Vec<(Arrow, String)>,
}

impl ColumnPath {
    pub fn plain(column: &str) -> Self {
        Self {
            column: column.to_owned(),
            path: Vec::new(),
        }
    }

    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut rest = text;
        let end = rest.find("->").unwrap_or(rest.len());
        let column = &rest[..end];
        if !is_identifier(column) {
            return Err(ParseError::new(format!("\"{text}\" is not a column")));
        }
        rest = &rest[end..];
        let mut path = Vec::new();
        while !rest.is_empty() {
            let (arrow, after) = if let Some(after) = rest.strip_prefix("->>") {
                (Arrow::Text, after)
            } else if let Some(after) = rest.strip_prefix("->") {
                (Arrow::Json, after)
            } else {
                return Err(ParseError::new(format!("\"{text}\" is not a column path")));
            };
            let end = after.find("->").unwrap_or(after.len());
            let key = &after[..end];
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                return Err(ParseError::new(format!("\"{text}\" is not a column path")));
            }
            path.push((arrow, key.to_owned()));
            rest = &after[end..];
        }
        Ok(Self {
            column: column.to_owned(),
            path,
        })
    }

    pub fn render(&self) -> String {
        let mut out = self.column.clone();
        for (arrow, key) in &self.path {
            out.push_str(match arrow {
                Arrow::Json => "->",
                Arrow::Text => "->>",
            });
            out.push_str(key);
        }
        out
    }

    /// The value at this path in a row (`None` for SQL NULL).
    pub fn value_in(&self, row: &Map<String, Value>) -> Option<Value> {
        let mut value = row.get(&self.column)?.clone();
        for (arrow, key) in &self.path {
            let next = match &value {
                Value::Object(map) => map.get(key).cloned(),
                Value::Array(items) => key
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i).cloned()),
                _ => None,
            }?;
            value = match (arrow, next) {
                (Arrow::Text, Value::String(text)) => Value::String(text),
                (Arrow::Text, Value::Null) => Value::Null,
                (Arrow::Text, other) => Value::String(other.to_string()),
                (Arrow::Json, other) => other,
            };
        }
        (!value.is_null()).then_some(value)
    }

    /// The path's name as PostgREST names the output field (the last key, else the column).
    pub fn output_name(&self) -> &str {
        self.path
            .last()
            .map_or(self.column.as_str(), |(_, key)| key)
    }
}

pub(super) fn is_identifier(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    Ilike,
    Is,
    In,
    /// Contains (`@>`): arrays and JSON.
    Cs,
    /// Contained by (`<@`).
    Cd,
    /// Overlaps (`&&`).
    Ov,
}

impl Operator {
    pub const ALL: [Operator; 13] = [
        Operator::Eq,
        Operator::Neq,
        Operator::Gt,
        Operator::Gte,
        Operator::Lt,
        Operator::Lte,
        Operator::Like,
        Operator::Ilike,
        Operator::Is,
        Operator::In,
        Operator::Cs,
        Operator::Cd,
        Operator::Ov,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Neq => "neq",
            Operator::Gt => "gt",
            Operator::Gte => "gte",
            Operator::Lt => "lt",
            Operator::Lte => "lte",
            Operator::Like => "like",
            Operator::Ilike => "ilike",
            Operator::Is => "is",
            Operator::In => "in",
            Operator::Cs => "cs",
            Operator::Cd => "cd",
            Operator::Ov => "ov",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// What an operator compares with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Text(String),
    /// `in.(a,b)`, `cs.{a,b}`.
    List(Vec<String>),
    /// `is.null|true|false|unknown`.
    Is(IsValue),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsValue {
    Null,
    True,
    False,
    Unknown,
}

/// A filter tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Compare {
        column: ColumnPath,
        negated: bool,
        op: Operator,
        operand: Operand,
    },
    And {
        negated: bool,
        all: Vec<Condition>,
    },
    Or {
        negated: bool,
        any: Vec<Condition>,
    },
}

/// Splits `text` at top-level commas (outside parentheses, braces and double quotes).
fn split_top(text: &str) -> Result<Vec<String>, ParseError> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut escaped = false;
    for c in text.chars() {
        if quoted {
            current.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                current.push(c);
            }
            '(' | '{' | '[' => {
                depth += 1;
                current.push(c);
            }
            ')' | '}' | ']' => {
                depth -= 1;
                if depth < 0 {
                    return Err(ParseError::new(format!(
                        "unbalanced brackets in \"{text}\""
                    )));
                }
                current.push(c);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if quoted || depth != 0 {
        return Err(ParseError::new(format!(
            "unbalanced quotes or brackets in \"{text}\""
        )));
    }
    parts.push(current);
    Ok(parts)
}

/// A value as written inside a list or a logic tree: `"…"` unquoted (with `\"` and `\\`).
fn unquote(text: &str) -> String {
    let Some(inner) = text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|_| text.len() >= 2)
    else {
        return text.to_owned();
    };
    let mut out = String::new();
    let mut escaped = false;
    for c in inner.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// A value quoted where a list or a tree needs it.
fn quote(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.chars().any(|c| {
            matches!(
                c,
                ',' | '.' | ':' | '(' | ')' | '{' | '}' | '[' | ']' | '"' | '\\' | ' '
            )
        });
    if plain {
        return text.to_owned();
    }
    let mut out = String::from('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn parse_list(text: &str, open: char, close: char) -> Result<Vec<String>, ParseError> {
    let inner = text
        .strip_prefix(open)
        .and_then(|rest| rest.strip_suffix(close))
        .ok_or_else(|| ParseError::new(format!("\"{text}\" must be written {open}a,b{close}")))?;
    if inner.is_empty() {
        return Ok(Vec::new());
    }
    Ok(split_top(inner)?.iter().map(|v| unquote(v)).collect())
}

/// `[not.]op.value` for `column`; `in_tree` values may be quoted.
fn parse_comparison(column: &str, text: &str, in_tree: bool) -> Result<Condition, ParseError> {
    let column = ColumnPath::parse(column)?;
    let (negated, text) = match text.strip_prefix("not.") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (name, value) = text
        .split_once('.')
        .ok_or_else(|| ParseError::new(format!("\"{text}\" is not an operator and a value")))?;
    let op = Operator::from_name(name)
        .ok_or_else(|| ParseError::new(format!("unknown or unsupported operator \"{name}\"")))?;
    let operand = match op {
        Operator::Is => Operand::Is(match value.to_ascii_lowercase().as_str() {
            "null" => IsValue::Null,
            "true" => IsValue::True,
            "false" => IsValue::False,
            "unknown" => IsValue::Unknown,
            _ => {
                return Err(ParseError::new(format!(
                    "is.{value}: expected null, true, false or unknown"
                )));
            }
        }),
        Operator::In => Operand::List(parse_list(value, '(', ')')?),
        // `{a,b}` is an array literal; `{"k":1}` / `[…]` JSON (jsonb containment).
        Operator::Cs | Operator::Cd | Operator::Ov
            if value.starts_with('{') && serde_json::from_str::<Value>(value).is_err() =>
        {
            Operand::List(parse_list(value, '{', '}')?)
        }
        _ if in_tree => Operand::Text(unquote(value)),
        _ => Operand::Text(value.to_owned()),
    };
    Ok(Condition::Compare {
        column,
        negated,
        op,
        operand,
    })
}

/// `(a.eq.1,and(b.gt.2,c.is.null))`.
fn parse_tree(text: &str) -> Result<Vec<Condition>, ParseError> {
    let inner = text
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(|| ParseError::new(format!("\"{text}\" must be written (cond,cond,…)")))?;
    let mut conditions = Vec::new();
    for part in split_top(inner)? {
        conditions.push(parse_tree_item(&part)?);
    }
    if conditions.is_empty() {
        return Err(ParseError::new("an empty logic tree".to_owned()));
    }
    Ok(conditions)
}

fn parse_tree_item(part: &str) -> Result<Condition, ParseError> {
    let (negated, rest) = match part.strip_prefix("not.") {
        Some(rest) => (true, rest),
        None => (false, part),
    };
    if let Some(tree) = rest.strip_prefix("and").filter(|t| t.starts_with('(')) {
        return Ok(Condition::And {
            negated,
            all: parse_tree(tree)?,
        });
    }
    if let Some(tree) = rest.strip_prefix("or").filter(|t| t.starts_with('(')) {
        return Ok(Condition::Or {
            negated,
            any: parse_tree(tree)?,
        });
    }
    let (column, comparison) = part
        .split_once('.')
        .ok_or_else(|| ParseError::new(format!("\"{part}\" is not a filter")))?;
    parse_comparison(column, comparison, true)
}

impl Condition {
    /// One query parameter: `column=[not.]op.value`, or `or` / `and` / `not.or` / `not.and`
    /// with a tree.
    pub fn parse_param(key: &str, value: &str) -> Result<Self, ParseError> {
        match key {
            "or" | "not.or" => Ok(Condition::Or {
                negated: key == "not.or",
                any: parse_tree(value)?,
            }),
            "and" | "not.and" => Ok(Condition::And {
                negated: key == "not.and",
                all: parse_tree(value)?,
            }),
            column => parse_comparison(column, value, false),
        }
    }

    fn render_operand(op: Operator, operand: &Operand, in_tree: bool) -> String {
        match operand {
            Operand::Text(text) if in_tree => quote(text),
            Operand::Text(text) => text.clone(),
            Operand::List(items) => {
                let (open, close) = if op == Operator::In {
                    ('(', ')')
                } else {
                    ('{', '}')
                };
                let items: Vec<String> = items.iter().map(|i| quote(i)).collect();
                format!("{open}{}{close}", items.join(","))
            }
            Operand::Is(value) => match value {
                IsValue::Null => "null",
                IsValue::True => "true",
                IsValue::False => "false",
                IsValue::Unknown => "unknown",
            }
            .to_owned(),
        }
    }

    fn render_item(&self) -> String {
        match self {
            Condition::Compare {
                column,
                negated,
                op,
                operand,
            } => format!(
                "{}.{}{}.{}",
                column.render(),
                if *negated { "not." } else { "" },
                op.name(),
                Self::render_operand(*op, operand, true)
            ),
            Condition::And { negated, all } => format!(
                "{}and({})",
                if *negated { "not." } else { "" },
                all.iter()
                    .map(Self::render_item)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Condition::Or { negated, any } => format!(
                "{}or({})",
                if *negated { "not." } else { "" },
                any.iter()
                    .map(Self::render_item)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    /// The query parameter this condition is written as (the inverse of [`parse_param`]).
    pub fn render_param(&self) -> (String, String) {
        match self {
            Condition::Compare {
                column,
                negated,
                op,
                operand,
            } => (
                column.render(),
                format!(
                    "{}{}.{}",
                    if *negated { "not." } else { "" },
                    op.name(),
                    Self::render_operand(*op, operand, false)
                ),
            ),
            Condition::And { negated, all } => (
                if *negated { "not.and" } else { "and" }.to_owned(),
                format!(
                    "({})",
                    all.iter()
                        .map(Self::render_item)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ),
            Condition::Or { negated, any } => (
                if *negated { "not.or" } else { "or" }.to_owned(),
                format!(
                    "({})",
                    any.iter()
                        .map(Self::render_item)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ),
        }
    }

    /// Every comparison in the tree.
    pub fn comparisons(&self) -> Vec<(&ColumnPath, Operator, &Operand)> {
        match self {
            Condition::Compare {
                column,
                op,
                operand,
                ..
            } => vec![(column, *op, operand)],
            Condition::And { all: items, .. } | Condition::Or { any: items, .. } => {
                items.iter().flat_map(Condition::comparisons).collect()
            }
        }
    }

    /// SQL's answer for a row: `Some(true)`, `Some(false)`, or `None` (unknown).
    pub fn eval(&self, row: &Map<String, Value>) -> Option<bool> {
        let (negated, answer) = match self {
            Condition::Compare {
                column,
                negated,
                op,
                operand,
            } => (
                *negated,
                compare(column.value_in(row).as_ref(), *op, operand),
            ),
            Condition::And { negated, all } => (*negated, combine(all, row, false)),
            Condition::Or { negated, any } => (*negated, combine(any, row, true)),
        };
        if negated { answer.map(|b| !b) } else { answer }
    }

    pub fn matches(&self, row: &Map<String, Value>) -> bool {
        self.eval(row) == Some(true)
    }
}

/// A timestamp or a date, for comparing `2026-12-01` with `2026-12-01T08:30:00.000000Z`.
fn instant(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&chrono::Utc));
    }
    if let Ok(at) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(at.and_utc());
    }
    if let Ok(at) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f") {
        return Some(at.and_utc());
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// A stored value against a literal, as Postgres orders the column's type.
pub fn order_with(value: &Value, literal: &str) -> Option<Ordering> {
    match value {
        Value::Number(number) => {
            let literal: f64 = literal.trim().parse().ok()?;
            number.as_f64()?.partial_cmp(&literal)
        }
        Value::Bool(flag) => {
            let literal = match literal.to_ascii_lowercase().as_str() {
                "true" | "t" => true,
                "false" | "f" => false,
                _ => return None,
            };
            Some(flag.cmp(&literal))
        }
        Value::String(text) => match (instant(text), instant(literal)) {
            (Some(a), Some(b)) if text.len() >= 10 && literal.len() >= 10 => Some(a.cmp(&b)),
            _ => Some(text.as_str().cmp(literal)),
        },
        Value::Null => None,
        other => {
            let literal: Value = serde_json::from_str(literal).ok()?;
            (other == &literal).then_some(Ordering::Equal)
        }
    }
}

/// Two stored values, for `order=`: numbers as numbers, text as text (timestamps sort as
/// stored), `None` for NULL.
pub fn order_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => match (instant(x), instant(y)) {
            (Some(p), Some(q)) => p.cmp(&q),
            _ => x.cmp(y),
        },
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// SQL LIKE with `%` / `*` for any run and `_` for one character.
fn like(text: &str, pattern: &str, fold: bool) -> bool {
    let fold_text = |s: &str| if fold { s.to_lowercase() } else { s.to_owned() };
    let text: Vec<char> = fold_text(text).chars().collect();
    let pattern: Vec<char> = fold_text(pattern)
        .chars()
        .map(|c| if c == '*' { '%' } else { c })
        .collect();
    // Iterative matching with backtracking to the last `%`: linear-ish, never recursive.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('%') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == '_' || *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|c| *c == '%')
}

/// The elements of a stored array (or JSON) as text, for `cs` / `cd` / `ov` with `{a,b}`.
fn element_texts(value: &Value) -> Option<Vec<String>> {
    Some(
        value
            .as_array()?
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
    )
}

/// JSON containment (`@>`) as jsonb defines it.
fn json_contains(container: &Value, contained: &Value) -> bool {
    match (container, contained) {
        (Value::Object(a), Value::Object(b)) => b
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|x| json_contains(x, v))),
        (Value::Array(a), Value::Array(b)) => {
            b.iter().all(|v| a.iter().any(|x| json_contains(x, v)))
        }
        (Value::Array(a), scalar) => a.iter().any(|x| x == scalar),
        (a, b) => a == b,
    }
}

fn compare(value: Option<&Value>, op: Operator, operand: &Operand) -> Option<bool> {
    if let Operand::Is(is) = operand {
        return Some(match is {
            IsValue::Null => value.is_none(),
            IsValue::True => value == Some(&Value::Bool(true)),
            IsValue::False => value == Some(&Value::Bool(false)),
            IsValue::Unknown => value.is_none(),
        });
    }
    let value = value?;
    match (op, operand) {
        (Operator::In, Operand::List(items)) => Some(
            items
                .iter()
                .any(|i| order_with(value, i) == Some(Ordering::Equal)),
        ),
        (Operator::Cs | Operator::Cd | Operator::Ov, Operand::List(items)) => {
            let elements = element_texts(value)?;
            Some(match op {
                Operator::Cs => items.iter().all(|i| elements.contains(i)),
                Operator::Cd => elements.iter().all(|e| items.contains(e)),
                _ => items.iter().any(|i| elements.contains(i)),
            })
        }
        (Operator::Cs | Operator::Cd, Operand::Text(text)) => {
            let literal: Value = serde_json::from_str(text).ok()?;
            Some(if op == Operator::Cs {
                json_contains(value, &literal)
            } else {
                json_contains(&literal, value)
            })
        }
        (Operator::Like | Operator::Ilike, Operand::Text(pattern)) => {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some(like(&text, pattern, op == Operator::Ilike))
        }
        (_, Operand::Text(text)) => {
            let ordering = order_with(value, text)?;
            Some(match op {
                Operator::Eq => ordering == Ordering::Equal,
                Operator::Neq => ordering != Ordering::Equal,
                Operator::Gt => ordering == Ordering::Greater,
                Operator::Gte => ordering != Ordering::Less,
                Operator::Lt => ordering == Ordering::Less,
                Operator::Lte => ordering != Ordering::Greater,
                _ => return None,
            })
        }
        _ => None,
    }
}

/// SQL's three-valued AND (`decisive` = false) or OR (`decisive` = true): the first decisive
/// answer wins; otherwise an unknown (NULL) operand makes the whole unknown.
fn combine(items: &[Condition], row: &Map<String, Value>, decisive: bool) -> Option<bool> {
    let mut answer = Some(!decisive);
    for item in items {
        match item.eval(row) {
            Some(value) if value == decisive => return Some(decisive),
            None => answer = None,
            Some(_) => {}
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn filter(key: &str, value: &str) -> Condition {
        Condition::parse_param(key, value).unwrap_or_else(|e| panic!("{key}={value}: {e}"))
    }

    #[test]
    fn comparisons_follow_the_columns_type_and_nulls_are_unknown() {
        let lead = row(
            json!({"score": 70, "status": "New", "company": null, "created_at": "2026-12-01T08:30:00.000000Z", "tags": ["a", "b"], "custom_fields": {"tier": "gold", "seats": 12}}),
        );
        assert!(filter("score", "gte.50").matches(&lead));
        assert!(!filter("score", "gt.70").matches(&lead));
        assert!(filter("score", "in.(1,70)").matches(&lead));
        assert!(filter("status", "ilike.*ne*").matches(&lead));
        assert!(!filter("status", "like.*ne*").matches(&lead));
        assert!(filter("company", "is.null").matches(&lead));
        assert!(!filter("company", "eq.x").matches(&lead));
        assert!(
            !filter("company", "not.eq.x").matches(&lead),
            "NOT of unknown is unknown"
        );
        assert!(filter("company", "not.is.null").eval(&lead) == Some(false));
        assert!(filter("created_at", "gte.2026-12-01").matches(&lead));
        assert!(filter("created_at", "lt.2026-12-01T09:00:00Z").matches(&lead));
        assert!(filter("tags", "cs.{a}").matches(&lead));
        assert!(filter("tags", "cd.{a,b,c}").matches(&lead));
        assert!(!filter("tags", "cs.{c}").matches(&lead));
        assert!(filter("custom_fields", "cs.{\"tier\":\"gold\"}").matches(&lead));
        assert!(filter("custom_fields->>tier", "eq.gold").matches(&lead));
        assert!(filter("custom_fields->seats", "gt.10").matches(&lead));
        assert!(filter("or", "(status.eq.Lost,and(score.gt.60,company.is.null))").matches(&lead));
        assert!(!filter("not.or", "(status.eq.New,score.lt.0)").matches(&lead));
        assert!(filter("status", "in.(\"New\",\"a,b\")").matches(&lead));
    }

    #[test]
    fn malformed_filters_are_errors() {
        for (key, value) in [
            ("score", "gte"),
            ("score", "between.1"),
            ("score", "in.1,2"),
            ("score", "is.maybe"),
            ("or", "status.eq.x"),
            ("or", "(status.eq.x"),
            ("or", "()"),
            ("bad column", "eq.1"),
            ("data->", "eq.1"),
        ] {
            assert!(Condition::parse_param(key, value).is_err(), "{key}={value}");
        }
    }

    #[test]
    fn like_patterns() {
        assert!(like("Ana Lopez", "%ana%", true));
        assert!(like("abc", "a_c", false));
        assert!(like("abc", "%", false));
        assert!(!like("abc", "a", false));
        assert!(like("a%c", "a%c", false));
        assert!(!like("aXXbXXc", "a%b%d", false));
    }
}
