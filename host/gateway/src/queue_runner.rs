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

/// Maximum sleep of the runner while nothing is due. A new entry wakes it
/// earlier.
const IDLE_SLEEP: Duration = Duration::from_secs(3600);

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
        incoming: mpsc::UnboundedReceiver<Entry>,
        recovered: Vec<Entry>,
        settings: RunnerSettings,
    ) -> QueueRunner {
        let (stop, stopped) = watch::channel(false);
        let now = Utc::now();
        let mut schedule = Schedule::default();
        for mut entry in recovered {
            entry.next_attempt = entry.next_attempt.min(now);
            schedule.insert(entry);
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
    entries: BTreeMap<(DateTime<Utc>, QueueId), Entry>,
}

impl Schedule {
    fn insert(&mut self, entry: Entry) {
        self.entries.insert((entry.next_attempt, entry.queue_id.clone()), entry);
    }

    /// Due time of the earliest entry.
    fn next_due(&self) -> Option<DateTime<Utc>> {
        self.entries.keys().next().map(|(due, _)| *due)
    }

    /// Removes and returns the earliest entry when it is due at `now`.
    fn pop_due(&mut self, now: DateTime<Utc>) -> Option<Entry> {
        let due = self.next_due()?;
        if due > now {
            return None;
        }
        self.entries.pop_first().map(|(_, entry)| entry)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

struct Runner {
    context: Arc<QueueContext>,
    incoming: mpsc::UnboundedReceiver<Entry>,
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
            let Some(entry) = self.schedule.pop_due(now) else { break };
            self.attempts.spawn(attempt(Arc::clone(&self.context), entry));
        }
    }

    fn take_result(&mut self, joined: Result<AttemptResult, JoinError>) {
        match joined {
            Ok(AttemptResult::Deferred(entry)) => self.schedule.insert(*entry),
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
            schedule.insert(entry);
        }

        assert_eq!(schedule.pop_due(now).map(|entry| entry.queue_id), Some(first.queue_id));
        assert_eq!(schedule.pop_due(now).map(|entry| entry.queue_id), Some(second.queue_id));
        assert!(schedule.pop_due(now).is_none(), "an entry due later was returned");
        assert_eq!(schedule.next_due(), Some(later.next_attempt));
        assert_eq!(schedule.len(), 1);
    }
}
