//! One load run: a warm-up, then the measured messages over several
//! connections at once, then waiting for their deliveries.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::client::{Connection, Sent};
use crate::message;
use crate::sink::Arrival;
use crate::stats::{Samples, Summary};

/// What to send and for how long.
pub struct Settings {
    pub gateway: SocketAddr,
    pub messages: usize,
    pub connections: usize,
    pub size: usize,
    pub attachment: usize,
    pub max_sending: Duration,
    pub max_draining: Duration,
    pub warm_up: usize,
}

/// The outcome of sending one message.
struct Record {
    id: usize,
    sent: Sent,
}

/// Messages delivered to the sink so far, by number.
type Arrivals = Arc<Mutex<HashMap<usize, Instant>>>;

/// Results of a run.
pub struct Report {
    connections: usize,
    size: usize,
    attachment: usize,
    sent: usize,
    accepted: usize,
    rejected: HashMap<u16, usize>,
    errors: usize,
    delivered: usize,
    sending: Duration,
    until_delivered: Duration,
    to_accept: Option<Summary>,
    to_deliver: Option<Summary>,
}

/// Runs a warm-up of `settings.warm_up` messages, then sends the measured
/// ones and waits for them at the sink.
pub async fn run(settings: Settings, arrivals: mpsc::UnboundedReceiver<Arrival>) -> anyhow::Result<Report> {
    let settings = Arc::new(settings);
    let delivered: Arrivals = Arc::default();
    tokio::spawn(collect(arrivals, Arc::clone(&delivered)));

    if settings.warm_up > 0 {
        let warm_up = send_all(&settings, 0..settings.warm_up).await;
        let accepted = warm_up.iter().filter(|record| matches!(record.sent, Sent::Accepted { .. })).count();
        wait_for(&delivered, accepted, settings.max_draining).await;
        eprintln!("warm-up: {accepted} of {} messages accepted", settings.warm_up);
    }

    let first = settings.warm_up;
    let started = Instant::now();
    let records = send_all(&settings, first..first + settings.messages).await;
    let sending = started.elapsed();

    let accepted = records.iter().filter(|record| matches!(record.sent, Sent::Accepted { .. })).count();
    let measured_delivered = wait_for_range(&delivered, first, accepted, settings.max_draining).await;
    let until_delivered = started.elapsed();

    Ok(summarise(&settings, records, &delivered, measured_delivered, sending, until_delivered))
}

/// Sends the messages numbered `ids` over `settings.connections`
/// connections, each taking the next number until none is left or the
/// sending time is up.
async fn send_all(settings: &Arc<Settings>, ids: std::ops::Range<usize>) -> Vec<Record> {
    let next = Arc::new(AtomicUsize::new(ids.start));
    let deadline = Instant::now() + settings.max_sending;
    let mut workers = Vec::new();

    for _ in 0..settings.connections {
        let settings = Arc::clone(settings);
        let next = Arc::clone(&next);
        let end = ids.end;
        workers.push(tokio::spawn(async move { send_some(&settings, &next, end, deadline).await }));
    }

    let mut records = Vec::new();
    for worker in workers {
        match worker.await {
            Ok(mut sent) => records.append(&mut sent),
            Err(error) => eprintln!("a sending connection failed: {error}"),
        }
    }
    records
}

/// Sends messages over one connection until none is left or time is up.
/// A broken connection is opened again, and its message counts as an error.
async fn send_some(settings: &Settings, next: &AtomicUsize, end: usize, deadline: Instant) -> Vec<Record> {
    let mut records = Vec::new();
    let mut connection: Option<Connection> = None;

    loop {
        let id = next.fetch_add(1, Ordering::Relaxed);
        if id >= end || Instant::now() >= deadline {
            break;
        }

        let data = message::data(id, settings.size, settings.attachment);
        let result = match connection.as_mut() {
            Some(open) => open.send(&data).await,
            None => match Connection::open(settings.gateway).await {
                Ok(mut open) => {
                    let result = open.send(&data).await;
                    connection = Some(open);
                    result
                }
                Err(error) => Err(error),
            },
        };

        match result {
            Ok(sent) => records.push(Record { id, sent }),
            Err(error) => {
                eprintln!("message {id}: {error}");
                connection = None;
                records.push(Record { id, sent: Sent::Failed });
            }
        }
    }

    if let Some(open) = connection {
        open.close().await;
    }
    records
}

