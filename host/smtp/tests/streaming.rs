//! A handler that takes large messages while they arrive: which messages
//! reach its sink, in what pieces, and that the sink of a message that is
//! not completed is dropped.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Client, READ_TIMEOUT};
use mailgate_smtp::{
    DataSink, IncomingEnvelope, MessageHandler, Outcome, ReceivedMessage, STREAM_CHUNK, STREAM_THRESHOLD, SmtpServer,
    SmtpServerConfig,
};
use tokio::io::BufReader;
use tokio::net::TcpStream;

/// What the handler saw, in order.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Opened { mail_from: String, rcpt_to: Vec<String> },
    /// A message that reached `handle`, with its size.
    Whole(usize),
    /// A message that reached `handle_streamed`, with the sizes of the
    /// sink's writes.
    Streamed { writes: Vec<usize>, prefix_matches: bool, size: usize },
    /// A sink dropped before its message ended, with the bytes it got.
    Dropped(usize),
}

#[derive(Default)]
struct StreamingHandler {
    seen: Arc<Mutex<Vec<Seen>>>,
}

struct RecordingSink {
    seen: Arc<Mutex<Vec<Seen>>>,
    writes: Vec<usize>,
    bytes: Vec<u8>,
    finished: bool,
}

impl DataSink for RecordingSink {
    async fn write(&mut self, bytes: &[u8]) {
        self.writes.push(bytes.len());
        self.bytes.extend_from_slice(bytes);
    }
}

impl Drop for RecordingSink {
    fn drop(&mut self) {
        if !self.finished {
            self.seen.lock().unwrap().push(Seen::Dropped(self.bytes.len()));
        }
    }
}

impl MessageHandler for StreamingHandler {
    type Sink = RecordingSink;

    fn open_sink(&self, envelope: IncomingEnvelope<'_>) -> Option<RecordingSink> {
        let opened = Seen::Opened { mail_from: envelope.mail_from.to_string(), rcpt_to: envelope.rcpt_to.to_vec() };
        self.seen.lock().unwrap().push(opened);
        Some(RecordingSink { seen: Arc::clone(&self.seen), writes: Vec::new(), bytes: Vec::new(), finished: false })
    }

    async fn handle(&self, message: ReceivedMessage) -> Outcome {
        self.seen.lock().unwrap().push(Seen::Whole(message.data.len()));
        Outcome::Accepted { queue_id: "WHOLE".to_string() }
    }

    async fn handle_streamed(&self, message: ReceivedMessage, mut sink: RecordingSink) -> Outcome {
        sink.finished = true;
        let streamed = Seen::Streamed {
            writes: std::mem::take(&mut sink.writes),
            prefix_matches: message.data.starts_with(&sink.bytes),
            size: message.data.len(),
        };
        self.seen.lock().unwrap().push(streamed);
        Outcome::Accepted { queue_id: "STREAMED".to_string() }
    }
}

async fn start(max_message_size: usize) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let config = SmtpServerConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        hostname: "mx.test.example".to_string(),
        max_message_size,
        ..SmtpServerConfig::default()
    };
    let server = SmtpServer::bind(config).await.expect("bind on 127.0.0.1:0");
    let address = server.local_addr();
    let handler = Arc::new(StreamingHandler::default());
    let seen = Arc::clone(&handler.seen);
    tokio::spawn(server.run(handler, std::future::pending::<()>()));
    (address, seen)
}

async fn connect(address: SocketAddr) -> Client {
    let stream = TcpStream::connect(address).await.expect("connect to the test server");
    let mut client = Client { stream: BufReader::new(stream) };
    client.read_reply().await;
    assert!(client.command("EHLO client.test.example").await.starts_with("250"));
    client
}

/// Sends MAIL, RCPT and DATA, so that the message data follows.
async fn start_data(client: &mut Client) {
    assert!(client.command("MAIL FROM:<sender@test.example>").await.starts_with("250"));
    assert!(client.command("RCPT TO:<rcpt@test.example>").await.starts_with("250"));
    assert!(client.command("DATA").await.starts_with("354"));
}

/// Builds a message of `lines` lines of 1,000 bytes each, some starting with a dot.
fn body(lines: usize) -> Vec<u8> {
    let mut body = b"Subject: large\r\n\r\n".to_vec();
    for number in 0..lines {
        let first = if number % 7 == 0 { b'.' } else { b'a' };
        body.push(first);
        body.extend_from_slice(&[b'x'; 997]);
        body.extend_from_slice(b"\r\n");
    }
    body
}

