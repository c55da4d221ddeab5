//! Guest standard output and error, captured and logged with the rule name.
//!
//! Each invocation gets its own capture buffer of at most
//! [`MAX_CAPTURE_BYTES`]; writes beyond it are accepted and dropped, so a
//! chatty rule never fails because of its output. After the call, the
//! captured text is logged line by line through `tracing`, at most
//! [`MAX_LINES_PER_MINUTE`] lines per rule and minute; the number of lines
//! left out is logged when the next minute starts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// Bytes of output kept per stream and invocation.
pub const MAX_CAPTURE_BYTES: usize = 16 * 1024;

/// Lines of guest output logged per rule and minute.
pub const MAX_LINES_PER_MINUTE: u64 = 100;

/// Characters of one logged line; the rest is cut.
const MAX_LINE_CHARS: usize = 500;

/// A capped in-memory stream handed to the guest as stdout or stderr.
#[derive(Clone, Default)]
pub(crate) struct CapturedOutput {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl CapturedOutput {
    fn append(&self, bytes: &[u8]) {
        let Ok(mut buffer) = self.buffer.lock() else { return };
        let room = MAX_CAPTURE_BYTES.saturating_sub(buffer.len());
        buffer.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Takes the captured bytes, leaving the buffer empty.
    pub(crate) fn take(&self) -> Vec<u8> {
        self.buffer.lock().map(|mut buffer| std::mem::take(&mut *buffer)).unwrap_or_default()
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _context: &mut std::task::Context<'_>,
        bytes: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.append(bytes);
        std::task::Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: std::pin::Pin<&mut Self>, _context: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: std::pin::Pin<&mut Self>, _context: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// Per-rule budget of logged output lines.
#[derive(Debug, Default)]
pub(crate) struct OutputLog {
    /// Minute (since the Unix epoch) the counters belong to.
    minute: AtomicU64,
    logged: AtomicU64,
    dropped: AtomicU64,
}

impl OutputLog {
    /// Logs the captured `bytes` of `stream` for `rule` within the budget.
    pub(crate) fn log(&self, rule: &str, stream: &'static str, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.roll_minute(rule);

        let text = String::from_utf8_lossy(bytes);
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            if self.logged.fetch_add(1, Ordering::Relaxed) >= MAX_LINES_PER_MINUTE {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let line: String = line.chars().take(MAX_LINE_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
            tracing::info!(rule, stream, output = %line, "rule output");
        }
    }

    fn roll_minute(&self, rule: &str) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / 60;
        let previous = self.minute.swap(now, Ordering::Relaxed);
        if previous == now {
            return;
        }
        self.logged.store(0, Ordering::Relaxed);
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(rule, dropped, "rule output lines left out of the log in the previous minute");
        }
    }
}
