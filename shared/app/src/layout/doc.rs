//! `docs/data-model.md`'s generated part: the layout of every table, rendered from the code
//! and checked against the document by a test.

use super::*;

// ---------------------------------------------------------------------------------------
// Documentation

fn describe_part(part: KeyPart) -> String {
    match part {
        KeyPart::Column(c) => format!("<{c}>"),
        KeyPart::Lower(c) => format!("<lower({c})>"),
        KeyPart::Desc(c) => format!("<{c}>"),
    }
}

fn describe_filter(filter: Option<Filter>) -> String {
    match filter {
        None => String::new(),
        Some(Filter::IsNotNull(c)) => format!(" — only while `{c}` IS NOT NULL (sparse)"),
        Some(Filter::IsNull(c)) => format!(" — only while `{c}` IS NULL (sparse)"),
        Some(Filter::IsTrue(c)) => format!(" — only while `{c}` is true (sparse)"),
        Some(Filter::Equals(c, v)) => format!(" — only while `{c} = '{v}'` (sparse)"),
    }
}

fn describe_index(layout: &TableLayout, index: &IndexLayout) -> String {
    let mut pk = index.name.clone();
    if index.sharded {
        pk.push_str(&format!("#<shard 0..{}>", DUE_SHARDS - 1));
    }
    if index.owner_prefixed {
        pk.push_str(&format!(
            "#<{}>",
            owner_column(layout.table).unwrap_or("owner")
        ));
    }
    for part in &index.equality {
        pk.push('#');
        pk.push_str(&describe_part(*part));
    }
    let id = layout.table.primary_key().map(|c| c.name).unwrap_or(ROWID);
    let sk = match index.range {
        Some(part) => format!("{}#<{id}>", describe_part(part)),
        None => format!("<{id}>"),
    };
    let origin = if index.from_seed {
        "seed index"
    } else if index.name.starts_with("fk_") {
        "foreign-key path for ON DELETE"
    } else if index.null_range_last {
        "a frequent filter of the PostgREST dialect"
    } else {
        "all rows of a shared table"
    };
    let order = match index.range {
        Some(KeyPart::Desc(_)) => ", read backward for DESC",
        Some(_) if index.null_range_last => ", NULL as `~` (after every value)",
        _ => "",
    };
    format!(
        "| `{}` ({origin}) | {} | `{pk}` | `{sk}`{order}{} |",
        index.name,
        index.gsi.name(),
        describe_filter(index.filter)
    )
}

/// The generated part of `docs/data-model.md`: every table's keys, indexes, uniqueness
/// items and ON DELETE handling, straight from the layout.
pub fn render_markdown() -> String {
    let mut out = String::new();
    for layout in layouts() {
        let table = layout.table;
        let id = table.primary_key().map(|c| c.name).unwrap_or(ROWID);
        out.push_str(&format!("### `{}` ({})\n\n", table.name, table.section));
        let item = match table.scope {
            Scope::Owner(column)
                if table
                    .column(column)
                    .is_some_and(|c| c.not_null || c.primary_key) =>
            {
                format!(
                    "`PK = U#<{column}>`, `SK = {}#<{id}>` — in its owner's partition",
                    table.name
                )
            }
            Scope::Owner(column) => format!(
                "`PK = U#<{column}>`, `SK = {}#<{id}>` — in its owner's partition; rows whose `{column}` is NULL are shared: `PK = R#{}#<{id}>`, `SK = R`",
                table.name, table.name
            ),
            Scope::OwnerOf(fk) => format!(
                "`PK = U#<owner of {fk}>`, `SK = {}#<{id}>` — in the partition of its parent's owner (`_owner` names it)",
                table.name
            ),
            Scope::Shared => format!("`PK = R#{}#<{id}>`, `SK = R` — addressed by id", table.name),
        };
        out.push_str(&format!("- Item: {item}.\n"));
        if table.primary_key().is_none() {
            out.push_str("- The seed gives no primary key: a surrogate `_rowid` (UUID) identifies each row.\n");
        }
        let own_listing = match table.scope {
            Scope::Owner(c) => format!(
                "Query `PK = U#<{c}>`, `begins_with(SK, \"{}#\")`",
                table.name
            ),
            Scope::OwnerOf(_) => format!(
                "Query `PK = U#<owner>`, `begins_with(SK, \"{}#\")`",
                table.name
            ),
            Scope::Shared => format!("Query GSI4 `all_{}`", table.name),
        };
        out.push_str(&format!(
            "- Get by id: GetItem (strongly consistent). List: {own_listing}.\n"
        ));
        if !layout.indexes.is_empty() {
            out.push_str(
                "\n| access pattern | GSI | partition key | sort key |\n|---|---|---|---|\n",
            );
            for index in &layout.indexes {
                out.push_str(&describe_index(layout, index));
                out.push('\n');
            }
            out.push('\n');
        }
        for (name, how) in &layout.served_otherwise {
            out.push_str(&format!("- `{name}` is served by {how}.\n"));
        }
        for unique in table.uniques {
            let parts: Vec<String> = unique.parts.iter().map(|p| describe_part(*p)).collect();
            out.push_str(&format!(
                "- Uniqueness item `{}`: `PK = UQ#{}#{}`, `SK = UQ`{}, written with the row in one transaction (`attribute_not_exists`).\n",
                unique.name,
                unique.name,
                parts.join("#"),
                describe_filter(unique.filter)
            ));
        }
        for fk in table.foreign_keys {
            let action = match fk.on_delete {
                OnDelete::Cascade => "CASCADE: deleted (with its own dependants) before the parent",
                OnDelete::SetNull => {
                    "SET NULL: the column is cleared (conditional put) before the parent goes"
                }
                OnDelete::NoAction => "no action: the id is kept; a dangling id reads as gone",
            };
            let target = if fk.table == schema::AUTH_USERS {
                "the user (auth.users)".to_owned()
            } else {
                format!("`{}`", fk.table)
            };
            out.push_str(&format!("- `{}` → {target}: {action}.\n", fk.column));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod doc_tests {
    const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/data-model.md");
    const BEGIN: &str =
        "<!-- generated:begin (cargo test -p scaliyo-app; SCALIYO_UPDATE_DOCS=1 rewrites it) -->\n";
    const END: &str = "<!-- generated:end -->";

    #[test]
    fn data_model_doc_matches_the_layout() {
        let doc = std::fs::read_to_string(DOC_PATH).expect("docs/data-model.md exists");
        let (Some(start), Some(end)) = (doc.find(BEGIN), doc.find(END)) else {
            panic!("docs/data-model.md lacks the generated markers");
        };
        let generated = super::render_markdown();
        let current = &doc[start + BEGIN.len()..end];
        if current != generated {
            if std::env::var("SCALIYO_UPDATE_DOCS").as_deref() == Ok("1") {
                let updated = format!("{}{BEGIN}{generated}{}", &doc[..start], &doc[end..]);
                std::fs::write(DOC_PATH, updated).expect("rewrite docs/data-model.md");
            } else {
                panic!(
                    "docs/data-model.md is out of date: run SCALIYO_UPDATE_DOCS=1 cargo test -p scaliyo-app"
                );
            }
        }
    }
}
