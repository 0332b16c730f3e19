//! SQS event source mappings as local workers: each receives batches from a queue, hands
//! every message to its handler, and deletes it only when the handler succeeded — a failed
//! message comes back after its visibility timeout and goes to the dead-letter queue after
//! too many receives, as with Lambda's `ReportBatchItemFailures`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use scaliyo_embedded::LocalQueue;
use scaliyo_store::Queue;
use tokio::sync::watch;

type Handler =
    Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

#[derive(Clone)]
pub struct Worker {
    pub name: &'static str,
    pub queue: Arc<LocalQueue>,
    /// How long a received message stays hidden (the function's timeout, plus margin).
    pub visibility: Duration,
    handler: Handler,
}

impl Worker {
    pub fn new<F, Fut>(
        name: &'static str,
        queue: Arc<LocalQueue>,
        visibility: Duration,
        handler: F,
    ) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self {
            name,
            queue,
            visibility,
            handler: Arc::new(move |body| Box::pin(handler(body))),
        }
    }

    /// Handles every message visible now, one batch of 10 after another; returns how many
    /// were handled successfully.
    pub async fn drain(&self) -> usize {
        let mut done = 0;
        loop {
            let batch = match self
                .queue
                .receive(10, self.visibility, Duration::ZERO)
                .await
            {
                Ok(batch) if !batch.is_empty() => batch,
                Ok(_) => return done,
                Err(error) => {
                    tracing::warn!(worker = self.name, %error, "receiving failed");
                    return done;
                }
            };
            done += self.handle(batch).await;
        }
    }

    async fn handle(&self, batch: Vec<scaliyo_store::ReceivedMessage>) -> usize {
        // The records of one batch are worked on together, as one invocation would.
        // A handler that panics fails its message only (retried, then dead-lettered), as a
        // crashed invocation would: the worker, and every other tenant's work, goes on.
        let handled = futures::future::join_all(batch.into_iter().map(|message| {
            let handler = self.handler.clone();
            async move {
                use futures::FutureExt;
                let run = std::panic::AssertUnwindSafe((handler)(message.body.clone()));
                let result = match run.catch_unwind().await {
                    Ok(result) => result,
                    Err(_) => Err("the handler panicked".to_owned()),
                };
                (result, message)
            }
        }))
        .await;
        let mut done = 0;
        for (result, message) in handled {
            match result {
                Ok(()) => {
                    done += 1;
                    if let Err(error) = self.queue.delete(&message.receipt).await {
                        tracing::warn!(worker = self.name, %error, "deleting a handled message failed");
                    }
                }
                Err(error) => tracing::warn!(
                    worker = self.name,
                    receive_count = message.receive_count,
                    %error,
                    "message failed; it will be retried"
                ),
            }
        }
        done
    }

    /// Runs until shutdown, long-polling the queue.
    pub fn start(self, mut shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    batch = self.queue.receive(10, self.visibility, Duration::from_secs(1)) => {
                        match batch {
                            Ok(batch) => { self.handle(batch).await; }
                            Err(error) => {
                                tracing::warn!(worker = self.name, %error, "receiving failed");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                    }
                    _ = shutdown.changed() => break,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_panicking_job_fails_its_message_and_the_worker_goes_on() {
        let queue = Arc::new(LocalQueue::new("jobs"));
        queue
            .send_batch(vec![
                scaliyo_store::OutgoingMessage::new("boom"),
                scaliyo_store::OutgoingMessage::new("fine"),
            ])
            .await
            .expect("sent");
        let handled = Arc::new(AtomicUsize::new(0));
        let seen = handled.clone();
        let worker = Worker::new(
            "test",
            queue.clone(),
            Duration::from_millis(10),
            move |body| {
                let seen = seen.clone();
                async move {
                    if body == "boom" {
                        panic!("a bug in a job");
                    }
                    seen.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            },
        );
        assert_eq!(worker.drain().await, 1);
        assert_eq!(handled.load(Ordering::SeqCst), 1);
        // The failed message comes back after its visibility timeout, and still fails alone.
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(worker.drain().await, 0);
    }
}
