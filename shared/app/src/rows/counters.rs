//! Counter rows (usage, quotas): found by their unique tuple, created on first use, added to
//! in the same transaction as the work they count.

use super::*;

impl Rows {
    /// The actions that add to counter columns of the row a unique tuple identifies, creating
    /// the row (with its defaults and its uniqueness item) when it does not exist yet. The row
    /// id is derived from the tuple (UUID v5), so concurrent first increments land on the same
    /// item. `limit` guards the add: the column may not pass the maximum. The first action is
    /// the row's; compose the rest into a larger transaction as needed.
    pub fn counter_ops(
        &self,
        table: &'static Table,
        unique: &Unique,
        identity: Row,
        add: &[(&str, i64)],
        limit: Option<(&str, i64)>,
    ) -> Result<(Key, Vec<WriteOp>), RowError> {
        let mut name = table.name.to_owned();
        for part in unique.parts {
            name.push('\0');
            name.push_str(
                &identity
                    .get(part.column())
                    .map(Value::to_string)
                    .unwrap_or_default(),
            );
        }
        let id = uuid::Uuid::new_v5(&COUNTER_NAMESPACE, name.as_bytes());
        let mut seed = identity;
        seed.insert("id".into(), Value::String(id.to_string()));
        let now = self.clock.now();
        let row = prepare_new(table, seed, now)?;
        let owner = owner_of(table, &row, None).map(str::to_owned);
        let layout = Self::layout(table);
        let (key, item) = to_item(layout, owner.as_deref(), &row, 1)?;
        let counters: Vec<&str> = add.iter().map(|(c, _)| *c).collect();
        let mut update = Update::new();
        for (attribute, value) in &item.0 {
            let skip = attribute == scaliyo_store::table::PK
                || attribute == scaliyo_store::table::SK
                || attribute == VERSION_ATTR
                || attribute == "updated_at"
                || counters.contains(&attribute.as_str());
            if !skip {
                update = update.set_if_absent(attribute.clone(), value.clone());
            }
        }
        for (column, amount) in add {
            update = update.add(*column, *amount);
        }
        // Bumping the version makes a concurrent full-row update retry instead of overwriting.
        update = update.add(VERSION_ATTR, 1);
        if table.has_updated_at() {
            update = update.set("updated_at", timestamp_text(now));
        }
        let condition = limit.map(|(column, max)| {
            let amount = add
                .iter()
                .find(|(c, _)| *c == column)
                .map(|(_, a)| *a)
                .unwrap_or(0);
            let within = Condition::cmp(column, scaliyo_store::CmpOp::Le, max - amount);
            // A row not created yet starts at 0: the first add alone must fit as well.
            if amount <= max {
                Condition::NotExists(column.into()).or(within)
            } else {
                within
            }
        });
        let mut ops = vec![WriteOp::Update {
            key: key.clone(),
            update,
            condition,
        }];
        if let Some(unique_key) = layout::unique_key(unique, &row) {
            let pointer = Update::new()
                .set_if_absent("row_pk", key.pk.clone())
                .set_if_absent("row_sk", key.sk.clone())
                .set_if_absent(TABLE_ATTR, table.name);
            let ours =
                Condition::NotExists("row_pk".into()).or(Condition::eq("row_pk", key.pk.as_str())
                    .and(Condition::eq("row_sk", key.sk.as_str())));
            ops.push(WriteOp::Update {
                key: unique_key,
                update: pointer,
                condition: Some(ours),
            });
        }
        Ok((key, ops))
    }

    /// Adds to counters of one row (see [`Rows::counter_ops`]) and returns the row after.
    pub async fn upsert_counter(
        &self,
        table: &'static Table,
        unique: &Unique,
        identity: Row,
        add: &[(&'static str, i64)],
        limit: Option<(&'static str, i64, RowError)>,
    ) -> Result<Row, RowError> {
        let (key, ops) = self.counter_ops(
            table,
            unique,
            identity,
            add,
            limit.as_ref().map(|(c, m, _)| (*c, *m)),
        )?;
        match self.store.transact_write(ops).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { index: Some(0) }) => {
                return Err(limit.map(|(_, _, e)| e).unwrap_or(RowError::Concurrent));
            }
            Err(StoreError::ConditionFailed { index: Some(1) }) => {
                // A row with this tuple was created through the REST API with its own id.
                return Err(RowError::Conflict {
                    constraint: unique.name.to_owned(),
                });
            }
            Err(e) => return Err(e.into()),
        }
        let item = self.store.get(&key).await?.ok_or(RowError::Concurrent)?;
        Ok(from_item(table, &item))
    }
}
