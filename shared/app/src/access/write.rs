//! Creating, updating and deleting rows through the policies.

use super::*;

impl Access {
    pub async fn create(
        &self,
        actor: &Actor,
        table_name: &str,
        input: Row,
    ) -> Result<Row, AccessError> {
        self.create_with(actor, table_name, input, None, Vec::new())
            .await
    }

    /// [`Access::create`] on behalf of a system process (the workflow engine): the row's id
    /// is the caller's (derived from what the row is for, so a retry finds it taken), and
    /// the caller's extra actions commit with the row.
    pub(crate) async fn create_with(
        &self,
        actor: &Actor,
        table_name: &str,
        mut input: Row,
        id: Option<String>,
        engine: Vec<Extra>,
    ) -> Result<Row, AccessError> {
        let table = Self::table(table_name)?;
        let owner = actor.owner()?;
        let user = owner.to_string();
        Self::check_client_id(table, &input)?;
        Self::normalise_invitee(table, &mut input);
        if let Some(id) = id {
            input.insert("id".into(), json!(id));
        }
        // A column that an insert rule checks against the caller, and an author column,
        // defaults to the caller.
        for rule in table.policy.iter().filter(|r| r.ops.contains(&Op::Insert)) {
            if let Who::Owner(column) | Who::SuperAdmin(column) = rule.who
                && !input.contains_key(column)
            {
                input.insert(column.to_owned(), json!(user));
            }
        }
        for column in writes::author_columns(table.name) {
            if !input.contains_key(column) {
                input.insert(column.to_owned(), json!(user));
            }
        }
        let supplied = input.clone();
        let row = self.rows.prepare(table, input)?;
        let now = self.clock.now();
        let defaults: Row = table
            .columns
            .iter()
            .map(|c| (c.name.to_owned(), crate::rows::default_value(c, now)))
            .collect();
        Self::check_unsealed_tokens(table, &supplied)?;
        writes::check_insert(
            table.name,
            Self::writer(actor, &user),
            &supplied,
            &row,
            &defaults,
        )?;
        self.check_flow_owner_grant(table, &user, &row, None)
            .await?;
        self.check_webhook(table, &row)?;
        Self::check_seo(table, &row)?;
        Self::check_template_structure(table, &row)?;
        if !self.allows(actor, table, Op::Insert, &row).await? {
            return Err(AccessError::Forbidden(format!(
                "you may not create rows in {}",
                table.name
            )));
        }
        self.check_references(actor, table, &row, None).await?;
        self.check_card_assignee(table, &row).await?;
        self.check_card_list(table, &row).await?;
        if let Some(renewed) = self.renew_invite(actor, table, &row).await? {
            return Ok(renewed);
        }
        let parent_owner = match table.scope {
            Scope::OwnerOf(_) => Some(user.as_str()),
            _ => None,
        };
        let mut extra = Vec::new();
        if table.name == "leads" {
            // The policy has checked `client_id` against the caller; its column type is a uuid.
            let client = row["client_id"].as_str().and_then(|s| s.parse().ok());
            extra.push(
                self.contacts_reservation(client.unwrap_or(owner), 1)
                    .await?,
            );
        }
        extra.extend(self.audit_write(actor, table, Op::Insert, &row)?);
        extra.extend(self.workflow_publication(actor, table, None, &row).await?);
        extra.extend(self.contributor_counts(actor, table, None, &row).await?);
        extra.extend(self.board_owner_membership(table, &row)?);
        extra.extend(self.teamhub_activity(actor, table, Op::Insert, None, &row)?);
        extra.extend(engine);
        let mut row = row;
        self.seal_at_rest(table, &mut row).await?;
        let created = Self::redact(
            table,
            self.rows.insert(table, parent_owner, row, extra).await?,
        );
        self.emit_created(table, &created).await;
        self.letter_for(table, &created).await;
        Ok(created)
    }

    /// A row the actor may change or delete: visible (else 404), not reached through a
    /// read-only support session, and admitted by the policy (else 403).
    pub(super) async fn find_writable(
        &self,
        actor: &Actor,
        table: &'static Table,
        id: &str,
        op: Op,
    ) -> Result<(Row, Option<String>), AccessError> {
        actor.owner()?;
        let (current, partition) = self
            .find_visible(actor, table, id)
            .await?
            .ok_or_else(not_found)?;
        let through_support = actor
            .support
            .as_ref()
            .is_some_and(|g| partition.as_deref() == Some(g.target_user_id.as_str()));
        if through_support {
            return Err(AccessError::Forbidden(
                "support sessions are read-only".into(),
            ));
        }
        if !self.allows(actor, table, op, &current).await? {
            let verb = if op == Op::Delete { "delete" } else { "change" };
            return Err(AccessError::Forbidden(format!(
                "you may not {verb} this {} row",
                table.name
            )));
        }
        Ok((current, partition))
    }

