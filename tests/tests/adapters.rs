//! Queue, blob and event-bus adapters: the conformance suites against the embedded default
//! and against moto server (SQS, S3, EventBridge).

mod local {
    use std::sync::Arc;

    use scaliyo_embedded::LocalQueue;
    use scaliyo_embedded::queue::Redrive;
    use scaliyo_store::Blobs;
    use scaliyo_tests::local_server::RunningLocal;
    use scaliyo_tests::queue_conformance::QueuePair;

    async fn queues() -> Option<QueuePair> {
        let dead_letters = Arc::new(LocalQueue::new("dlq"));
        let queue = LocalQueue::with_redrive(
            "main",
            Redrive {
                max_receives: 3,
                dead_letters: dead_letters.clone(),
            },
        );
        Some(QueuePair {
            queue: Arc::new(queue),
            dead_letters,
            max_receives: 3,
        })
    }

    async fn blobs() -> Option<Arc<dyn Blobs>> {
        // Presigned URLs point at the local server, so the server must be up.
        let running = RunningLocal::start().await;
        let blobs = running.system.blobs.clone();
        std::mem::forget(running);
        Some(blobs)
    }

    scaliyo_tests::queue_conformance_tests!(queues);
    scaliyo_tests::blob_conformance_tests!(blobs);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tampered_presigned_url_is_refused() {
        if let Some(blobs) = blobs().await {
            scaliyo_tests::blob_conformance::a_tampered_presigned_url_is_refused(blobs).await;
        }
    }

    /// The signed length is enforced: an upload of another size is refused.
    #[tokio::test]
    async fn a_presigned_upload_of_another_length_is_refused() {
        let running = RunningLocal::start().await;
        let put = running
            .system
            .blobs
            .presign_put(
                "avatars",
                "u1/a.png",
                "image/png",
                Some(4),
                std::time::Duration::from_secs(60),
            )
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let longer = http
            .put(&put.url)
            .header("content-type", "image/png")
            .body("12345")
            .send()
            .await
            .unwrap();
        assert_eq!(longer.status(), 403);
        let wrong_type = http
            .put(&put.url)
            .header("content-type", "text/html")
            .body("1234")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_type.status(), 403);
        let exact = http
            .put(&put.url)
            .header("content-type", "image/png")
            .body("1234")
            .send()
            .await
            .unwrap();
        assert_eq!(exact.status(), 200);
    }
}

mod aws {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;

    use scaliyo_aws::{EventBridgeBus, S3Blobs, SqsQueue};
    use scaliyo_store::{Blobs, DomainEvent, EventBus, Queue};
    use scaliyo_tests::emulators;
    use scaliyo_tests::queue_conformance::QueuePair;

