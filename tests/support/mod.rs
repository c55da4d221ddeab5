//! Helpers for the end-to-end tests: a gateway on loopback ports, an SMTP
//! sink acting as next hop, and a plain SMTP client.
//!
//! Everything listens on 127.0.0.1 with ports chosen by the kernel.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mailgate::{Config, Gateway, RuleConfig, RunningGateway, SmtpMode};
use mailgate_smtp::{DomainPattern, MessageHandler, NoSink, Outcome, ReceivedMessage, SmtpServer, SmtpServerConfig, TlsConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc};

/// API key of the built-in vault in tests.
pub const VAULT_KEY: &str = "test-key-0123456789abcdefghijk";

/// Reads a file from `examples/mail`.
pub fn sample(name: &str) -> Vec<u8> {
    let path = workspace().join("examples/mail").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// Returns the workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Path of a test rule component built from `plugins/testing`.
pub fn test_rule(file_stem: &str) -> PathBuf {
    Path::new(mailgate_rules::COMPONENT_DIR).join(format!("{file_stem}.wasm"))
}

/// Configures a shipped rule with default limits.
pub fn shipped_rule(name: &str) -> RuleConfig {
    RuleConfig::shipped(name)
}

/// Configures a rule from a component file with a time limit in milliseconds.
pub fn file_rule(name: &str, path: PathBuf, timeout_ms: u64) -> RuleConfig {
    RuleConfig { timeout_ms, ..RuleConfig::file(name, path) }
}

/// Builds a configuration on ephemeral loopback ports, with the built-in vault's
/// data under `data_dir` and delivery to `relay`.
pub fn config(data_dir: &Path, relay: SocketAddr, rules: Vec<RuleConfig>) -> Config {
    let mut config = Config::default();
    config.smtp.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.smtp.command_timeout_secs = 30;
    config.builtin_vault.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.builtin_vault.data_dir = data_dir.join("vault");
    config.builtin_vault.api_key = Some(VAULT_KEY.to_string());
    config.delivery.relay = Some(relay.to_string());
    config.delivery.timeout_secs = 10;
    config.rule_set.cache_dir = data_dir.join("cache");
    config.history.path = data_dir.join("history.sqlite");
    config.queue.directory = data_dir.join("queue");
    config.rule_set.watch = false;
    config.rules = rules;
    config
}

/// Builds [`config`] in before-queue mode: the client gets 451 or 550 when
/// processing or delivery fails.
pub fn before_queue_config(data_dir: &Path, relay: SocketAddr, rules: Vec<RuleConfig>) -> Config {
    let mut config = config(data_dir, relay, rules);
    config.smtp.mode = SmtpMode::BeforeQueue;
    config
}

/// Returns a loopback address with nothing listening on it, for a next hop
/// that is down. A sink can start on it later with [`SmtpSink::start_on`].
pub async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    address
}

/// Starts a gateway with `config`.
pub async fn start_gateway(config: Config) -> RunningGateway {
    Gateway::start(config).await.expect("gateway starts")
}

/// Points `config` at an external vault on a loopback port where nothing
/// listens.
pub async fn use_unreachable_vault(config: &mut Config) {
    config.vault.url = Some(format!("http://{}/vault_rest", closed_port().await));
    config.vault.api_key = Some("unused-key".to_string());
}

