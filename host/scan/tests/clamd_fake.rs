//! The clamd engine against a fake clamd on loopback that replays scripted replies.

use std::time::Duration;

use mailgate_scan::{
    ClamdAddress, ClamdConfig, ClamdError, ClamdOutcome, ClamdScanner, ScanRequest, Scanner,
    Verdict,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the fake clamd does after it reads a command.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Reads the whole stream, then sends the reply.
    Reply(&'static [u8]),
    /// Reads until more than this many bytes arrived, then sends the size
    /// limit error and closes, as clamd does.
    SizeLimit(usize),
    /// Reads the whole stream and never replies.
    Silent,
}

/// What the fake clamd received on one connection.
#[derive(Debug, Default)]
struct Received {
    command: Vec<u8>,
    chunk_lengths: Vec<usize>,
    content: Vec<u8>,
}

async fn serve_one<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    behaviour: Behaviour,
) -> Received {
    let mut received = Received::default();

    loop {
        let byte = stream.read_u8().await.unwrap();
        if byte == 0 {
            break;
        }
        received.command.push(byte);
    }

    if received.command == b"zINSTREAM" {
        loop {
            let length = stream.read_u32().await.unwrap() as usize;
            if length == 0 {
                break;
            }
            let mut chunk = vec![0u8; length];
            stream.read_exact(&mut chunk).await.unwrap();
            received.chunk_lengths.push(length);
            received.content.extend_from_slice(&chunk);

            if let Behaviour::SizeLimit(limit) = behaviour
                && received.content.len() > limit
            {
                stream
                    .write_all(b"INSTREAM size limit exceeded. ERROR\0")
                    .await
                    .unwrap();
                return received;
            }
        }
    }

    match behaviour {
        Behaviour::Reply(reply) => stream.write_all(reply).await.unwrap(),
        Behaviour::SizeLimit(_) => stream.write_all(b"stream: OK\0").await.unwrap(),
        Behaviour::Silent => tokio::time::sleep(Duration::from_secs(30)).await,
    }
    received
}

/// Starts a fake clamd on 127.0.0.1 that serves one connection.
async fn fake_clamd(behaviour: Behaviour) -> (ClamdAddress, JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = ClamdAddress::Tcp(listener.local_addr().unwrap().to_string());

    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        serve_one(stream, behaviour).await
    });
    (address, server)
}

fn config(address: ClamdAddress) -> ClamdConfig {
    let mut config = ClamdConfig::new(address);
    config.timeout = Duration::from_millis(500);
    config
}

#[tokio::test]
async fn clean_reply_and_chunk_framing() {
    let (address, server) = fake_clamd(Behaviour::Reply(b"stream: OK\0")).await;
    let mut config = config(address);
    config.chunk_size = 3;
    let scanner = ClamdScanner::new(config);

    let verdict = scanner
        .scan(ScanRequest::new("text/plain", b"abcdefgh").with_file_name("a.txt"))
        .await;
    let received = server.await.unwrap();

    assert_eq!(verdict, Verdict::clean("clamd"));
    assert_eq!(received.command, b"zINSTREAM");
    assert_eq!(received.chunk_lengths, vec![3, 3, 2]);
    assert_eq!(received.content, b"abcdefgh");
}

#[tokio::test]
async fn empty_content_sends_only_terminator() {
    let (address, server) = fake_clamd(Behaviour::Reply(b"stream: OK\0")).await;
    let scanner = ClamdScanner::new(config(address));

    let outcome = scanner.scan_content(b"").await.unwrap();
    let received = server.await.unwrap();

    assert_eq!(outcome, ClamdOutcome::Clean);
    assert!(received.chunk_lengths.is_empty());
}

#[tokio::test]
async fn found_reply_blocks_with_signature() {
    let (address, _server) =
        fake_clamd(Behaviour::Reply(b"stream: Win.Test.EICAR_HDB-1 FOUND\0")).await;
    let scanner = ClamdScanner::new(config(address));

    let verdict = scanner
        .scan(ScanRequest::new("application/octet-stream", b"payload"))
        .await;

    assert_eq!(
        verdict,
        Verdict::blocked("clamd", "ClamAV found Win.Test.EICAR_HDB-1")
    );
}

#[tokio::test]
async fn error_reply_fails() {
    let (address, _server) =
        fake_clamd(Behaviour::Reply(b"stream: Can't allocate memory ERROR\0")).await;
    let scanner = ClamdScanner::new(config(address));

    let error = scanner.scan_content(b"payload").await.unwrap_err();

    assert!(
        matches!(&error, ClamdError::Clamd { message, .. } if message == "Can't allocate memory"),
        "{error:?}"
    );
}

#[tokio::test]
async fn size_limit_reply_fails() {
    let (address, _server) = fake_clamd(Behaviour::SizeLimit(4)).await;
    let scanner = ClamdScanner::new(config(address));

    let verdict = scanner
        .scan(ScanRequest::new("text/plain", b"more than four bytes"))
        .await;

    assert!(verdict.is_failed(), "{verdict}");
    assert!(
        verdict
            .reason()
            .unwrap()
            .contains("INSTREAM size limit exceeded"),
        "{verdict}"
    );
}

