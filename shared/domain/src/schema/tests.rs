//! The declaration must agree with the seed document (`docs/schema.md`), column by column.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use super::*;

const SEED: &str = include_str!("../../../../docs/schema.md");

/// One table as the seed document states it.
#[derive(Debug, Default)]
struct DocTable {
    columns: Vec<DocColumn>,
    uniques: Vec<Vec<String>>,
    indexes: Vec<String>,
}

#[derive(Debug)]
struct DocColumn {
    name: String,
    ty: String,
    default: String,
    constraints: String,
}

fn parse_seed() -> BTreeMap<String, DocTable> {
    let heading = Regex::new(r"^#### `([a-z_]+)`$").unwrap();
    let unique = Regex::new(r"UNIQUE\(([^)]*)\)").unwrap();
    let code = Regex::new(r"`([^`]*)`").unwrap();
    let mut tables: BTreeMap<String, DocTable> = BTreeMap::new();
    let mut current: Option<String> = None;
    let lines: Vec<&str> = SEED.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("## 2.") {
            break;
        }
        if let Some(m) = heading.captures(line) {
            current = Some(m[1].to_owned());
            tables.entry(m[1].to_owned()).or_default();
            continue;
        }
        let Some(table) = current.as_ref().and_then(|name| tables.get_mut(name)) else {
            continue;
        };
        if line.starts_with("| `") {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            table.columns.push(DocColumn {
                name: cells[0].trim_matches('`').to_owned(),
                ty: cells[1].to_owned(),
                default: cells[2].to_owned(),
                constraints: cells[3].to_owned(),
            });
        } else if line.starts_with("**Constraints:**") {
            for m in unique.captures_iter(line) {
                table.uniques.push(
                    m[1].split(',')
                        .map(|c| c.trim().trim_matches('`').to_owned())
                        .collect(),
                );
            }
        } else if let Some(rest) = line.strip_prefix("**Indexes:**") {
            let mut texts: Vec<String> =
                code.captures_iter(rest).map(|m| m[1].to_owned()).collect();
            for next in &lines[i + 1..] {
                if !next.starts_with("- ") {
                    break;
                }
                texts.extend(code.captures_iter(next).map(|m| m[1].to_owned()));
            }
            table.indexes.extend(
                texts
                    .iter()
                    .map(|t| t.split('(').next().unwrap_or(t).to_owned()),
            );
        }
    }
    tables
}

/// The seed's default text, read as the declaration's value for a column of type `ty`.
fn doc_default(text: &str, ty: ColumnType) -> DefaultValue {
    let text = text.trim().trim_matches('`');
    let interval = Regex::new(r"^now\(\) \+ interval '(\d+) (hours|days)'$").unwrap();
    match text {
        "—" | "" => DefaultValue::None,
        "gen_random_uuid()" => DefaultValue::RandomUuid,
        "now()" => DefaultValue::Now,
        "CURRENT_DATE" => DefaultValue::CurrentDate,
        "NULL" => DefaultValue::Null,
        "true" => DefaultValue::Bool(true),
        "false" => DefaultValue::Bool(false),
        _ => {
            if let Some(m) = interval.captures(text) {
                let n: i64 = m[1].parse().unwrap();
                return DefaultValue::NowPlusSeconds(if &m[2] == "hours" {
                    n * 3600
                } else {
                    n * 86_400
                });
            }
            if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
                return match ty {
                    ColumnType::TextArray if inner == "{}" => DefaultValue::EmptyArray,
                    // The declaration keeps JSON literals as text; compare them as text.
                    ColumnType::Jsonb => {
                        DefaultValue::Json(Box::leak(inner.to_owned().into_boxed_str()))
                    }
                    _ => DefaultValue::Text(Box::leak(inner.to_owned().into_boxed_str())),
                };
            }
            match ty {
                ColumnType::Real => DefaultValue::Real(text.parse().unwrap()),
                _ => DefaultValue::Int(text.parse().unwrap_or_else(|_| panic!("default {text:?}"))),
            }
        }
    }
}

