//! Test server and SMTP client shared by the integration tests: a real
//! `SmtpServer` on 127.0.0.1 with a recording handler.

#![allow(dead_code)]

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailgate_smtp::{MessageHandler, NoSink, Outcome, ReceivedMessage, SmtpServer, SmtpServerConfig};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Upper bound for any single read in these tests, so a bug fails the test
/// instead of hanging it.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Handler that records every message and returns a configured outcome.
pub struct RecordingHandler {
    messages: Mutex<Vec<ReceivedMessage>>,
    outcome: Mutex<Outcome>,
}

impl RecordingHandler {
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        self.messages.lock().unwrap().clone()
    }

    pub fn set_outcome(&self, outcome: Outcome) {
        *self.outcome.lock().unwrap() = outcome;
    }
}

impl MessageHandler for RecordingHandler {
    type Sink = NoSink;

    async fn handle(&self, message: ReceivedMessage) -> Outcome {
        self.messages.lock().unwrap().push(message);
        self.outcome.lock().unwrap().clone()
    }
}

pub struct TestServer {
    pub address: SocketAddr,
    pub handler: Arc<RecordingHandler>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

impl TestServer {
    pub async fn start(config: SmtpServerConfig) -> TestServer {
        let config = SmtpServerConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            hostname: "mx.test.example".to_string(),
            ..config
        };
        let server = SmtpServer::bind(config).await.expect("bind on 127.0.0.1:0");
        let address = server.local_addr();
        let handler = Arc::new(RecordingHandler {
            messages: Mutex::new(Vec::new()),
            outcome: Mutex::new(Outcome::Accepted {
                queue_id: "Q1".to_string(),
            }),
        });
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();

        let task = tokio::spawn(server.run(Arc::clone(&handler), async move {
            let _ = shutdown_signal.await;
        }));

        TestServer {
            address,
            handler,
            shutdown: Some(shutdown),
            task,
        }
    }

    pub async fn connect(&self) -> Client {
        let stream = TcpStream::connect(self.address)
            .await
            .expect("connect to test server");
        let mut client = Client {
            stream: BufReader::new(stream),
        };

        let greeting = client.read_reply().await;
        assert_eq!(greeting, "220 mx.test.example ESMTP mailgate");
        client
    }

    /// Connects and sends EHLO, checking that it succeeds.
    pub async fn connect_ehlo(&self) -> Client {
        let mut client = self.connect().await;

        let reply = client.command("EHLO client.test.example").await;
        assert!(
            reply.starts_with("250-mx.test.example"),
            "EHLO reply: {reply}"
        );
        client
    }

    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let result = tokio::time::timeout(READ_TIMEOUT, self.task).await;

        let run_result = result
            .expect("server stops in time")
            .expect("server task not panicked");
        run_result.expect("server run returns Ok");
    }
}

pub struct Client<S = TcpStream> {
    pub stream: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream
            .get_mut()
            .write_all(bytes)
            .await
            .expect("write to server");
    }

    /// Reads one reply; the lines of a multi-line reply are joined with "\n".
    pub async fn read_reply(&mut self) -> String {
        let mut lines = Vec::new();

        loop {
            let mut line = String::new();
            let read = tokio::time::timeout(READ_TIMEOUT, self.stream.read_line(&mut line)).await;
            let count = read.expect("reply within timeout").expect("read reply");
            assert!(
                count > 0,
                "connection closed while waiting for a reply, got {lines:?}"
            );
            assert!(line.ends_with("\r\n"), "reply line without CR LF: {line:?}");

            let line = line.trim_end_matches("\r\n").to_string();
            let last = line.as_bytes().get(3) == Some(&b' ') || line.len() == 3;
            lines.push(line);
            if last {
                return lines.join("\n");
            }
        }
    }

    pub async fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.read_reply().await
    }

    /// Asserts that the server closes the connection without sending more.
    pub async fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(READ_TIMEOUT, self.stream.read_to_end(&mut rest)).await;

        read.expect("close within timeout")
            .expect("read until close");
        assert_eq!(
            String::from_utf8_lossy(&rest),
            "",
            "unexpected bytes before close"
        );
    }

    /// Runs MAIL, RCPT and DATA for one message and returns the DATA reply.
    pub async fn send_message(&mut self, body: &[u8]) -> String {
        assert_eq!(
            self.command("MAIL FROM:<sender@test.example>").await,
            "250 2.1.0 sender OK"
        );
        assert_eq!(
            self.command("RCPT TO:<rcpt@test.example>").await,
            "250 2.1.5 recipient OK"
        );
        assert_eq!(
            self.command("DATA").await,
            "354 End data with <CR><LF>.<CR><LF>"
        );

        self.send(body).await;
        self.send(b".\r\n").await;
        self.read_reply().await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Asserts that the server ends the connection, by a close or a reset,
    /// without sending a reply.
    pub async fn expect_closed_or_reset(&mut self) {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(READ_TIMEOUT, self.stream.read_to_end(&mut rest)).await;

        let result = read.expect("close within timeout");
        if result.is_ok() {
            assert!(
                !rest.starts_with(b"2"),
                "unexpected reply before close: {}",
                String::from_utf8_lossy(&rest)
            );
        }
    }
}
