//! The queue runner: a task that starts an attempt on each queued message
//! when it is due, with at most `queue.workers` attempts at a time, and
//! stops cleanly on shutdown.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mailgate_queue::{Entry, QueueId};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinError, JoinHandle, JoinSet};

use crate::queue_worker::{AttemptResult, QueueContext, attempt};
use crate::queued::Queued;

/// Maximum sleep of the runner while nothing is due. A new entry wakes it
/// earlier.
const IDLE_SLEEP: Duration = Duration::from_secs(3600);

/// Bytes of new messages that waiting entries keep in memory, in total. A
/// message beyond it waits without its data, and its attempt reads it from
/// the spool.
const WAITING_DATA_BUDGET: usize = 64 * 1024 * 1024;

/// A started queue runner.
pub(crate) struct QueueRunner {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The settings of a queue runner.
pub(crate) struct RunnerSettings {
    /// Attempts running at the same time.
    pub(crate) workers: usize,
    /// Time running attempts get to finish on shutdown.
    pub(crate) shutdown_timeout: Duration,
}

impl QueueRunner {
    /// Starts the runner. It makes an attempt on each `recovered` entry at
    /// once and on each entry from `incoming` when its `next_attempt` comes.
    pub(crate) fn start(
        context: Arc<QueueContext>,
        incoming: mpsc::UnboundedReceiver<Queued>,
        recovered: Vec<Entry>,
        settings: RunnerSettings,
    ) -> QueueRunner {
        let (stop, stopped) = watch::channel(false);
        let now = Utc::now();
        let mut schedule = Schedule::default();
        for mut entry in recovered {
            entry.next_attempt = entry.next_attempt.min(now);
            schedule.insert(Queued::stored(entry));
        }

        let runner = Runner { context, incoming, schedule, stopped, settings, attempts: JoinSet::new() };
        QueueRunner { stop, task: tokio::spawn(runner.run()) }
    }

    /// Stops starting attempts, waits up to the shutdown timeout for those
    /// running and stops the rest. Every message stays in the spool in its
    /// last written state.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "queue runner ended abnormally");
        }
    }
}

/// Queued entries by due time.
#[derive(Default)]
struct Schedule {
    entries: BTreeMap<(DateTime<Utc>, QueueId), Queued>,
    /// Message data held by the entries, at most [`WAITING_DATA_BUDGET`].
    held_bytes: usize,
}

impl Schedule {
    fn insert(&mut self, mut queued: Queued) {
        if self.held_bytes.saturating_add(queued.held_bytes()) > WAITING_DATA_BUDGET {
            queued.release_data();
        }
        self.held_bytes += queued.held_bytes();
        self.entries.insert((queued.entry.next_attempt, queued.entry.queue_id.clone()), queued);
    }

    /// Due time of the earliest entry.
    fn next_due(&self) -> Option<DateTime<Utc>> {
        self.entries.keys().next().map(|(due, _)| *due)
    }