/// Moves arrivals from the sink into `delivered`.
async fn collect(mut arrivals: mpsc::UnboundedReceiver<Arrival>, delivered: Arrivals) {
    while let Some(arrival) = arrivals.recv().await {
        if let Some(id) = arrival.id {
            let mut delivered = delivered.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            delivered.entry(id).or_insert(arrival.at);
        }
    }
}

/// Waits until `count` messages have arrived in all, or `limit` passed.
async fn wait_for(delivered: &Arrivals, count: usize, limit: Duration) {
    wait_for_range(delivered, 0, count, limit).await;
}

/// Waits until `count` messages numbered `first` or above have arrived, or
/// `limit` passed, and returns how many arrived.
async fn wait_for_range(delivered: &Arrivals, first: usize, count: usize, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let arrived = {
            let delivered = delivered.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            delivered.keys().filter(|id| **id >= first).count()
        };
        if arrived >= count || Instant::now() >= deadline {
            return arrived;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn summarise(
    settings: &Settings,
    records: Vec<Record>,
    delivered: &Arrivals,
    measured_delivered: usize,
    sending: Duration,
    until_delivered: Duration,
) -> Report {
    let delivered = delivered.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut to_accept = Samples::default();
    let mut to_deliver = Samples::default();
    let mut rejected = HashMap::new();
    let mut errors = 0;

    for record in &records {
        match &record.sent {
            Sent::Accepted { data_ended, latency } => {
                to_accept.push(*latency);
                if let Some(arrived) = delivered.get(&record.id) {
                    to_deliver.push(arrived.saturating_duration_since(*data_ended));
                }
            }
            Sent::Rejected { code } => *rejected.entry(*code).or_insert(0) += 1,
            Sent::Failed => errors += 1,
        }
    }

    Report {
        connections: settings.connections,
        size: settings.size,
        attachment: settings.attachment,
        sent: records.len(),
        accepted: to_accept.len(),
        rejected,
        errors,
        delivered: measured_delivered,
        sending,
        until_delivered,
        to_accept: to_accept.summary(),
        to_deliver: to_deliver.summary(),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = |count: usize, time: Duration| count as f64 / time.as_secs_f64().max(f64::EPSILON);

        writeln!(f, "connections: {}, message size: {} bytes, attachment: {} bytes", self.connections, self.size, self.attachment)?;
        writeln!(
            f,
            "sent: {}, accepted: {}, rejected: {:?}, connection errors: {}, delivered: {}",
            self.sent, self.accepted, self.rejected, self.errors, self.delivered
        )?;
        writeln!(f, "accepted per second: {:.0} (over {:.1} s of sending)", rate(self.accepted, self.sending), self.sending.as_secs_f64())?;
        writeln!(
            f,
            "delivered per second: {:.0} (over {:.1} s until the last delivery)",
            rate(self.delivered, self.until_delivered),
            self.until_delivered.as_secs_f64()
        )?;
        writeln!(f)?;
        writeln!(f, "| latency from the end of DATA | p50 | p90 | p99 | max |")?;
        writeln!(f, "|---|---|---|---|---|")?;
        for (name, summary) in [("to the 250 reply", &self.to_accept), ("to the arrival at the next hop", &self.to_deliver)] {
            match summary {
                Some(summary) => writeln!(f, "| {name} | {summary} |")?,
                None => writeln!(f, "| {name} | no samples | | | |")?,
            }
        }
        Ok(())
    }
}
