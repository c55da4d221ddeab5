//! The check of the SMTP relay (`delivery.relay`): connect, read the
//! greeting, send QUIT.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::time::timeout;

use super::Diagnosis;
use super::probe::{self, ConnectError};

const NAME: &str = "next hop";

/// Maximum number of greeting lines read; real greetings have a few.
const MAX_GREETING_LINES: usize = 20;

/// Connects to `relay` (`host:port`, validated with the configuration) and
/// expects a 220 greeting within `limit`.
pub async fn check(relay: &str, limit: Duration) -> Diagnosis {
    let Some((host, port)) = split_host_port(relay) else {
        return Diagnosis::fail(NAME, format!("delivery.relay = {relay:?} is not host:port"), "set delivery.relay to host:port, such as mail.example.com:25");
    };

    let stream = match probe::connect(&host, port, limit).await {
        Ok(stream) => stream,
        Err(error) => return connect_failure(relay, error, limit),
    };

    let mut stream = BufReader::new(stream);
    let greeting = match timeout(limit, read_reply(&mut stream)).await {
        Err(_) => {
            return Diagnosis::fail(
                NAME,
                format!("relay {relay} accepted the connection but sent no SMTP greeting within {} s", limit.as_secs()),
                "check that the port is an SMTP port; delivery is plain SMTP, so a port that expects TLS at once (such as 465) does not work",
            );
        }
        Ok(None) => {
            return Diagnosis::fail(
                NAME,
                format!("relay {relay} closed the connection without an SMTP greeting"),
                "check that the relay accepts connections from this machine and that the port is an SMTP port",
            );
        }
        Ok(Some(greeting)) => greeting,
    };

    let _ = stream.get_mut().write_all(b"QUIT\r\n").await;
    let _ = timeout(limit, read_reply(&mut stream)).await;

    if greeting.starts_with("220") {
        Diagnosis::ok(NAME, format!("relay {relay} greets with {greeting:?}"))
    } else {
        Diagnosis::fail(
            NAME,
            format!("relay {relay} greets with {greeting:?} instead of 220"),
            "ask the relay's administrator to accept mail from this machine, or correct delivery.relay",
        )
    }
}

fn connect_failure(relay: &str, error: ConnectError, limit: Duration) -> Diagnosis {
    let fix_address = "start the mail server, or correct delivery.relay";
    match error {
        ConnectError::Unresolved { host, reason } => Diagnosis::fail(
            NAME,
            format!("the relay host {host:?} does not resolve ({reason})"),
            "correct the host in delivery.relay, or check this machine's DNS settings",
        ),
        ConnectError::LookupTimedOut { host } => Diagnosis::fail(
            NAME,
            format!("looking up the relay host {host:?} took more than {} s", limit.as_secs()),
            "check this machine's DNS settings, or raise --timeout-secs",
        ),
        ConnectError::Refused { address } => Diagnosis::fail(NAME, format!("relay {relay} ({address}) refused the connection"), fix_address),
        ConnectError::TimedOut { address } => Diagnosis::fail(
            NAME,
            format!("connecting to relay {relay} ({address}) timed out after {} s", limit.as_secs()),
            "check that firewalls let this machine reach the relay, or raise --timeout-secs",
        ),
        ConnectError::Failed { address, error } => {
            Diagnosis::fail(NAME, format!("cannot connect to relay {relay} ({address}): {error}"), fix_address)
        }
    }
}

/// Reads one SMTP reply, following continuation lines such as `220-`, and returns
/// its last line without the line end, or `None` when the server closed the
/// connection first.
async fn read_reply<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> Option<String> {
    for _ in 0..MAX_GREETING_LINES {
        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }

        let line = line.trim_end().to_string();
        let continues = line.as_bytes().get(3) == Some(&b'-');
        if !continues {
            return Some(line);
        }
    }
    None
}

/// Splits `host:port`; a `[v6]:port` host loses its brackets.
fn split_host_port(value: &str) -> Option<(String, u16)> {
    let (host, port) = value.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse().ok()?;
    Some((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reply_with_continuation_lines() {
        let mut input: &[u8] = b"220-mx.example.com\r\n220-welcome\r\n220 ready\r\n";

        let reply = read_reply(&mut input).await;

        assert_eq!(reply.as_deref(), Some("220 ready"));
    }

    #[test]
    fn host_port_split() {
        assert_eq!(split_host_port("mx.example.com:25"), Some(("mx.example.com".to_string(), 25)));
        assert_eq!(split_host_port("[::1]:2526"), Some(("::1".to_string(), 2526)));
        assert_eq!(split_host_port("mx.example.com"), None);
    }
}
