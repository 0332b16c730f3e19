//! The producers' side: decides cheaply whether anyone listens, and enqueues.

use super::*;

/// Per owner: the triggers of their active webhooks, and when that was read.
type TriggerCache = Arc<Mutex<HashMap<OwnerId, (Instant, Vec<String>)>>>;

#[derive(Clone)]
pub struct WebhookEmitter {
    rows: Rows,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
    /// Per owner: the triggers of their active webhooks, and when that was read. A Lambda
    /// keeps it between invocations; zero means "always read" (the local system, tests).
    cache: TriggerCache,
    cache_for: StdDuration,
    /// The workflow engine hears the same lead and e-mail events.
    workflows: Option<crate::workflows::WorkflowFeed>,
}

impl WebhookEmitter {
    pub fn new(rows: Rows, queue: Arc<dyn Queue>, clock: Arc<dyn Clock>) -> Self {
        Self {
            rows,
            queue,
            clock,
            cache: Arc::new(Mutex::new(HashMap::new())),
            cache_for: StdDuration::ZERO,
            workflows: None,
        }
    }

    /// Feeds the lead and e-mail events emitted here to the workflow engine as well.
    pub fn with_workflow_feed(mut self, feed: Option<crate::workflows::WorkflowFeed>) -> Self {
        self.workflows = feed;
        self
    }

    /// The workflow engine's feed, when there is one.
    pub fn workflow_feed(&self) -> Option<&crate::workflows::WorkflowFeed> {
        self.workflows.as_ref()
    }

    /// A Lambda's emitter: on the queue named by its configuration (none: no webhooks are
    /// emitted), remembering owners' subscriptions for [`LAMBDA_SUBSCRIPTIONS_CACHE`].
    pub fn for_lambda(
        rows: Rows,
        queue: Option<Arc<dyn Queue>>,
        clock: Arc<dyn Clock>,
    ) -> Option<Self> {
        queue.map(|queue| Self::new(rows, queue, clock).caching_for(LAMBDA_SUBSCRIPTIONS_CACHE))
    }

    /// Remember an owner's subscriptions this long (a new webhook gets events after at most
    /// this delay).
    pub fn caching_for(mut self, duration: StdDuration) -> Self {
        self.cache_for = duration;
        self
    }

    async fn triggers(&self, owner: OwnerId) -> Result<Vec<String>, StoreError> {
        if !self.cache_for.is_zero() {
            let cache = self.cache.lock().await;
            if let Some((at, triggers)) = cache.get(&owner)
                && at.elapsed() < self.cache_for
            {
                return Ok(triggers.clone());
            }
        }
        let triggers: Vec<String> = webhooks_of(&self.rows, owner)
            .await?
            .iter()
            .filter(|w| is_active(w))
            .filter_map(|w| w.str("trigger_event").map(str::to_owned))
            .collect();
        if !self.cache_for.is_zero() {
            let mut cache = self.cache.lock().await;
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(owner, (Instant::now(), triggers.clone()));
        }
        Ok(triggers)
    }

    /// Emits `event_type` about `subject` (the id that makes the event unique: a message id,
    /// a target id…). Never fails the caller: a lost emit is logged.
    pub async fn emit(&self, owner: OwnerId, event_type: &str, subject: &str, data: Value) {
        if let Some(feed) = &self.workflows {
            feed.offer(owner, event_type, &data).await;
        }
        if self.wants(owner, event_type).await {
            self.send(owner, event_type, subject, data).await;
        }
    }

    /// Whether the owner has an active webhook for the event (a hot path asks first, and
    /// builds the event only then).
    pub async fn wants(&self, owner: OwnerId, event_type: &str) -> bool {
        match self.triggers(owner).await {
            Ok(triggers) => triggers.iter().any(|t| webhooks::subscribed(t, event_type)),
            Err(error) => {
                tracing::warn!(%error, event_type, "reading webhooks failed; the event is not emitted");
                false
            }
        }
    }

    /// Enqueues the event without asking [`WebhookEmitter::wants`] again.
    pub async fn send(&self, owner: OwnerId, event_type: &str, subject: &str, data: Value) {
        let event = WebhookEvent {
            id: event_id(event_type, subject),
            event_type: event_type.to_owned(),
            owner,
            occurred_at: self.clock.now(),
            data,
        };
        let body = match serde_json::to_string(&WebhookMessage::Emit(event)) {
            Ok(body) => body,
            Err(_) => return,
        };
        if let Err(error) = self
            .queue
            .send_batch(vec![OutgoingMessage::new(body)])
            .await
        {
            tracing::warn!(%error, event_type, "enqueueing a webhook event failed");
        }
    }
}