    async fn queues() -> Option<QueuePair> {
        let config = emulators::moto().await?;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let dlq = sqs
            .create_queue()
            .queue_name(emulators::unique_name("dlq"))
            .send()
            .await
            .unwrap();
        let dlq_url = dlq.queue_url().unwrap().to_owned();
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let dlq_arn = attributes
            .attributes()
            .unwrap()
            .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .unwrap()
            .clone();
        let redrive = serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3" })
            .to_string();
        let main = sqs
            .create_queue()
            .queue_name(emulators::unique_name("main"))
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
                redrive,
            )
            .send()
            .await
            .unwrap();
        eprintln!("running against SQS queue {}", main.queue_url().unwrap());
        Some(QueuePair {
            queue: Arc::new(SqsQueue::new(sqs.clone(), main.queue_url().unwrap())),
            dead_letters: Arc::new(SqsQueue::new(sqs, dlq_url)),
            max_receives: 3,
        })
    }

    async fn blobs() -> Option<Arc<dyn Blobs>> {
        let config = emulators::moto().await?;
        let s3 = emulators::s3_client(&config);
        let bucket = emulators::unique_name("imports");
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        eprintln!("running against S3 bucket {bucket}");
        Some(Arc::new(S3Blobs::new(
            s3,
            HashMap::from([(scaliyo_tests::blob_conformance::BUCKET.to_owned(), bucket)]),
        )))
    }

    scaliyo_tests::queue_conformance_tests!(queues);
    scaliyo_tests::blob_conformance_tests!(blobs);

    /// Only against real S3 (`SCALIYO_TEST_REAL_AWS=1`): moto accepts any signature.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tampered_presigned_url_is_refused() {
        if std::env::var(scaliyo_tests::emulators::USE_REAL_AWS).as_deref() != Ok("1") {
            eprintln!("SKIPPED: moto does not check presigned signatures; real S3 does");
            return;
        }
        if let Some(blobs) = blobs().await {
            scaliyo_tests::blob_conformance::a_tampered_presigned_url_is_refused(blobs).await;
        }
    }

    /// Events put on the bus reach a rule's SQS target with their detail intact.
    #[tokio::test]
    async fn published_events_reach_a_rule_target() {
        let Some(config) = emulators::moto().await else {
            return;
        };
        let events = aws_sdk_eventbridge::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        let bus_name = emulators::unique_name("scaliyo-bus");
        events
            .create_event_bus()
            .name(&bus_name)
            .send()
            .await
            .unwrap();
        let queue = sqs
            .create_queue()
            .queue_name(emulators::unique_name("events"))
            .send()
            .await
            .unwrap();
        let queue_url = queue.queue_url().unwrap().to_owned();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()
            .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .unwrap()
            .clone();
        events
            .put_rule()
            .name("email-events")
            .event_bus_name(&bus_name)
            .event_pattern(serde_json::json!({ "source": ["scaliyo.email"] }).to_string())
            .send()
            .await
            .unwrap();
        events
            .put_targets()
            .rule("email-events")
            .event_bus_name(&bus_name)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();

        let bus = EventBridgeBus::new(events, &bus_name);
        let published: Vec<DomainEvent> = (0..12)
            .map(|i| DomainEvent {
                source: "scaliyo.email".into(),
                detail_type: "email.sent".into(),
                detail: serde_json::json!({ "message_id": format!("m{i}") }),
            })
            .collect();
        bus.publish(published).await.unwrap();

        let target = SqsQueue::new(sqs, queue_url);
        let mut seen = Vec::new();
        for _ in 0..10 {
            for message in target
                .receive(10, Duration::from_secs(30), Duration::from_secs(1))
                .await
                .unwrap()
            {
                let envelope: serde_json::Value = serde_json::from_str(&message.body).unwrap();
                assert_eq!(envelope["detail-type"], "email.sent");
                seen.push(
                    envelope["detail"]["message_id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
                target.delete(&message.receipt).await.unwrap();
            }
            if seen.len() == 12 {
                break;
            }
        }
        seen.sort();
        let mut expected: Vec<String> = (0..12).map(|i| format!("m{i}")).collect();
        expected.sort();
        assert_eq!(seen, expected);
    }
}

mod kms {
    use scaliyo_aws::KmsSealer;
    use scaliyo_store::Sealer;
    use scaliyo_tests::emulators;

    /// Envelope sealing against KMS (moto): a sealed secret opens with its key, not another.
    #[tokio::test]
    async fn secrets_sealed_with_kms_open_only_through_kms() {
        let Some(config) = emulators::moto().await else {
            return;
        };
        let client = scaliyo_aws::kms_client(&config);
        let key = client
            .create_key()
            .description("scaliyo secrets")
            .send()
            .await
            .unwrap();
        let key_id = key.key_metadata().unwrap().key_id().to_owned();
        let sealer = KmsSealer::new(client.clone(), key_id);
        let sealed = sealer.seal("smtp-password").await.unwrap();
        assert!(sealed.starts_with("v1.kms.") && !sealed.contains("smtp-password"));
        assert_eq!(sealer.open(&sealed).await.unwrap(), "smtp-password");
        let mut tampered = sealed.clone();
        tampered.push('A');
        let refused = sealer.open(&tampered).await;
        assert!(
            matches!(
                refused,
                Err(scaliyo_store::SealError::Malformed | scaliyo_store::SealError::WrongKey)
            ),
            "{refused:?}"
        );
        let foreign = sealer.open("v1.local.a.b.c").await;
        assert!(
            matches!(foreign, Err(scaliyo_store::SealError::Malformed)),
            "{foreign:?}"
        );
    }
}