    /// Removes and returns the earliest entry when it is due at `now`.
    fn pop_due(&mut self, now: DateTime<Utc>) -> Option<Queued> {
        let due = self.next_due()?;
        if due > now {
            return None;
        }
        let (_, queued) = self.entries.pop_first()?;
        self.held_bytes -= queued.held_bytes();
        Some(queued)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

struct Runner {
    context: Arc<QueueContext>,
    incoming: mpsc::UnboundedReceiver<Queued>,
    schedule: Schedule,
    stopped: watch::Receiver<bool>,
    settings: RunnerSettings,
    attempts: JoinSet<AttemptResult>,
}

impl Runner {
    async fn run(mut self) {
        tracing::info!(queued = self.schedule.len(), workers = self.settings.workers, "queue runner started");

        loop {
            self.start_due_attempts();
            let wake_at = if self.attempts.len() < self.settings.workers { self.schedule.next_due() } else { None };
            let sleep = wake_at.map_or(IDLE_SLEEP, |due| (due - Utc::now()).to_std().unwrap_or(Duration::ZERO));

            tokio::select! {
                biased;
                _ = self.stopped.changed() => break,
                Some(joined) = self.attempts.join_next(), if !self.attempts.is_empty() => self.take_result(joined),
                Some(entry) = self.incoming.recv() => self.schedule.insert(entry),
                () = tokio::time::sleep(sleep) => {}
            }
        }

        self.drain().await;
    }

    /// Starts attempts on due entries while workers are free.
    fn start_due_attempts(&mut self) {
        let now = Utc::now();
        while self.attempts.len() < self.settings.workers {
            let Some(queued) = self.schedule.pop_due(now) else { break };
            self.attempts.spawn(attempt(Arc::clone(&self.context), queued));
        }
    }

    fn take_result(&mut self, joined: Result<AttemptResult, JoinError>) {
        match joined {
            Ok(AttemptResult::Deferred(entry)) => self.schedule.insert(Queued::stored(*entry)),
            Ok(AttemptResult::Finished) => {}
            Err(error) => {
                tracing::error!(%error, "queue attempt ended abnormally; its message stays in the spool until the next start")
            }
        }
    }

    /// Waits for running attempts up to the shutdown timeout and aborts the
    /// rest.
    async fn drain(mut self) {
        tracing::info!(running = self.attempts.len(), waiting = self.schedule.len(), "queue runner stopping");

        let attempts = &mut self.attempts;
        let wait_all = async {
            while let Some(joined) = attempts.join_next().await {
                if let Err(error) = joined {
                    tracing::error!(%error, "queue attempt ended abnormally");
                }
            }
        };
        if tokio::time::timeout(self.settings.shutdown_timeout, wait_all).await.is_err() {
            tracing::warn!(
                stopped = self.attempts.len(),
                timeout = ?self.settings.shutdown_timeout,
                "attempts still running at the shutdown timeout were stopped; their messages stay in the spool"
            );
            self.attempts.shutdown().await;
        }
        tracing::info!(spooled = self.context.spool.len(), "queue runner stopped");
    }
}

#[cfg(test)]
mod tests {
    use mailgate_queue::{QueuedEnvelope, Stage};

    use super::*;

    fn entry_due_at(due: DateTime<Utc>) -> Entry {
        let mut entry = Entry::new(QueueId::generate(), QueuedEnvelope::default(), Stage::Received, due);
        entry.next_attempt = due;
        entry
    }

    #[test]
    fn schedule_pops_due_entries_in_order() {
        let now = Utc::now();
        let later = entry_due_at(now + chrono::Duration::seconds(60));
        let first = entry_due_at(now - chrono::Duration::seconds(20));
        let second = entry_due_at(now - chrono::Duration::seconds(10));
        let mut schedule = Schedule::default();
        for entry in [later.clone(), second.clone(), first.clone()] {
            schedule.insert(Queued::stored(entry));
        }

        assert_eq!(schedule.pop_due(now).map(|queued| queued.entry.queue_id), Some(first.queue_id));
        assert_eq!(schedule.pop_due(now).map(|queued| queued.entry.queue_id), Some(second.queue_id));
        assert!(schedule.pop_due(now).is_none(), "an entry due later was returned");
        assert_eq!(schedule.next_due(), Some(later.next_attempt));
        assert_eq!(schedule.len(), 1);
    }

    #[test]
    fn schedule_bounds_held_data() {
        let now = Utc::now();
        let mut schedule = Schedule::default();
        let half = WAITING_DATA_BUDGET / 2 + 1;
        let mut senders = Vec::new();
        for _ in 0..3 {
            let (sender, committed) = tokio::sync::oneshot::channel();
            senders.push(sender);
            schedule.insert(Queued::fresh(entry_due_at(now), vec![0; half], committed));
        }

        let held: Vec<usize> = std::iter::from_fn(|| schedule.pop_due(now)).map(|queued| queued.held_bytes()).collect();

        assert_eq!(held.iter().filter(|bytes| **bytes == half).count(), 1, "held {held:?}");
        assert_eq!(held.len(), 3);
        assert_eq!(schedule.held_bytes, 0);
    }
}
