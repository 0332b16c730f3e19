//! S3 event notifications (as SQS delivers them): the objects they report created.

use aws_lambda_events::event::s3::S3Event;
use scaliyo_store::ObjectCreated;

/// A message body that is not an S3 event notification.
#[derive(Debug, thiserror::Error)]
#[error("not an S3 event notification: {0}")]
pub struct NotAnS3Event(#[source] serde_json::Error);

/// The objects an S3 notification reports created. S3's test event (sent when the
/// notification is configured) and events of other kinds report none.
pub fn created_objects(body: &str) -> Result<Vec<ObjectCreated>, NotAnS3Event> {
    let value: serde_json::Value = serde_json::from_str(body).map_err(NotAnS3Event)?;
    if value["Event"] == "s3:TestEvent" {
        return Ok(Vec::new());
    }
    let event: S3Event = serde_json::from_value(value).map_err(NotAnS3Event)?;
    Ok(event
        .records
        .into_iter()
        .filter(|record| {
            record
                .event_name
                .as_deref()
                .is_some_and(|name| name.starts_with("ObjectCreated"))
        })
        .filter_map(|record| {
            Some(ObjectCreated {
                bucket: record.s3.bucket.name?,
                key: decode_key(&record.s3.object.key?),
            })
        })
        .collect())
}

/// S3 event keys are URL-encoded with `+` for spaces.
fn decode_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                // Bytes, not a `str` slice: a stray `%` before a multi-byte character must
                // not split it.
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EVENTS: &str = include_str!("../../../events/sqs-s3-import-created.json");

    fn bodies() -> Vec<String> {
        let batch: serde_json::Value = serde_json::from_str(EVENTS).unwrap_or_default();
        batch["Records"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn a_real_notification_names_its_object() {
        let bodies = bodies();
        let objects = created_objects(&bodies[0]).unwrap_or_default();
        assert_eq!(
            objects,
            vec![ObjectCreated {
                bucket: "scaliyo-prod-imports".into(),
                key: "OWNER/BATCH/source".into(),
            }]
        );
    }

    #[test]
    fn the_test_event_names_nothing_and_anything_else_is_an_error() {
        let bodies = bodies();
        assert!(created_objects(&bodies[1]).is_ok_and(|o| o.is_empty()));
        assert!(created_objects(&bodies[2]).is_err());
        assert!(created_objects("{}").is_err());
    }

    #[test]
    fn odd_keys_decode_without_panicking() {
        assert_eq!(decode_key("a%2Fb+c"), "a/b c");
        assert_eq!(decode_key("%aé"), "%aé");
        assert_eq!(decode_key("50%"), "50%");
        assert_eq!(decode_key("%zz"), "%zz");
    }

    #[test]
    fn a_bare_test_event_names_nothing() {
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"imports"}"#;
        assert!(created_objects(test_event).is_ok_and(|o| o.is_empty()));
    }

    #[test]
    fn keys_are_url_decoded() {
        let body = bodies()[0].replace("OWNER/BATCH/source", "a+b/c%25d%2F%e2%82%ac");
        let objects = created_objects(&body).unwrap_or_default();
        assert_eq!(objects[0].key, "a b/c%d/€");
    }

    proptest! {
        #[test]
        fn no_body_panics(body in ".{0,200}") {
            let _ = created_objects(&body);
        }

        #[test]
        fn no_key_panics_the_decoder(key in "[a-zA-Z0-9%+/é€]{0,40}") {
            let _ = decode_key(&key);
        }
    }
}
