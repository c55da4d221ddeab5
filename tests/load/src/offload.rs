//! The offload benchmark: how long one message with a large attachment
//! takes through the gateway, next to a plain upload of the same file to
//! the same vault. The gateway runs a rule that uploads the attachment
//! instead of scanning it, such as the shipped `offload-scanning`.
//!
//! Each run sends one message and waits until the sink has all of it, then
//! uploads the file with [`VaultClient::upload_group`], the five-step group
//! transfer the gateway itself uses. One unmeasured warm-up run of each
//! comes first, so that neither side pays for its first connection. Between
//! the steps the tool pauses, so that the gateway's work after a delivery
//! (history, spool) does not overlap the next measurement.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mailgate_vault::{UploadFile, VaultClient, VaultClientConfig};
use tokio::sync::mpsc;

use crate::client::{Connection, Sent};
use crate::message;
use crate::sink::Arrival;
use crate::stats::{Samples, Summary};

/// Folder of the plain uploads in the vault.
const PLAIN_UPLOAD_FOLDER: &str = "Offload benchmark/plain upload";

/// Seed of the attachment's random bytes.
const FILE_SEED: u64 = 2026;

/// What to send, where, and how often.
pub struct Settings {
    pub gateway: SocketAddr,
    /// REST base URL of the vault the gateway uploads to.
    pub vault_url: String,
    pub vault_api_key: String,
    /// Size of the attachment in bytes, before base64.
    pub attachment: usize,
    /// Measured runs, after one warm-up run.
    pub runs: usize,
    /// Wait after each message and each upload.
    pub pause: Duration,
    /// Maximum wait for one message at the sink.
    pub delivery_timeout: Duration,
}

/// The times of one run.
struct RunTimes {
    to_accept: Duration,
    to_deliver: Duration,
    upload: Duration,
}

/// Results of the benchmark.
pub struct Report {
    attachment: usize,
    message_size: usize,
    runs: Vec<RunTimes>,
}

/// Runs the warm-up and the measured runs, alternating a message through
/// the gateway and a plain upload.
pub async fn run(settings: Settings, mut arrivals: mpsc::UnboundedReceiver<Arrival>) -> anyhow::Result<Report> {
    let mut config = VaultClientConfig::new(settings.vault_url.clone(), settings.vault_api_key.clone());
    config.request_timeout = settings.delivery_timeout;
    let vault = VaultClient::new(config)?;

    let file = Bytes::from(message::random_file(settings.attachment, FILE_SEED));
    let data = |id: usize| message::with_file(id, "random.bin", &file);
    let message_size = data(0).len().saturating_sub(b".\r\n".len());

    let mut runs = Vec::with_capacity(settings.runs);
    for id in 0..=settings.runs {
        let (to_accept, to_deliver) = send_and_wait(&settings, id, &data(id), &mut arrivals).await?;
        tokio::time::sleep(settings.pause).await;

        let upload = upload(&vault, id, &file).await?;
        tokio::time::sleep(settings.pause).await;

        let times = RunTimes { to_accept, to_deliver, upload };
        if id == 0 {
            eprintln!("warm-up: delivered after {:.1} ms, plain upload {:.1} ms", millis(to_deliver), millis(upload));
        } else {
            eprintln!("run {id}: delivered after {:.1} ms, plain upload {:.1} ms", millis(to_deliver), millis(upload));
            runs.push(times);
        }
    }

    Ok(Report { attachment: settings.attachment, message_size, runs })
}

/// Sends message `id` and waits for it at the sink. Returns the times from
/// the end of DATA to the 250 and to the arrival at the sink.
async fn send_and_wait(
    settings: &Settings,
    id: usize,
    data: &[u8],
    arrivals: &mut mpsc::UnboundedReceiver<Arrival>,
) -> anyhow::Result<(Duration, Duration)> {
    let mut connection = Connection::open(settings.gateway).await?;
    let sent = connection.send(data).await?;
    connection.close().await;

    let (data_ended, to_accept) = match sent {
        Sent::Accepted { data_ended, latency } => (data_ended, latency),
        Sent::Rejected { code } => anyhow::bail!("message {id}: the gateway replied {code}; see its log"),
        Sent::Failed => anyhow::bail!("message {id}: the connection to the gateway failed"),
    };

    let arrived = wait_for_arrival(id, arrivals, settings.delivery_timeout).await?;
    Ok((to_accept, arrived.saturating_duration_since(data_ended)))
}

