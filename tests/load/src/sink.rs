//! The next hop of a load run: an SMTP server that takes every message and
//! reports the time it arrived, keyed by the message's `X-Load-Id` header.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use mailgate_smtp::{MessageHandler, NoSink, Outcome, ReceivedMessage, SmtpServer, SmtpServerConfig};
use tokio::sync::mpsc;

/// Name of the header that carries a message's number in the run.
pub const LOAD_ID_HEADER: &str = "X-Load-Id";

/// One message that reached the sink.
pub struct Arrival {
    /// The message's number, or `None` when it carried no readable
    /// `X-Load-Id`, such as a bounce.
    pub id: Option<usize>,
    pub at: Instant,
}

struct Recorder(mpsc::UnboundedSender<Arrival>);

impl MessageHandler for Recorder {
    type Sink = NoSink;

    fn handle(&self, message: ReceivedMessage) -> impl std::future::Future<Output = Outcome> + Send {
        let arrival = Arrival { id: load_id(&message.data), at: Instant::now() };
        let _ = self.0.send(arrival);
        std::future::ready(Outcome::Accepted { queue_id: "LOAD".to_string() })
    }
}

/// Starts the sink on `listen` and returns the channel of arrivals. The
/// sink runs until the process ends.
pub async fn start(listen: SocketAddr) -> anyhow::Result<mpsc::UnboundedReceiver<Arrival>> {
    let config = SmtpServerConfig {
        listen,
        hostname: "sink.load.test".to_string(),
        max_message_size: 64 * 1024 * 1024,
        max_connections: 4096,
        max_connections_per_client: 4096,
        ..SmtpServerConfig::default()
    };
    let server = SmtpServer::bind(config).await?;
    let (sender, receiver) = mpsc::unbounded_channel();

    tokio::spawn(async move {
        let never = std::future::pending::<()>();
        if let Err(error) = server.run(Arc::new(Recorder(sender)), never).await {
            eprintln!("sink stopped: {error}");
        }
    });
    Ok(receiver)
}

/// Reads the number from the `X-Load-Id` header in the header block.
fn load_id(data: &[u8]) -> Option<usize> {
    let header_end = data.windows(4).position(|window| window == b"\r\n\r\n").unwrap_or(data.len());
    let headers = std::str::from_utf8(&data[..header_end]).ok()?;

    headers.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if name.eq_ignore_ascii_case(LOAD_ID_HEADER) { value.trim().parse().ok() } else { None }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_id_read_from_headers_only() {
        let cases: [(&[u8], Option<usize>); 4] = [
            (b"Subject: x\r\nX-Load-Id: 42\r\n\r\nbody", Some(42)),
            (b"x-load-id:7\r\n\r\n", Some(7)),
            (b"Subject: x\r\n\r\nX-Load-Id: 42\r\n", None),
            (b"X-Load-Id: many\r\n\r\n", None),
        ];

        for (data, expected) in cases {
            assert_eq!(load_id(data), expected, "{}", String::from_utf8_lossy(data));
        }
    }
}
