//! Threads that do deferrable work — the hit applier's — at background priority: on Linux
//! `SCHED_IDLE`, so they run only on cycles nothing else wants, and a request never waits
//! for them. When their backlog grows too long they are raised to the normal priority until
//! it is worked off, so deferring never becomes never.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The threads of one pool (registered as they start, forgotten as they stop) and whether
/// they are at background priority now.
#[derive(Debug, Default)]
pub struct BackgroundThreads {
    threads: Mutex<Vec<ThreadId>>,
    raised: AtomicBool,
}

/// The kernel's id of a thread (what `gettid` returns).
type ThreadId = i64;

impl BackgroundThreads {
    /// Registers the calling thread and gives it the pool's current priority.
    pub fn enter(&self) {
        let Some(thread) = current_thread() else {
            return;
        };
        if let Ok(mut threads) = self.threads.lock() {
            threads.push(thread);
        }
        set_priority(thread, !self.raised.load(Ordering::Relaxed));
    }

    /// Forgets the calling thread (it is about to end).
    pub fn leave(&self) {
        let Some(thread) = current_thread() else {
            return;
        };
        if let Ok(mut threads) = self.threads.lock() {
            threads.retain(|t| *t != thread);
        }
    }

    /// Raises every thread of the pool to normal priority (`true`) or lowers it back to the
    /// background (`false`); nothing happens when the pool is already there.
    pub fn raise(&self, raised: bool) {
        if self.raised.swap(raised, Ordering::Relaxed) == raised {
            return;
        }
        tracing::info!(
            raised,
            "background threads {}",
            if raised {
                "raised to normal priority: their backlog is long"
            } else {
                "back at background priority"
            }
        );
        if let Ok(threads) = self.threads.lock() {
            for thread in threads.iter() {
                set_priority(*thread, !raised);
            }
        }
    }

    pub fn is_raised(&self) -> bool {
        self.raised.load(Ordering::Relaxed)
    }
}

#[cfg(target_os = "linux")]
fn current_thread() -> Option<ThreadId> {
    // SAFETY: gettid takes no arguments and cannot fail.
    Some(unsafe { libc::syscall(libc::SYS_gettid) })
}

#[cfg(not(target_os = "linux"))]
fn current_thread() -> Option<ThreadId> {
    None
}

/// `SCHED_IDLE` for the background, `SCHED_OTHER` (the default) otherwise. A refusal (a
/// container without the right) leaves the thread as it is: slower under load, never wrong.
#[cfg(target_os = "linux")]
fn set_priority(thread: ThreadId, background: bool) {
    let policy = if background {
        libc::SCHED_IDLE
    } else {
        libc::SCHED_OTHER
    };
    let parameters = libc::sched_param { sched_priority: 0 };
    // SAFETY: `parameters` outlives the call, which only reads it.
    let outcome = unsafe { libc::sched_setscheduler(thread as libc::pid_t, policy, &parameters) };
    if outcome != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), background, "a thread's priority was not changed");
    }
}

#[cfg(not(target_os = "linux"))]
fn set_priority(_thread: ThreadId, _background: bool) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn policy_of_this_thread() -> libc::c_int {
        // SAFETY: 0 names the calling thread; the call reads nothing from memory.
        unsafe { libc::sched_getscheduler(0) }
    }

    #[test]
    fn a_registered_thread_runs_in_the_background_until_the_pool_is_raised() {
        let pool = std::sync::Arc::new(BackgroundThreads::default());
        let entered = std::sync::Arc::new(std::sync::Barrier::new(2));
        let raised = std::sync::Arc::new(std::sync::Barrier::new(2));
        let worker = {
            let (pool, entered, raised) = (pool.clone(), entered.clone(), raised.clone());
            std::thread::spawn(move || {
                pool.enter();
                let before = policy_of_this_thread();
                entered.wait();
                raised.wait();
                let after = policy_of_this_thread();
                pool.leave();
                (before, after)
            })
        };
        entered.wait();
        pool.raise(true);
        raised.wait();
        let (before, after) = worker.join().expect("the worker ends");
        assert_eq!(before, libc::SCHED_IDLE);
        assert_eq!(after, libc::SCHED_OTHER);
        assert!(pool.is_raised());
        assert!(pool.threads.lock().map(|t| t.is_empty()).unwrap_or(false));
    }
}