#[tokio::test]
async fn size_limit_during_large_upload_fails() {
    let (address, _server) = fake_clamd(Behaviour::SizeLimit(64 * 1024)).await;
    let mut config = config(address);
    config.timeout = Duration::from_secs(5);
    let scanner = ClamdScanner::new(config);
    let content = vec![b'x'; 16 * 1024 * 1024];

    let error = scanner.scan_content(&content).await.unwrap_err();

    // The reply may be lost when the closed connection resets before the
    // client reads it; either way the scan fails and does not hang.
    assert!(
        matches!(
            error,
            ClamdError::SizeLimitExceeded { .. } | ClamdError::Io { .. }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn content_over_limit_is_not_sent() {
    let mut config = config(ClamdAddress::Tcp("127.0.0.1:9".to_string()));
    config.max_stream_size = 10;
    let scanner = ClamdScanner::new(config);

    let error = scanner.scan_content(&[0u8; 11]).await.unwrap_err();

    assert!(
        matches!(
            error,
            ClamdError::TooLarge {
                size: 11,
                limit: 10
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn silent_server_times_out() {
    let (address, _server) = fake_clamd(Behaviour::Silent).await;
    let scanner = ClamdScanner::new(config(address));

    let started = std::time::Instant::now();
    let verdict = scanner
        .scan(ScanRequest::new("text/plain", b"payload"))
        .await;

    assert!(verdict.is_failed(), "{verdict}");
    assert!(
        verdict
            .reason()
            .unwrap()
            .contains("did not reply within 500 ms"),
        "{verdict}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn garbage_replies_fail() {
    let replies: [&'static [u8]; 4] = [b"HELLO\0", b"stream: maybe\0", b"\xff\xfe\xfd\0", b""];

    for reply in replies {
        let (address, _server) = fake_clamd(Behaviour::Reply(reply)).await;
        let scanner = ClamdScanner::new(config(address));

        let verdict = scanner
            .scan(ScanRequest::new("text/plain", b"payload"))
            .await;

        assert!(
            verdict.is_failed(),
            "reply {}: {verdict}",
            reply.escape_ascii()
        );
        assert!(
            verdict
                .reason()
                .unwrap()
                .contains("unexpected reply from clamd"),
            "reply {}: {verdict}",
            reply.escape_ascii()
        );
    }
}

#[tokio::test]
async fn overlong_reply_fails() {
    static LONG_REPLY: [u8; 10_000] = [b'a'; 10_000];
    let (address, _server) = fake_clamd(Behaviour::Reply(&LONG_REPLY)).await;
    let scanner = ClamdScanner::new(config(address));

    let error = scanner.scan_content(b"payload").await.unwrap_err();

    assert!(
        matches!(error, ClamdError::UnexpectedReply { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn unreachable_daemon_fails() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let scanner = ClamdScanner::new(config(ClamdAddress::Tcp(address.clone())));

    let verdict = scanner
        .scan(ScanRequest::new("text/plain", b"payload"))
        .await;

    assert!(verdict.is_failed(), "{verdict}");
    assert!(
        verdict
            .reason()
            .unwrap()
            .contains(&format!("cannot connect to clamd at {address}")),
        "{verdict}"
    );
}

#[tokio::test]
async fn ping_expects_pong() {
    let (address, server) = fake_clamd(Behaviour::Reply(b"PONG\0")).await;
    let scanner = ClamdScanner::new(config(address));

    scanner.ping().await.unwrap();

    assert_eq!(server.await.unwrap().command, b"zPING");

    let (address, _server) = fake_clamd(Behaviour::Reply(b"PANG\0")).await;
    let error = ClamdScanner::new(config(address)).ping().await.unwrap_err();
    assert!(
        matches!(error, ClamdError::UnexpectedReply { .. }),
        "{error:?}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn unix_socket() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("clamd.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        serve_one(stream, Behaviour::Reply(b"stream: Eicar-Signature FOUND\0")).await
    });
    let address: ClamdAddress = format!("unix:{}", path.display()).parse().unwrap();
    let scanner = ClamdScanner::new(config(address));

    let outcome = scanner.scan_content(b"payload").await.unwrap();

    assert_eq!(
        outcome,
        ClamdOutcome::Found {
            signature: "Eicar-Signature".to_string()
        }
    );
    assert_eq!(server.await.unwrap().content, b"payload");
}

#[test]
fn address_parsing() {
    assert_eq!(
        "127.0.0.1:3310".parse(),
        Ok(ClamdAddress::Tcp("127.0.0.1:3310".to_string()))
    );
    assert_eq!(
        "[::1]:3310".parse(),
        Ok(ClamdAddress::Tcp("[::1]:3310".to_string()))
    );
    #[cfg(unix)]
    {
        use std::path::PathBuf;
        assert_eq!(
            "unix:/run/clamav/clamd.ctl".parse(),
            Ok(ClamdAddress::Unix(PathBuf::from("/run/clamav/clamd.ctl")))
        );
        assert_eq!(
            "/run/clamd.sock".parse(),
            Ok(ClamdAddress::Unix(PathBuf::from("/run/clamd.sock")))
        );
    }
    assert!("localhost".parse::<ClamdAddress>().is_err());
    assert!("localhost:port".parse::<ClamdAddress>().is_err());
    assert!(":3310".parse::<ClamdAddress>().is_err());
}
