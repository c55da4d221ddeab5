//! The memory benchmark: the gateway's peak resident memory while it
//! processes one message with a large attachment, above its idle memory.
//!
//! The tool reads `VmRSS` of the idle gateway from `/proc/<pid>/status`.
//! Then it resets the peak (`VmHWM`) to that value by writing `5` to
//! `/proc/<pid>/clear_refs` (Linux 4.0 and later, see proc(5)). It sends
//! the message, waits until the sink has it and reads `VmHWM` again. The
//! reset keeps the peak of start-up, when the rules are compiled, out of
//! the result. When the reset is not permitted, the peak since the start
//! is reported and marked as such.
//!
//! A task also samples `VmRSS` every few milliseconds, to show when the
//! peak occurred relative to the 250 reply and the delivery.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::client::{Connection, Sent};
use crate::message;
use crate::offload::wait_for_arrival;
use crate::sink::Arrival;

/// Interval between two samples of `VmRSS`.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(5);

/// Seed of the attachment's random bytes.
const FILE_SEED: u64 = 25;

/// What to send and whose memory to read.
pub struct Settings {
    pub gateway: SocketAddr,
    /// Process id of the gateway, which must run on this machine.
    pub gateway_pid: u32,
    /// Size of the attachment in bytes, before base64.
    pub attachment: usize,
    /// Wait after the delivery before the peak is read, so that work after
    /// the delivery counts too.
    pub settle: Duration,
    /// Maximum wait for the message at the sink.
    pub delivery_timeout: Duration,
}

/// Results of the benchmark, memory in bytes.
pub struct Report {
    attachment: usize,
    message_size: usize,
    idle: u64,
    peak: u64,
    after: u64,
    peak_reset: bool,
    to_accept: Duration,
    to_deliver: Duration,
    /// Highest sampled `VmRSS` and its time after the end of DATA. The time
    /// is `None` when the sample came before the end of DATA.
    sampled_peak: (u64, Option<Duration>),
}

/// Measures the gateway's memory for one message, as the module describes.
pub async fn run(settings: Settings, mut arrivals: mpsc::UnboundedReceiver<Arrival>) -> anyhow::Result<Report> {
    let status = format!("/proc/{}/status", settings.gateway_pid);
    let clear_refs = format!("/proc/{}/clear_refs", settings.gateway_pid);

    let file = message::random_file(settings.attachment, FILE_SEED);
    let data = message::with_file(1, "random.bin", &file);
    drop(file);

    let idle = read_status(&status, "VmRSS")?;
    let peak_reset = match std::fs::write(&clear_refs, b"5") {
        Ok(()) => true,
        Err(error) => {
            eprintln!("failed to reset the peak in {clear_refs}: {error}. The peak below includes the gateway's start.");
            false
        }
    };

    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = tokio::spawn(sample(status.clone(), Arc::clone(&samples)));

    let mut connection = Connection::open(settings.gateway).await?;
    let sent = connection.send(&data).await?;
    connection.close().await;
    let (data_ended, to_accept) = match sent {
        Sent::Accepted { data_ended, latency } => (data_ended, latency),
        Sent::Rejected { code } => anyhow::bail!("the gateway replied {code}; see its log (is smtp.max_message_size large enough?)"),
        Sent::Failed => anyhow::bail!("the connection to the gateway failed"),
    };
    let arrived = wait_for_arrival(1, &mut arrivals, settings.delivery_timeout).await?;
    tokio::time::sleep(settings.settle).await;

    sampler.abort();
    let peak = read_status(&status, "VmHWM")?;
    let after = read_status(&status, "VmRSS")?;
    let samples = samples.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let sampled_peak = samples
        .iter()
        .max_by_key(|(_, rss)| *rss)
        .map_or((0, None), |(at, rss)| (*rss, at.checked_duration_since(data_ended)));

    Ok(Report {
        attachment: settings.attachment,
        message_size: data.len() - b".\r\n".len(),
        idle,
        peak,
        after,
        peak_reset,
        to_accept,
        to_deliver: arrived.saturating_duration_since(data_ended),
        sampled_peak,
    })
}

/// Reads `VmRSS` every [`SAMPLE_INTERVAL`] into `samples` until aborted.
async fn sample(status: String, samples: Arc<Mutex<Vec<(Instant, u64)>>>) {
    let mut interval = tokio::time::interval(SAMPLE_INTERVAL);
    loop {
        interval.tick().await;
        let Ok(rss) = read_status(&status, "VmRSS") else { return };
        samples.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((Instant::now(), rss));
    }
}

/// Reads one field of `/proc/<pid>/status` and returns it in bytes (the
/// file gives kB).
fn read_status(path: &str, field: &str) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(path).map_err(|error| anyhow::anyhow!("failed to read {path}: {error}. Is the gateway running?"))?;
    parse_status(&text, field).ok_or_else(|| anyhow::anyhow!("{path} has no valid {field} line"))
}

fn parse_status(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.split(':').next() == Some(field))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        let growth = self.peak.saturating_sub(self.idle);
        let ratio = growth as f64 / (self.message_size as f64).max(1.0);

        writeln!(f, "attachment: {} bytes, message: {} bytes ({:.1} MiB)", self.attachment, self.message_size, mib(self.message_size as u64))?;
        writeln!(f, "end of DATA to the 250: {:.1} ms, to the next hop: {:.1} ms", self.to_accept.as_secs_f64() * 1000.0, self.to_deliver.as_secs_f64() * 1000.0)?;
        writeln!(f, "idle RSS: {:.1} MiB", mib(self.idle))?;
        let since = if self.peak_reset { "since the reset at idle" } else { "since the gateway started" };
        writeln!(f, "peak RSS (VmHWM, {since}): {:.1} MiB", mib(self.peak))?;
        writeln!(f, "RSS after the delivery: {:.1} MiB", mib(self.after))?;
        match self.sampled_peak {
            (rss, Some(at)) => writeln!(f, "highest sampled RSS: {:.1} MiB, {:.0} ms after the end of DATA", mib(rss), at.as_secs_f64() * 1000.0)?,
            (rss, None) => writeln!(f, "highest sampled RSS: {:.1} MiB, before the end of DATA", mib(rss))?,
        }
        writeln!(f, "peak minus idle: {:.1} MiB = {ratio:.2} times the message size (target: below 4)", mib(growth))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_field_in_bytes() {
        let text = "Name:\tmailgate\nVmHWM:\t  120432 kB\nVmRSS:\t   98304 kB\n";

        assert_eq!(parse_status(text, "VmHWM"), Some(120_432 * 1024));
        assert_eq!(parse_status(text, "VmRSS"), Some(98_304 * 1024));
        assert_eq!(parse_status(text, "VmSwap"), None);
    }
}
