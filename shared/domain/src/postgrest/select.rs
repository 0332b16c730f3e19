//! `select=`: the columns (`name`, `alias:name`, `data->>tier`, casts ignored), `*`, and
//! embedded resources along foreign keys (`scheduled_emails(count)`,
//! `lead:leads!inner(name,company)`).

use super::ParseError;
use super::filter::{ColumnPath, is_identifier};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectItem {
    Star,
    Column {
        alias: Option<String>,
        path: ColumnPath,
    },
    /// `count` inside an embed: the number of related rows.
    Count,
    Embed(Embed),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embed {
    /// The name it appears under (the alias, else the table).
    pub alias: Option<String>,
    pub table: String,
    /// `!column_or_constraint` naming which foreign key, where there are several.
    pub hint: Option<String>,
    /// `!inner`: parents without a related row are left out.
    pub inner: bool,
    pub select: Vec<SelectItem>,
}

impl Embed {
    pub fn name(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.table)
    }
}

/// Splits at top-level commas (outside parentheses).
fn split_items(text: &str) -> Result<Vec<&str>, ParseError> {
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(ParseError::new(format!(
                        "unbalanced parentheses in select \"{text}\""
                    )));
                }
            }
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(ParseError::new(format!(
            "unbalanced parentheses in select \"{text}\""
        )));
    }
    items.push(&text[start..]);
    Ok(items)
}

pub fn parse_select(text: &str) -> Result<Vec<SelectItem>, ParseError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(vec![SelectItem::Star]);
    }
    let mut items = Vec::new();
    for item in split_items(text)? {
        items.push(parse_item(item.trim())?);
    }
    Ok(items)
}

fn parse_item(item: &str) -> Result<SelectItem, ParseError> {
    if item == "*" {
        return Ok(SelectItem::Star);
    }
    if item == "count" || item == "count()" {
        return Ok(SelectItem::Count);
    }
    // An embed: `[alias:]table[!hint][!inner](…)`.
    if let Some(open) = item.find('(') {
        let inner = item[open..]
            .strip_prefix('(')
            .and_then(|rest| rest.strip_suffix(')'))
            .ok_or_else(|| ParseError::new(format!("\"{item}\" is not an embedded resource")))?;
        let head = &item[..open];
        let (alias, head) = match head.split_once(':') {
            Some((alias, rest)) => (Some(alias.to_owned()), rest),
            None => (None, head),
        };
        let mut parts = head.split('!');
        let table = parts.next().unwrap_or_default().to_owned();
        let mut hint = None;
        let mut inner_join = false;
        for part in parts {
            match part {
                "inner" => inner_join = true,
                "left" => {}
                other if is_identifier(other) => hint = Some(other.to_owned()),
                other => {
                    return Err(ParseError::new(format!(
                        "\"{other}\" is not an embedding hint"
                    )));
                }
            }
        }
        if !is_identifier(&table) || alias.as_deref().is_some_and(|a| !is_identifier(a)) {
            return Err(ParseError::new(format!(
                "\"{item}\" is not an embedded resource"
            )));
        }
        return Ok(SelectItem::Embed(Embed {
            alias,
            table,
            hint,
            inner: inner_join,
            select: parse_select(inner)?,
        }));
    }
    let (alias, column) = match item
        .split_once(':')
        .filter(|(_, rest)| !rest.starts_with(':'))
    {
        Some((alias, rest)) if is_identifier(alias) => (Some(alias.to_owned()), rest),
        _ => (None, item),
    };
    // A cast (`score::text`) is accepted and ignored: values keep their JSON type.
    let column = column.split("::").next().unwrap_or_default();
    Ok(SelectItem::Column {
        alias,
        path: ColumnPath::parse(column)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_aliases_and_embeds() {
        let items = parse_select("id,full:name,custom_fields->>tier,score::text,lead:leads!inner(name,company),scheduled_emails(count)")
            .expect("parses");
        assert_eq!(items.len(), 6);
        assert!(
            matches!(&items[1], SelectItem::Column { alias: Some(a), path } if a == "full" && path.column == "name")
        );
        assert!(
            matches!(&items[2], SelectItem::Column { path, .. } if path.output_name() == "tier")
        );
        match &items[4] {
            SelectItem::Embed(embed) => {
                assert_eq!(embed.name(), "lead");
                assert!(embed.inner);
                assert_eq!(embed.select.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&items[5], SelectItem::Embed(e) if e.select == vec![SelectItem::Count]));
        assert_eq!(parse_select("").expect("empty"), vec![SelectItem::Star]);
        for bad in ["a,(", "leads(name", "x y", "a:b c", "t!bad hint(x)"] {
            assert!(parse_select(bad).is_err(), "{bad}");
        }
    }
}
