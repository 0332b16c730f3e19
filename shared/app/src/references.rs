//! Items kept outside their owner's partition, found from inside it. Tracking tokens
//! (`TRK#`) and provider-webhook URLs (`HOOK#`) are read without knowing the owner, so they
//! live under their own keys; a reference item in the owner's partition
//! (`U#<owner> / ref#<group>`) lists them, so that deleting the account deletes them too —
//! nothing of a deleted tenant stays reachable by a token.

use scaliyo_domain::ids::OwnerId;
use scaliyo_store::{Item, Key, StoreError, Table, Value as StoreValue, WriteOp};

use crate::layout;

/// The sort-key prefix of reference items.
pub const PREFIX: &str = "ref#";

/// The write of a reference to `keys`, kept in `owner`'s partition under `group` (unique per
/// group of keys: a message's tokens of one attempt, one webhook URL).
pub fn reference_op(owner: OwnerId, group: &str, keys: &[Key]) -> WriteOp {
    let listed: Vec<StoreValue> = keys
        .iter()
        .map(|key| {
            StoreValue::L(vec![
                StoreValue::S(key.pk.clone()),
                StoreValue::S(key.sk.clone()),
            ])
        })
        .collect();
    WriteOp::put(
        Item::new(&Key::new(
            layout::owner_partition(owner),
            format!("{PREFIX}{group}"),
        ))
        .with("keys", StoreValue::L(listed)),
    )
}

/// The keys a reference item lists (none for any other item).
pub fn referenced(item: &Item) -> Vec<Key> {
    let is_reference = item
        .str(scaliyo_store::table::SK)
        .is_some_and(|sk| sk.starts_with(PREFIX));
    let Some(StoreValue::L(keys)) = item.get("keys").filter(|_| is_reference) else {
        return Vec::new();
    };
    keys.iter()
        .filter_map(|pair| match pair {
            StoreValue::L(parts) => match parts.as_slice() {
                [StoreValue::S(pk), StoreValue::S(sk)] => Some(Key::new(pk.clone(), sk.clone())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Deletes the listed keys, 25 at a time.
pub async fn delete_all(store: &dyn Table, keys: Vec<Key>) -> Result<(), StoreError> {
    for chunk in keys.chunks(25) {
        let batch = chunk
            .iter()
            .cloned()
            .map(scaliyo_store::BatchOp::Delete)
            .collect();
        store.batch_write(batch).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_lists_its_keys_and_other_items_list_none() {
        let keys = vec![Key::new("TRK#a", "TRK"), Key::new("TRK#b", "TRK")];
        let WriteOp::Put { item, .. } = reference_op(OwnerId::new_random(), "trk#m1#a", &keys)
        else {
            panic!("a put");
        };
        assert_eq!(referenced(&item), keys);
        let row = Item::new(&Key::new("U#u1", "leads#1")).with("keys", StoreValue::L(vec![]));
        assert!(referenced(&row).is_empty());
    }
}