/// Waits up to 10 seconds for the history record of `queue_id`: in
/// after-queue mode the gateway records a message once its final outcome is
/// known, which can be just after the next hop got it.
pub async fn final_record(gateway: &RunningGateway, queue_id: &str) -> mailgate_history::MessageRecord {
    let history = gateway.history().expect("history enabled");
    for _ in 0..100 {
        let key = mailgate_history::RecordKey::QueueId(queue_id.to_string());
        if let Some(record) = history.get(key).await.unwrap() {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no history record for {queue_id} within 10 s");
}

/// Returns the queue id at the end of a `250 2.0.0 OK queued as <id>` reply.
pub fn queue_id_of(reply: &Reply) -> String {
    reply.text.rsplit(' ').next().unwrap_or_default().to_string()
}

/// Creates a vault client for the gateway's built-in vault.
pub fn vault_client(gateway: &RunningGateway) -> mailgate_vault::VaultClient {
    let url = gateway.builtin_vault_url().expect("built-in vault runs");
    mailgate_vault::VaultClient::new(mailgate_vault::VaultClientConfig::new(url, VAULT_KEY)).unwrap()
}

/// Reply of a sink to each message, given the message.
pub type SinkPolicy = fn(&ReceivedMessage) -> Outcome;

/// Accepts every message: the policy of [`SmtpSink::start`].
pub fn accept_all(_: &ReceivedMessage) -> Outcome {
    Outcome::Accepted { queue_id: "SINK".to_string() }
}

/// An SMTP server acting as the next hop: it replies to each message with the
/// outcome its policy returns and hands every message it got, accepted or not, to the test.
pub struct SmtpSink {
    pub address: SocketAddr,
    received: Mutex<mpsc::UnboundedReceiver<ReceivedMessage>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

struct Recorder(mpsc::UnboundedSender<ReceivedMessage>, SinkPolicy);

impl MessageHandler for Recorder {
    type Sink = NoSink;

    fn handle(&self, message: ReceivedMessage) -> impl std::future::Future<Output = Outcome> + Send {
        let outcome = (self.1)(&message);
        let _ = self.0.send(message);
        async { outcome }
    }
}

impl SmtpSink {
    /// Starts a sink that accepts everything on an ephemeral loopback port.
    pub async fn start() -> SmtpSink {
        SmtpSink::start_with(SocketAddr::from(([127, 0, 0, 1], 0)), accept_all).await
    }

    /// Starts a sink that accepts everything on `address`.
    pub async fn start_on(address: SocketAddr) -> SmtpSink {
        SmtpSink::start_with(address, accept_all).await
    }

    /// Starts a sink on `address` that replies with the outcome `policy`
    /// returns.
    pub async fn start_with(address: SocketAddr, policy: SinkPolicy) -> SmtpSink {
        SmtpSink::start_configured(SmtpServerConfig { listen: address, ..SmtpServerConfig::default() }, policy).await
    }

    /// Starts a sink that takes recipients in `domains` only, as a mail
    /// server that knows its own domains: others get `550 5.7.1`.
    pub async fn start_accepting(domains: &[&str]) -> SmtpSink {
        let config = SmtpServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            accepted_domains: domains.iter().map(|domain| DomainPattern::parse(domain).unwrap()).collect(),
            relay_networks: Vec::new(),
            ..SmtpServerConfig::default()
        };
        SmtpSink::start_configured(config, accept_all).await
    }

    /// Starts a sink that offers STARTTLS with `tls`.
    pub async fn start_with_tls(tls: TlsConfig) -> SmtpSink {
        let config =
            SmtpServerConfig { listen: SocketAddr::from(([127, 0, 0, 1], 0)), tls: Some(tls), ..SmtpServerConfig::default() };
        SmtpSink::start_configured(config, accept_all).await
    }

    async fn start_configured(config: SmtpServerConfig, policy: SinkPolicy) -> SmtpSink {
        let config = SmtpServerConfig { hostname: "sink.test".to_string(), max_message_size: 64 * 1024 * 1024, ..config };
        let server = SmtpServer::bind(config).await.unwrap();
        let address = server.local_addr();
        let (sender, receiver) = mpsc::unbounded_channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = server
                .run(Arc::new(Recorder(sender, policy)), async {
                    let _ = stopped.await;
                })
                .await;
        });
        SmtpSink { address, received: Mutex::new(receiver), stop: Some(stop) }
    }

    /// Waits for the next delivered message and panics after 10 seconds without one.
    pub async fn next_message(&self) -> ReceivedMessage {
        let mut receiver = self.received.lock().await;
        tokio::time::timeout(Duration::from_secs(10), receiver.recv())
            .await
            .expect("a message reaches the next hop within 10 s")
            .expect("sink is running")
    }

    /// Waits up to `wait` for a message and returns whether one arrived.
    pub async fn has_message(&self, wait: Duration) -> bool {
        let mut receiver = self.received.lock().await;
        matches!(tokio::time::timeout(wait, receiver.recv()).await, Ok(Some(_)))
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A reply line group: the code and the text of the last line.
#[derive(Debug)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

/// A minimal SMTP client that sends one command at a time.
pub struct SmtpClient {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl SmtpClient {
    /// Connects, reads the greeting and sends EHLO.
    pub async fn connect(address: SocketAddr) -> SmtpClient {
        let stream = TcpStream::connect(address).await.unwrap();
        let (read, write) = stream.into_split();
        let mut client = SmtpClient { reader: BufReader::new(read), writer: write };
        assert_eq!(client.read_reply().await.code, 220);
        assert_eq!(client.command("EHLO client.test").await.code, 250);
        client
    }

    /// Sends one command line and returns the reply.
    pub async fn command(&mut self, line: &str) -> Reply {
        self.writer.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
        self.read_reply().await
    }

    /// Runs MAIL, RCPT and DATA for `message` and returns the reply to the
    /// end of data. The message is dot-stuffed here.
    pub async fn send(&mut self, from: &str, to: &[&str], message: &[u8]) -> Reply {
        assert_eq!(self.command(&format!("MAIL FROM:<{from}>")).await.code, 250);
        for recipient in to {
            assert_eq!(self.command(&format!("RCPT TO:<{recipient}>")).await.code, 250);
        }
        assert_eq!(self.command("DATA").await.code, 354);

        let mut data = Vec::with_capacity(message.len() + 64);
        let mut at_line_start = true;
        for &byte in message {
            if at_line_start && byte == b'.' {
                data.push(b'.');
            }
            data.push(byte);
            at_line_start = byte == b'\n';
        }
        if !data.ends_with(b"\r\n") {
            data.extend_from_slice(b"\r\n");
        }
        data.extend_from_slice(b".\r\n");
        self.writer.write_all(&data).await.unwrap();
        self.read_reply().await
    }

    async fn read_reply(&mut self) -> Reply {
        loop {
            let mut line = String::new();
            let read = tokio::time::timeout(Duration::from_secs(30), self.reader.read_line(&mut line))
                .await
                .expect("reply within 30 s")
                .unwrap();
            assert!(read > 0, "connection closed while waiting for a reply");
            let code: u16 = line.get(..3).and_then(|code| code.parse().ok()).expect("reply starts with a code");
            if line.as_bytes().get(3) != Some(&b'-') {
                return Reply { code, text: line.get(4..).unwrap_or_default().trim_end().to_string() };
            }
        }
    }
}

/// Sends one message over a fresh connection and returns the reply to DATA.
pub async fn send_message(address: SocketAddr, message: &[u8]) -> Reply {
    let mut client = SmtpClient::connect(address).await;
    let reply = client.send("alice@example.com", &["bob@example.org"], message).await;
    let _ = client.command("QUIT").await;
    reply
}
