use super::*;

#[test]
fn every_table_fits_in_the_provisioned_gsis() {
    for layout in layouts() {
        let mut used: Vec<Index> = layout.indexes.iter().map(|i| i.gsi).collect();
        used.sort();
        let before = used.len();
        used.dedup();
        assert_eq!(
            before,
            used.len(),
            "{} uses one GSI twice",
            layout.table.name
        );
    }
}

#[test]
fn the_lease_index_is_free_on_work_queue_tables() {
    for name in WORK_QUEUE_TABLES {
        let layout = layout(name).unwrap();
        assert!(
            layout.indexes.iter().all(|i| i.gsi != Index::Gsi5),
            "{name} uses GSI5, which holds the leases of claimed work"
        );
    }
}

#[test]
fn every_seed_index_is_served() {
    for layout in layouts() {
        for index in layout.table.indexes {
            let as_gsi = layout.indexes.iter().any(|i| i.name == index.name);
            let otherwise = layout
                .served_otherwise
                .iter()
                .any(|(name, _)| name == index.name);
            assert!(
                as_gsi || otherwise,
                "{}.{} has no access path",
                layout.table.name,
                index.name
            );
        }
    }
}

#[test]
fn every_cascading_foreign_key_has_an_access_path() {
    for layout in layouts() {
        for fk in layout
            .table
            .foreign_keys
            .iter()
            .filter(|fk| fk.on_delete != OnDelete::NoAction)
        {
            let by_owner = owner_column(layout.table) == Some(fk.column);
            let by_index = layout.indexes.iter().any(|i| {
                i.filter.is_none()
                    && !i.owner_prefixed
                    && i.equality.first().map(|p| p.column()) == Some(fk.column)
            });
            assert!(
                by_owner || by_index,
                "{}.{} cannot find its rows on delete",
                layout.table.name,
                fk.column
            );
        }
    }
}

#[test]
fn integers_sort_as_text_in_numeric_order() {
    let mut values: Vec<i64> = vec![-5, 0, 3, 100, -100, i64::MAX, i64::MIN, 42];
    let mut encoded: Vec<String> = values
        .iter()
        .map(|v| sortable(&Value::from(*v)).unwrap())
        .collect();
    values.sort();
    encoded.sort();
    let decoded: Vec<String> = values
        .iter()
        .map(|v| sortable(&Value::from(*v)).unwrap())
        .collect();
    assert_eq!(encoded, decoded);
}

#[test]
fn the_pending_scheduled_emails_index_is_sharded_and_sparse() {
    let layout = layout("scheduled_emails").unwrap();
    let due = layout
        .indexes
        .iter()
        .find(|i| i.name == "idx_scheduled_emails_status_scheduled")
        .unwrap();
    assert!(due.sharded);
    assert_eq!(due.gsi, Index::Gsi4);
    let mut row = Map::new();
    row.insert(
        "id".into(),
        Value::from("1b4e28ba-2fa1-11d2-883f-0016d3cca42f"),
    );
    row.insert("status".into(), Value::from("pending"));
    row.insert(
        "scheduled_at".into(),
        Value::from("2026-11-27T10:00:00.000000Z"),
    );
    let attributes = index_attributes(layout, Some("owner"), &row);
    assert!(attributes.iter().any(|(gsi, pk, sk)| *gsi == Index::Gsi4
        && pk == "idx_scheduled_emails_status_scheduled#15"
        && sk.starts_with("2026-11-27T10:00:00")));
    row.insert("status".into(), Value::from("sent"));
    assert!(
        !index_attributes(layout, Some("owner"), &row)
            .iter()
            .any(|(gsi, _, _)| *gsi == Index::Gsi4)
    );
}

#[test]
fn lead_email_uniqueness_is_per_owner_and_case_insensitive() {
    let leads = &schema::LEADS;
    let email = leads
        .uniques
        .iter()
        .find(|u| u.name == "idx_leads_client_email")
        .unwrap();
    let mut row = Map::new();
    row.insert("client_id".into(), Value::from("owner-a"));
    row.insert("primary_email".into(), Value::from("Ada@Example.COM"));
    let a = unique_key(email, &row).unwrap();
    row.insert("primary_email".into(), Value::from("ada@example.com"));
    assert_eq!(unique_key(email, &row).unwrap(), a);
    row.insert("client_id".into(), Value::from("owner-b"));
    assert_ne!(unique_key(email, &row).unwrap(), a);
    row.insert("primary_email".into(), Value::Null);
    assert_eq!(unique_key(email, &row), None);
}
