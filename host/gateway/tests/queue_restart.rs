//! The `mailgate` process and its spool: a gateway killed with SIGKILL after
//! it replied 250 delivers the message after a restart, exactly once, and
//! SIGTERM stops it cleanly.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use mailgate_smtp::{MessageHandler, NoSink, Outcome, ReceivedMessage, SmtpServer, SmtpServerConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Next hop that accepts every message and passes it to the test.
struct Recorder(mpsc::UnboundedSender<ReceivedMessage>);

impl MessageHandler for Recorder {
    type Sink = NoSink;

    fn handle(&self, message: ReceivedMessage) -> impl std::future::Future<Output = Outcome> + Send {
        let _ = self.0.send(message);
        async { Outcome::Accepted { queue_id: "SINK".to_string() } }
    }
}

/// Starts a next hop on `address` and returns the channel of its messages.
async fn start_sink(address: SocketAddr) -> mpsc::UnboundedReceiver<ReceivedMessage> {
    let config = SmtpServerConfig { listen: address, hostname: "sink.test".to_string(), ..SmtpServerConfig::default() };
    let server = SmtpServer::bind(config).await.expect("sink binds the reserved port");
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(server.run(Arc::new(Recorder(sender)), std::future::pending()));
    receiver
}

/// Returns a loopback address with nothing listening on it.
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn write_config(directory: &Path, relay: SocketAddr) -> std::path::PathBuf {
    let path = directory.join("mailgate.toml");
    let text = format!(
        "[smtp]\nlisten = \"127.0.0.1:0\"\n\
         [builtin_vault]\nlisten = \"127.0.0.1:0\"\ndata_dir = {vault:?}\napi_key = \"restart-test-key-0123456789abc\"\n\
         [delivery]\nrelay = \"{relay}\"\ntimeout_secs = 5\n\
         [queue]\ndirectory = {queue:?}\nretry_initial_secs = 1\nretry_max_secs = 1\n\
         [rule_set]\ncache_dir = {cache:?}\nwatch = false\n\
         [history]\npath = {history:?}\n",
        vault = directory.join("vault"),
        queue = directory.join("queue"),
        cache = directory.join("cache"),
        history = directory.join("history.sqlite"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `mailgate run` and returns the process and its SMTP address,
/// read from the start-up lines on standard output. Logs go to `log`.
async fn start_gateway(config: &Path, log: &Path) -> (Child, SocketAddr) {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailgate"))
        .args(["run", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("mailgate starts");
    let stdout = child.stdout.take().unwrap();

    let address = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let address = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| line.trim().strip_prefix("SMTP:").map(|address| address.trim().parse::<SocketAddr>().unwrap()));
        std::thread::spawn(move || lines.for_each(drop));
        address
    });
    let address = tokio::time::timeout(Duration::from_secs(120), address).await.expect("gateway starts within 120 s").unwrap();
    (child, address.expect("gateway prints its SMTP address"))
}

/// Sends one message and returns the reply line to the end of data.
async fn send(address: SocketAddr, message: &str) -> String {
    let stream = TcpStream::connect(address).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut reader = AsyncBufReader::new(read);
    let mut replies = Vec::new();
    for command in ["", "EHLO client.test", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", message, "QUIT"] {
        if !command.is_empty() {
            write.write_all(format!("{command}\r\n").as_bytes()).await.unwrap();
        }
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                replies.push(line.trim_end().to_string());
                break;
            }
        }
    }
    replies[5].clone()
}

fn spooled(directory: &Path) -> usize {
    std::fs::read_dir(directory.join("queue"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|item| item.path().extension().is_some_and(|ext| ext == "json"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_gateway_delivers_after_restart() {
    let directory = tempfile::tempdir().unwrap();
    let relay = closed_port();
    let config = write_config(directory.path(), relay);
    let log = directory.path().join("mailgate.log");

    let (mut first, address) = start_gateway(&config, &log).await;
    let message = "From: alice@example.com\r\nTo: bob@example.org\r\nSubject: survives a crash\r\n\r\nhello\r\n.";
    let reply = send(address, message).await;
    assert!(reply.starts_with("250 2.0.0 OK queued as "), "{reply}");
    let queue_id = reply.rsplit(' ').next().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(spooled(directory.path()), 1, "the accepted message is not in the spool");

    let mut sink = start_sink(relay).await;
    let (second, _) = start_gateway(&config, &log).await;
    let delivered = tokio::time::timeout(Duration::from_secs(30), sink.recv())
        .await
        .expect("the message is delivered within 30 s of the restart")
        .unwrap();
    assert_eq!(delivered.rcpt_to, vec!["bob@example.org".to_string()]);
    let text = String::from_utf8_lossy(&delivered.data);
    assert!(text.contains("Subject: survives a crash"), "{text}");
    assert!(text.contains(&format!("with ESMTP id {queue_id}")), "{text}");
    assert!(tokio::time::timeout(Duration::from_secs(2), sink.recv()).await.is_err(), "delivered twice");

    let status = Command::new("kill").args(["-TERM", &second.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || {
        let mut second = second;
        second.wait().unwrap()
    });
    let exit = tokio::time::timeout(Duration::from_secs(60), exit).await.expect("SIGTERM stops the gateway").unwrap();
    assert!(exit.success(), "{exit:?}; log in {}", log.display());
    assert_eq!(spooled(directory.path()), 0);
}