    pub async fn update(
        &self,
        actor: &Actor,
        table_name: &str,
        id: &str,
        patch: Row,
    ) -> Result<Row, AccessError> {
        self.update_with(actor, table_name, id, patch, Vec::new())
            .await
    }

    /// [`Access::update`] with a system process's extra actions in the same transaction (the
    /// workflow engine's step record beside the lead it changes).
    pub(crate) async fn update_with(
        &self,
        actor: &Actor,
        table_name: &str,
        id: &str,
        mut patch: Row,
        engine: Vec<Extra>,
    ) -> Result<Row, AccessError> {
        let table = Self::table(table_name)?;
        let note = Self::take_change_note(table, &mut patch)?;
        if table.name == "user_prompts"
            && let Some((default, _)) = self.find_visible(actor, table, id).await?
            && let Some(copy) = self
                .copy_default_prompt(actor, table, &default, &patch)
                .await?
        {
            return Ok(copy);
        }
        let (current, partition) = self.find_writable(actor, table, id, Op::Update).await?;
        let user = actor.owner()?.to_string();
        Self::check_unsealed_tokens(table, &patch)?;
        writes::check_update(table.name, Self::writer(actor, &user), &current, &patch)?;
        let mut preview = current.clone();
        for (k, v) in &patch {
            if table.column(k).is_none() {
                return Err(RowError::UnknownField(k.clone()).into());
            }
            preview.insert(k.clone(), v.clone());
        }
        if !self.allows(actor, table, Op::Update, &preview).await? {
            return Err(AccessError::Forbidden(format!(
                "the change would move this {} row out of your reach",
                table.name
            )));
        }
        self.check_references(actor, table, &preview, Some(&current))
            .await?;
        self.check_card_list(table, &preview).await?;
        self.check_flow_owner_grant(table, &user, &preview, Some(&current))
            .await?;
        self.check_webhook(table, &preview)?;
        Self::check_seo(table, &preview)?;
        Self::check_template_structure(table, &preview)?;
        let mut patch = patch;
        self.stamp_published(table, Some(&current), &mut patch);
        let mut extra = self.admin_audit(actor, table, id, &current, &patch)?;
        extra.extend(self.audit_write(actor, table, Op::Update, &preview)?);
        let (mut patch, history) =
            self.prompt_history(table, id, &current, patch, note.as_deref())?;
        extra.extend(history);
        extra.extend(
            self.workflow_publication(actor, table, Some(&current), &preview)
                .await?,
        );
        extra.extend(
            self.contributor_counts(actor, table, Some(&current), &preview)
                .await?,
        );
        extra.extend(self.teamhub_activity(actor, table, Op::Update, Some(&current), &preview)?);
        extra.extend(engine);
        self.seal_at_rest(table, &mut patch).await?;
        let updated = self
            .rows
            .update_keeping_internal_with(table, partition.as_deref(), id, patch, extra)
            .await?;
        let updated = Self::redact(table, updated);
        self.emit_updated(table, &Self::redact(table, current), &updated)
            .await;
        Ok(updated)
    }

    pub async fn delete(
        &self,
        actor: &Actor,
        table_name: &str,
        id: &str,
    ) -> Result<(), AccessError> {
        let table = Self::table(table_name)?;
        let (current, partition) = self.find_writable(actor, table, id, Op::Delete).await?;
        let mut extra = Vec::new();
        if table.name == "leads"
            && let Some(owner) = current["client_id"].as_str().and_then(|s| s.parse().ok())
        {
            extra.push(Extra {
                op: WriteOp::update(contacts_counter(owner), Update::new().add("count", -1)),
                on_failure: RowError::Concurrent,
            });
        }
        extra.extend(self.audit_write(actor, table, Op::Delete, &current)?);
        extra.extend(self.teamhub_activity(actor, table, Op::Delete, None, &current)?);
        self.rows
            .delete_with(table, partition.as_deref(), id, extra)
            .await?;
        self.emit_deleted(table, &current).await;
        Ok(())
    }
}