/// Waits until message `id` reaches the sink and returns when it did.
/// Other arrivals, such as bounces, are skipped.
pub async fn wait_for_arrival(
    id: usize,
    arrivals: &mut mpsc::UnboundedReceiver<Arrival>,
    limit: Duration,
) -> anyhow::Result<Instant> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let arrival = tokio::time::timeout_at(deadline, arrivals.recv()).await;
        match arrival {
            Ok(Some(Arrival { id: Some(arrived), at })) if arrived == id => return Ok(at),
            Ok(Some(other)) => eprintln!("skipped an arrival at the sink with id {:?}", other.id),
            Ok(None) => anyhow::bail!("the sink stopped"),
            Err(_) => anyhow::bail!("message {id} did not reach the sink within {} s; see the gateway's log", limit.as_secs()),
        }
    }
}

/// Uploads `file` as one group with one file and returns the time it took.
async fn upload(vault: &VaultClient, id: usize, file: &Bytes) -> anyhow::Result<Duration> {
    let files = [UploadFile {
        folder: PLAIN_UPLOAD_FOLDER.to_string(),
        file_name: format!("random-{id}.bin"),
        content: file.clone(),
    }];

    let started = Instant::now();
    vault.upload_group(&files).await?;
    Ok(started.elapsed())
}

fn millis(value: Duration) -> f64 {
    value.as_secs_f64() * 1000.0
}

impl Report {
    fn summary(&self, time: impl Fn(&RunTimes) -> Duration) -> Option<Summary> {
        let mut samples = Samples::default();
        for run in &self.runs {
            samples.push(time(run));
        }
        samples.summary()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "attachment: {} bytes, message: {} bytes, measured runs: {}", self.attachment, self.message_size, self.runs.len())?;
        writeln!(f)?;
        writeln!(f, "| run | end of DATA to the 250 | end of DATA to the next hop | plain upload | next hop / upload |")?;
        writeln!(f, "|---|---|---|---|---|")?;
        for (index, run) in self.runs.iter().enumerate() {
            let ratio = run.to_deliver.as_secs_f64() / run.upload.as_secs_f64().max(f64::EPSILON);
            writeln!(
                f,
                "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {ratio:.2} |",
                index + 1,
                millis(run.to_accept),
                millis(run.to_deliver),
                millis(run.upload)
            )?;
        }

        let (Some(accept), Some(deliver), Some(upload)) = (
            self.summary(|run| run.to_accept),
            self.summary(|run| run.to_deliver),
            self.summary(|run| run.upload),
        ) else {
            return writeln!(f, "no measured runs");
        };
        let ratio = |deliver: Duration, upload: Duration| deliver.as_secs_f64() / upload.as_secs_f64().max(f64::EPSILON);
        writeln!(f, "| median | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} |", millis(accept.p50), millis(deliver.p50), millis(upload.p50), ratio(deliver.p50, upload.p50))?;
        let worst = self.runs.iter().map(|run| ratio(run.to_deliver, run.upload)).fold(0.0, f64::max);
        writeln!(f, "| max | {:.1} ms | {:.1} ms | {:.1} ms | {worst:.2} |", millis(accept.max), millis(deliver.max), millis(upload.max))?;
        writeln!(f)?;
        writeln!(f, "ratio in the median row: median by median; in the max row: the highest ratio of one run")?;
        writeln!(f, "delivery / plain upload, medians: {:.2} (target: at most 1.50)", ratio(deliver.p50, upload.p50))
    }
}