/// Returns the size of `body(lines)` after dot-unstuffing.
fn unstuffed_size(lines: usize) -> usize {
    body(lines).len() - lines.div_ceil(7)
}

async fn wait_for(seen: &Mutex<Vec<Seen>>, count: usize) {
    let waiting = async {
        while seen.lock().unwrap().len() < count {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(READ_TIMEOUT, waiting).await.expect("the handler sees the message in time");
}

#[tokio::test]
async fn large_message_reaches_its_sink_while_it_arrives() {
    let (address, seen) = start(8 * 1024 * 1024).await;
    let mut client = connect(address).await;

    let reply = client.send_message(&body(3_500)).await;
    let small = client.send_message(b"Subject: small\r\n\r\nhi\r\n").await;

    assert_eq!(reply, "250 2.0.0 OK queued as STREAMED");
    assert_eq!(small, "250 2.0.0 OK queued as WHOLE");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "{seen:?}");
    let Seen::Opened { mail_from, rcpt_to, .. } = &seen[0] else { panic!("{seen:?}") };
    assert_eq!((mail_from.as_str(), rcpt_to.as_slice()), ("sender@test.example", &["rcpt@test.example".to_string()][..]));
    let Seen::Streamed { writes, prefix_matches, size } = &seen[1] else { panic!("{seen:?}") };
    assert!(prefix_matches);
    assert_eq!(*size, unstuffed_size(3_500));
    assert!(writes[0] >= STREAM_THRESHOLD, "{writes:?}");
    assert!(writes[1..].iter().all(|write| *write >= STREAM_CHUNK), "{writes:?}");
    assert!(writes.iter().sum::<usize>() > *size - STREAM_CHUNK, "{writes:?}");
    assert_eq!(seen[2], Seen::Whole(b"Subject: small\r\n\r\nhi\r\n".len()));
}

#[tokio::test]
async fn message_over_the_limit_drops_its_sink() {
    let (address, seen) = start(2 * 1024 * 1024).await;
    let mut client = connect(address).await;

    let reply = client.send_message(&body(3_000)).await;
    let next = client.send_message(&body(1_500)).await;

    assert!(reply.starts_with("552 5.3.4"), "{reply}");
    assert_eq!(next, "250 2.0.0 OK queued as STREAMED");
    let seen = seen.lock().unwrap();
    assert!(matches!(seen[0], Seen::Opened { .. }), "{seen:?}");
    assert!(matches!(seen[1], Seen::Dropped(bytes) if bytes >= STREAM_THRESHOLD), "{seen:?}");
    assert!(matches!(seen[2], Seen::Opened { .. }), "{seen:?}");
    assert!(matches!(seen[3], Seen::Streamed { prefix_matches: true, .. }), "{seen:?}");
}

#[tokio::test]
async fn sink_dropped_once_limit_exceeded() {
    let (address, seen) = start(2 * 1024 * 1024).await;
    let mut client = connect(address).await;
    start_data(&mut client).await;

    client.send(&body(3_000)).await;
    wait_for(&seen, 2).await;
    let dropped_before_the_end = matches!(seen.lock().unwrap()[1], Seen::Dropped(_));
    client.send(b".\r\n").await;
    let reply = client.read_reply().await;

    assert!(dropped_before_the_end, "{:?}", seen.lock().unwrap());
    assert!(reply.starts_with("552 5.3.4"), "{reply}");
}

#[tokio::test]
async fn client_leaving_inside_data_drops_the_sink() {
    let (address, seen) = start(8 * 1024 * 1024).await;
    let mut client = connect(address).await;
    start_data(&mut client).await;

    client.send(&body(2_000)).await;
    wait_for(&seen, 1).await;
    drop(client);

    wait_for(&seen, 2).await;
    let seen = seen.lock().unwrap();
    assert!(matches!(seen[1], Seen::Dropped(bytes) if bytes >= STREAM_THRESHOLD), "{seen:?}");
}

#[tokio::test]
async fn small_message_goes_whole() {
    let (address, seen) = start(8 * 1024 * 1024).await;
    let mut client = connect(address).await;

    let size = STREAM_THRESHOLD / 1_000 - 30;
    let reply = client.send_message(&body(size)).await;

    assert_eq!(reply, "250 2.0.0 OK queued as WHOLE");
    assert_eq!(*seen.lock().unwrap(), [Seen::Whole(unstuffed_size(size))]);
}
