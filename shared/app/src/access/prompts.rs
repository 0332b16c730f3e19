//! Prompt history: every change to what a `user_prompts` row tells the model (its system
//! instruction, template, temperature or top_p) bumps `version` and keeps the previous state
//! in `user_prompt_versions`, in the same transaction; a version can be restored; and a user's
//! first edit of a default prompt makes their own copy instead of touching the default.

use super::*;

/// The columns whose change makes a new version.
const VERSIONED: [&str; 4] = [
    "system_instruction",
    "prompt_template",
    "temperature",
    "top_p",
];
/// A change note's longest accepted length.
const MAX_NOTE_CHARS: usize = 1_000;

/// The previous state of a prompt, as `user_prompt_versions` keeps it.
#[derive(serde::Serialize)]
struct VersionRow<'a> {
    prompt_id: &'a str,
    owner_id: &'a Value,
    version: i64,
    system_instruction: &'a Value,
    prompt_template: &'a Value,
    temperature: &'a Value,
    top_p: &'a Value,
    change_note: Option<&'a str>,
}

fn field<'a>(row: &'a Row, column: &str) -> &'a Value {
    crate::rows::field(row, column)
}

impl Access {
    /// Takes `change_note` out of a `user_prompts` patch (it describes the change; it is not
    /// a column of the prompt).
    pub(super) fn take_change_note(
        table: &Table,
        patch: &mut Row,
    ) -> Result<Option<String>, AccessError> {
        if table.name != "user_prompts" {
            return Ok(None);
        }
        match patch.remove("change_note") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(note)) if note.chars().count() <= MAX_NOTE_CHARS => Ok(Some(note)),
            Some(_) => Err(RowError::Invalid {
                column: "change_note".into(),
                reason: format!("must be text of at most {MAX_NOTE_CHARS} characters"),
            }
            .into()),
        }
    }

    /// For a change of a versioned column: the patch with the next `version`, and the
    /// previous state's `user_prompt_versions` row as extra actions.
    pub(super) fn prompt_history(
        &self,
        table: &Table,
        id: &str,
        current: &Row,
        mut patch: Row,
        note: Option<&str>,
    ) -> Result<(Row, Vec<Extra>), AccessError> {
        let changes = VERSIONED.iter().any(|column| {
            patch
                .get(*column)
                .is_some_and(|v| field(current, column) != v)
        });
        if table.name != "user_prompts" || !changes {
            return Ok((patch, Vec::new()));
        }
        let version = field(current, "version").as_i64().unwrap_or(1);
        patch.insert("version".into(), json!(version + 1));
        // Versions live in the prompt owner's partition; a default prompt (no owner, edited
        // by an admin) counts its versions without keeping them.
        let Some(owner) = field(current, "owner_id").as_str() else {
            return Ok((patch, Vec::new()));
        };
        let previous = crate::rows::to_row(&VersionRow {
            prompt_id: id,
            owner_id: field(current, "owner_id"),
            version,
            system_instruction: field(current, "system_instruction"),
            prompt_template: field(current, "prompt_template"),
            temperature: field(current, "temperature"),
            top_p: field(current, "top_p"),
            change_note: note,
        })?;
        let versions = &schema::USER_PROMPT_VERSIONS;
        let previous = self.rows.prepare(versions, previous)?;
        // The prompt is written in this transaction: no separate check of it.
        let extra = self
            .rows
            .insert_ops(versions, Some(owner), &previous, false)?
            .into_iter()
            .map(|op| Extra {
                op,
                on_failure: RowError::Concurrent,
            })
            .collect();
        Ok((patch, extra))
    }

    /// A user's edit of a default prompt: their own active copy with the edit, the default
    /// untouched. `None` when `current` is not a default or the actor may edit it (an admin).
    pub(super) async fn copy_default_prompt(
        &self,
        actor: &Actor,
        table: &Table,
        current: &Row,
        patch: &Row,
    ) -> Result<Option<Row>, AccessError> {
        let is_default = table.name == "user_prompts"
            && field(current, "is_default") == &Value::Bool(true)
            && field(current, "owner_id").is_null();
        if !is_default || actor.is_admin {
            return Ok(None);
        }
        let mut copy = Row::new();
        for column in [
            "prompt_key",
            "category",
            "display_name",
            "description",
            "system_instruction",
            "prompt_template",
            "temperature",
            "top_p",
        ] {
            copy.insert(column.into(), field(current, column).clone());
        }
        for (column, value) in patch {
            if matches!(
                column.as_str(),
                "id" | "owner_id" | "is_default" | "version"
            ) {
                continue;
            }
            copy.insert(column.clone(), value.clone());
        }
        copy.insert("is_default".into(), json!(false));
        Ok(Some(self.create(actor, "user_prompts", copy).await?))
    }

    /// `POST /v1/user_prompts/{id}/restore {version}`: the prompt as it was at `version`,
    /// itself a change (so the state it replaces is kept too).
    pub async fn restore_prompt(
        &self,
        actor: &Actor,
        id: &str,
        version: i64,
    ) -> Result<Row, AccessError> {
        let prompt = self.get(actor, "user_prompts", id).await?;
        let owner = field(&prompt, "owner_id").as_str().map(str::to_owned);
        let mut cursor = None;
        loop {
            let page = self
                .rows
                .list(
                    &schema::USER_PROMPT_VERSIONS,
                    owner.as_deref(),
                    ListRequest {
                        index: Some("idx_user_prompt_versions_prompt".into()),
                        equals: vec![id.to_owned()],
                        limit: 100,
                        cursor,
                        ..Default::default()
                    },
                )
                .await?;
            if let Some(found) = page
                .rows
                .iter()
                .find(|row| field(row, "version").as_i64() == Some(version))
            {
                let mut patch = Row::new();
                for column in VERSIONED {
                    patch.insert(column.into(), field(found, column).clone());
                }
                patch.insert(
                    "change_note".into(),
                    json!(format!("restored version {version}")),
                );
                return self.update(actor, "user_prompts", id, patch).await;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Err(RowError::Invalid {
            column: "version".into(),
            reason: format!("the prompt has no version {version}"),
        }
        .into())
    }
}