fn doc_check(constraints: &str) -> Check {
    let values = Regex::new(r"(?:Values:|CHECK IN \()(.*)").unwrap();
    let code = Regex::new(r"`([^`]*)`").unwrap();
    let range = Regex::new(r"(?:^|CHECK )(\d+)-(\d+)").unwrap();
    if let Some(m) = values.captures(constraints) {
        let listed: Vec<&'static str> = code
            .captures_iter(&m[1])
            .map(|c| &*Box::leak(c[1].to_owned().into_boxed_str()))
            .collect();
        return Check::OneOf(Box::leak(listed.into_boxed_slice()));
    }
    if let Some(m) = range.captures(constraints) {
        return Check::Range {
            min: m[1].parse().unwrap(),
            max: m[2].parse().unwrap(),
        };
    }
    Check::None
}

fn doc_foreign_key(column: &str, constraints: &str) -> Option<ForeignKey> {
    let fk =
        Regex::new(r"FK → `([a-z_.]+)\(([a-z_]+)\)`(?: ON DELETE (CASCADE|SET NULL))?").unwrap();
    fk.captures(constraints).map(|m| ForeignKey {
        column: Box::leak(column.to_owned().into_boxed_str()),
        table: Box::leak(m[1].to_owned().into_boxed_str()),
        references: Box::leak(m[2].to_owned().into_boxed_str()),
        on_delete: match m.get(3).map(|a| a.as_str()) {
            Some("CASCADE") => OnDelete::Cascade,
            Some("SET NULL") => OnDelete::SetNull,
            _ => OnDelete::NoAction,
        },
    })
}

