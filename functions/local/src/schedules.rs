//! EventBridge schedules as local timers: each job runs every `every`, one run at a time,
//! until shutdown. A run that fails is logged; the next tick runs again, as EventBridge would.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

type Job = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

#[derive(Clone)]
pub struct Schedule {
    pub name: &'static str,
    pub every: Duration,
    job: Job,
}

#[derive(Clone, Default)]
pub struct Schedules {
    schedules: Vec<Schedule>,
}

impl Schedules {
    pub fn add<F, Fut>(&mut self, name: &'static str, every: Duration, job: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.schedules.push(Schedule {
            name,
            every,
            job: Arc::new(move || Box::pin(job())),
        });
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.schedules.iter().map(|s| s.name).collect()
    }

    /// Runs one schedule now, as `aws scheduler`'s "run now" or `cargo lambda invoke` would.
    pub async fn run(&self, name: &str) -> Option<Result<(), String>> {
        let schedule = self.schedules.iter().find(|s| s.name == name)?;
        Some((schedule.job)().await)
    }

    /// Starts every timer; they stop when `shutdown` turns true.
    pub fn start(self, shutdown: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
        self.schedules
            .into_iter()
            .map(|schedule| {
                let mut shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let mut interval = tokio::time::interval(schedule.every);
                    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                    loop {
                        tokio::select! {
                            _ = interval.tick() => {
                                if let Err(error) = (schedule.job)().await {
                                    tracing::warn!(schedule = schedule.name, %error, "scheduled run failed");
                                }
                            }
                            _ = shutdown.changed() => break,
                        }
                    }
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_schedule_runs_on_every_tick_until_shutdown() {
        let runs = Arc::new(AtomicUsize::new(0));
        let mut schedules = Schedules::default();
        let counter = runs.clone();
        schedules.add("count", Duration::from_secs(60), move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        });
        let (stop, shutdown) = watch::channel(false);
        let handles = schedules.start(shutdown);
        tokio::time::sleep(Duration::from_secs(150)).await;
        stop.send(true).unwrap();
        for handle in handles {
            handle.await.unwrap();
        }
        // Ticks at 0 s, 60 s and 120 s.
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }
}
