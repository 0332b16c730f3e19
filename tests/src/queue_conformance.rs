//! The `Queue` conformance suite: `LocalQueue` and `SqsQueue` (on moto) behave alike.
//! Each test gets a fresh queue (and dead-letter queue) from the backend's factory.

use std::sync::Arc;
use std::time::Duration;

use scaliyo_store::{OutgoingMessage, Queue, QueueError};

/// A queue under test and the dead-letter queue it redrives to after `max_receives`.
pub struct QueuePair {
    pub queue: Arc<dyn Queue>,
    pub dead_letters: Arc<dyn Queue>,
    pub max_receives: u32,
}

async fn drain(queue: &dyn Queue, visibility: Duration) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let batch = queue
            .receive(10, visibility, Duration::from_millis(500))
            .await
            .unwrap();
        if batch.is_empty() {
            return bodies;
        }
        for message in batch {
            bodies.push(message.body.clone());
            queue.delete(&message.receipt).await.unwrap();
        }
    }
}

pub async fn a_batch_of_any_size_is_delivered_and_deleted(pair: QueuePair) {
    let messages: Vec<OutgoingMessage> = (0..23)
        .map(|i| OutgoingMessage::new(format!("m{i}")))
        .collect();
    pair.queue.send_batch(messages).await.unwrap();
    let mut bodies = drain(pair.queue.as_ref(), Duration::from_secs(30)).await;
    bodies.sort();
    let mut expected: Vec<String> = (0..23).map(|i| format!("m{i}")).collect();
    expected.sort();
    assert_eq!(bodies, expected);
    assert!(
        pair.queue
            .receive(10, Duration::from_secs(30), Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_received_message_stays_hidden_for_its_visibility_timeout(pair: QueuePair) {
    pair.queue
        .send_batch(vec![OutgoingMessage::new("hidden")])
        .await
        .unwrap();
    let first = pair
        .queue
        .receive(1, Duration::from_secs(2), Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].receive_count, 1);
    let during = pair
        .queue
        .receive(1, Duration::from_secs(2), Duration::ZERO)
        .await
        .unwrap();
    assert!(during.is_empty(), "a hidden message was delivered again");
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    let again = pair
        .queue
        .receive(1, Duration::from_secs(30), Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].body, "hidden");
    assert_eq!(again[0].receive_count, 2);
    pair.queue.delete(&again[0].receipt).await.unwrap();
}

pub async fn a_delayed_message_arrives_after_its_delay(pair: QueuePair) {
    pair.queue
        .send_batch(vec![
            OutgoingMessage::new("later").delayed(Duration::from_secs(2)),
        ])
        .await
        .unwrap();
    assert!(
        pair.queue
            .receive(1, Duration::from_secs(30), Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    let arrived = pair
        .queue
        .receive(1, Duration::from_secs(30), Duration::from_secs(4))
        .await
        .unwrap();
    let arrived = if arrived.is_empty() {
        pair.queue
            .receive(1, Duration::from_secs(30), Duration::from_secs(2))
            .await
            .unwrap()
    } else {
        arrived
    };
    assert_eq!(
        arrived.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        vec!["later"]
    );
}

pub async fn a_message_received_too_often_moves_to_the_dead_letter_queue(pair: QueuePair) {
    pair.queue
        .send_batch(vec![OutgoingMessage::new("poison")])
        .await
        .unwrap();
    for attempt in 1..=pair.max_receives {
        let got = pair
            .queue
            .receive(1, Duration::ZERO, Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "receive {attempt}");
        assert_eq!(got[0].receive_count, attempt);
    }
    // The next receive redrives it instead of delivering it.
    let after = pair
        .queue
        .receive(1, Duration::ZERO, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(
        after.is_empty(),
        "a poison message was delivered past its limit"
    );
    let dead = drain(pair.dead_letters.as_ref(), Duration::from_secs(30)).await;
    assert_eq!(dead, vec!["poison".to_owned()]);
}

pub async fn dead_letters_are_listed_and_redriven_to_their_queue(pair: QueuePair) {
    let letters: Vec<OutgoingMessage> = (0..13)
        .map(|i| OutgoingMessage::new(format!("letter {i}")))
        .collect();
    pair.dead_letters.send_batch(letters).await.unwrap();
    // Listing leaves them where they are.
    let listed = scaliyo_app::ops::peek(pair.dead_letters.as_ref(), 100)
        .await
        .unwrap();
    assert_eq!(listed.len(), 13, "{listed:?}");
    assert!(listed.iter().all(|l| l.body.starts_with("letter ")));
    let again = scaliyo_app::ops::peek(pair.dead_letters.as_ref(), 5)
        .await
        .unwrap();
    assert_eq!(again.len(), 5);
    // A bounded redrive moves that many; the next one the rest.
    let first = scaliyo_app::ops::redrive(pair.dead_letters.as_ref(), pair.queue.as_ref(), 4)
        .await
        .unwrap();
    assert_eq!(first.moved, 4);
    let rest = scaliyo_app::ops::redrive(pair.dead_letters.as_ref(), pair.queue.as_ref(), 100)
        .await
        .unwrap();
    assert_eq!(rest.moved, 9);
    let mut redriven = drain(pair.queue.as_ref(), Duration::from_secs(30)).await;
    redriven.sort();
    let mut expected: Vec<String> = (0..13).map(|i| format!("letter {i}")).collect();
    expected.sort();
    assert_eq!(redriven, expected, "every letter once, none lost");
    assert!(
        drain(pair.dead_letters.as_ref(), Duration::from_secs(30))
            .await
            .is_empty()
    );
}

pub async fn limits_are_the_same_as_sqs(pair: QueuePair) {
    let too_late = OutgoingMessage::new("x").delayed(Duration::from_secs(16 * 60));
    assert!(matches!(
        pair.queue.send_batch(vec![too_late]).await,
        Err(QueueError::Invalid(_))
    ));
    let too_big = OutgoingMessage::new("x".repeat(256 * 1024 + 1));
    assert!(matches!(
        pair.queue.send_batch(vec![too_big]).await,
        Err(QueueError::Invalid(_))
    ));
    assert!(matches!(
        pair.queue
            .receive(11, Duration::from_secs(1), Duration::ZERO)
            .await,
        Err(QueueError::Invalid(_))
    ));
}

#[macro_export]
macro_rules! queue_conformance_tests {
    ($backend:ident) => {
        $crate::queue_conformance_tests!(@each $backend,
            a_batch_of_any_size_is_delivered_and_deleted,
            a_received_message_stays_hidden_for_its_visibility_timeout,
            a_delayed_message_arrives_after_its_delay,
            a_message_received_too_often_moves_to_the_dead_letter_queue,
            dead_letters_are_listed_and_redriven_to_their_queue,
            limits_are_the_same_as_sqs
        );
    };
    (@each $backend:ident, $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(pair) = $backend().await {
                    $crate::queue_conformance::$name(pair).await;
                }
            }
        )+
    };
}