#[test]
fn schema_matches_the_seed_document() {
    let seed = parse_seed();
    let mut problems = Vec::new();
    let declared: BTreeSet<&str> = TABLES
        .iter()
        .filter(|t| t.documented)
        .map(|t| t.name)
        .collect();
    let documented: BTreeSet<&str> = seed.keys().map(String::as_str).collect();
    for missing in documented.difference(&declared) {
        problems.push(format!("table {missing} is in the seed but not declared"));
    }
    for extra in declared.difference(&documented) {
        problems.push(format!(
            "table {extra} is declared as documented but not in the seed"
        ));
    }
    let pk = Regex::new(r"\bPK\b").unwrap();
    let unique_word = Regex::new(r"\bUNIQUE\b").unwrap();
    for (name, doc) in &seed {
        let Some(table) = table(name) else { continue };
        let names: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        let doc_names: Vec<&str> = doc.columns.iter().map(|c| c.name.as_str()).collect();
        if names != doc_names {
            problems.push(format!("{name}: columns {names:?} != seed {doc_names:?}"));
            continue;
        }
        for (column, doc) in table.columns.iter().zip(&doc.columns) {
            let at = format!("{name}.{}", column.name);
            if column.ty.sql_name() != doc.ty {
                problems.push(format!(
                    "{at}: type {} != seed {}",
                    column.ty.sql_name(),
                    doc.ty
                ));
            }
            let expected_default = doc_default(&doc.default, column.ty);
            if column.default != expected_default {
                problems.push(format!(
                    "{at}: default {:?} != seed {expected_default:?}",
                    column.default
                ));
            }
            let c = &doc.constraints;
            if column.not_null != c.contains("NOT NULL") {
                problems.push(format!("{at}: NOT NULL {} != seed {c:?}", column.not_null));
            }
            if column.primary_key != pk.is_match(c) {
                problems.push(format!(
                    "{at}: primary key {} != seed {c:?}",
                    column.primary_key
                ));
            }
            if column.unique != unique_word.is_match(c) {
                problems.push(format!("{at}: UNIQUE {} != seed {c:?}", column.unique));
            }
            if column.check != doc_check(c) {
                problems.push(format!(
                    "{at}: check {:?} != seed {:?}",
                    column.check,
                    doc_check(c)
                ));
            }
            if table.foreign_key(column.name).copied() != doc_foreign_key(column.name, c) {
                problems.push(format!(
                    "{at}: foreign key {:?} != seed {:?}",
                    table.foreign_key(column.name),
                    doc_foreign_key(column.name, c)
                ));
            }
            if column.unique
                && !table
                    .uniques
                    .iter()
                    .any(|u| u.parts == [KeyPart::Column(column.name)])
            {
                problems.push(format!(
                    "{at}: UNIQUE column without a uniqueness constraint"
                ));
            }
        }
        for columns in &doc.uniques {
            let found = table.uniques.iter().any(|u| {
                u.filter.is_none()
                    && u.parts
                        .iter()
                        .map(|p| p.column())
                        .eq(columns.iter().map(String::as_str))
            });
            if !found {
                problems.push(format!(
                    "{name}: UNIQUE({}) not declared",
                    columns.join(", ")
                ));
            }
        }
        let declared_indexes: BTreeSet<&str> = table
            .indexes
            .iter()
            .map(|i| i.name)
            .chain(table.uniques.iter().map(|u| u.name))
            .collect();
        for index in &doc.indexes {
            if !declared_indexes.contains(index.as_str()) {
                problems.push(format!("{name}: index {index} not declared"));
            }
        }
        if table.foreign_keys.len()
            != doc
                .columns
                .iter()
                .filter(|c| c.constraints.contains("FK →"))
                .count()
        {
            problems.push(format!("{name}: a declared foreign key is not in the seed"));
        }
    }
    assert!(
        problems.is_empty(),
        "the declaration disagrees with docs/schema.md:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_seed_has_every_section_and_the_designed_tables_exist() {
    assert_eq!(TABLES.iter().filter(|t| t.documented).count(), 56);
    for designed in [
        "teamhub_comments",
        "teamhub_activity",
        "teamhub_card_members",
    ] {
        let table = table(designed).unwrap_or_else(|| panic!("{designed} is not declared"));
        assert!(!table.documented);
        assert!(
            table
                .policy
                .iter()
                .all(|rule| matches!(rule.who, Who::Flow { .. } | Who::Owner(_)))
        );
    }
}

#[test]
fn every_reference_names_a_declared_table_and_column() {
    for table in TABLES {
        for fk in table.foreign_keys {
            assert!(
                table.column(fk.column).is_some(),
                "{}.{} is not a column",
                table.name,
                fk.column
            );
            if fk.table != AUTH_USERS {
                let parent = super::table(fk.table)
                    .unwrap_or_else(|| panic!("{} → {}", table.name, fk.table));
                assert!(parent.column(fk.references).is_some());
            }
        }
        for unique in table.uniques {
            for part in unique.parts {
                assert!(
                    table.column(part.column()).is_some(),
                    "{}: {:?}",
                    table.name,
                    part
                );
            }
        }
        for index in table.indexes {
            for part in index.parts {
                assert!(
                    table.column(part.column()).is_some(),
                    "{}: {:?}",
                    table.name,
                    part
                );
            }
        }
    }
}

#[test]
fn scopes_name_columns_that_can_carry_them() {
    for table in TABLES {
        match table.scope {
            Scope::Owner(column) => {
                assert!(
                    table.column(column).is_some(),
                    "{}: owner column {column}",
                    table.name
                );
                let fk = table.foreign_key(column);
                // A row must not change partitions when its owner goes away.
                assert!(
                    fk.is_none_or(|fk| fk.on_delete != OnDelete::SetNull),
                    "{}: owner column {column} is SET NULL on delete",
                    table.name
                );
            }
            Scope::OwnerOf(column) => {
                let fk = table
                    .foreign_key(column)
                    .unwrap_or_else(|| panic!("{}: {column} is no FK", table.name));
                let parent = super::table(fk.table).unwrap_or_else(|| panic!("{}", fk.table));
                assert!(
                    matches!(parent.scope, Scope::Owner(_)),
                    "{}: parent {} is not owned",
                    table.name,
                    parent.name
                );
                assert!(table.column(column).is_some_and(|c| c.not_null));
            }
            Scope::Shared => {}
        }
    }
}

#[test]
fn secrets_have_no_client_policy_at_all() {
    let secrets = &SENDER_ACCOUNT_SECRETS;
    assert!(secrets.policy.is_empty());
}

#[test]
fn policies_name_existing_columns() {
    for table in TABLES {
        for rule in table.policy {
            let column = match rule.who {
                Who::Owner(c)
                | Who::TeamMember(c)
                | Who::Invitee(c)
                | Who::SuperAdmin(c)
                | Who::Parent(c) => Some(c),
                Who::Flow {
                    via: FlowPath::Column(c) | FlowPath::Card(c),
                    ..
                } => Some(c),
                Who::Public(Some(f)) | Who::Authenticated(Some(f)) => Some(f.column()),
                _ => None,
            };
            if let Some(column) = column {
                assert!(
                    table.column(column).is_some(),
                    "{}: policy names {column}",
                    table.name
                );
            }
        }
    }
}
