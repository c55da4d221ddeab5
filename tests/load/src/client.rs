//! The sending side of a load run: one SMTP connection that sends messages
//! one after another, with MAIL, RCPT and DATA pipelined (RFC 2920).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Maximum wait for one reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// What happened to one message.
pub enum Sent {
    /// 250 to the end of data, with the time from the final dot to the reply.
    Accepted { data_ended: Instant, latency: Duration },
    /// Any other reply code to MAIL, RCPT, DATA or the end of data.
    Rejected { code: u16 },
    /// The connection failed or broke before a reply.
    Failed,
}

/// An open SMTP session after EHLO.
pub struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Connection {
    /// Connects, reads the greeting and sends EHLO.
    pub async fn open(address: SocketAddr) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (read, write) = stream.into_split();
        let mut connection = Connection { reader: BufReader::new(read), writer: write };

        expect(connection.reply().await?, 220, "greeting")?;
        connection.writer.write_all(b"EHLO load.test\r\n").await?;
        expect(connection.reply().await?, 250, "EHLO")?;
        Ok(connection)
    }

    /// Sends one message, whose DATA ends with `CR LF . CR LF`.
    pub async fn send(&mut self, data: &[u8]) -> anyhow::Result<Sent> {
        self.writer
            .write_all(b"MAIL FROM:<sender@load.test>\r\nRCPT TO:<recipient@load.test>\r\nDATA\r\n")
            .await?;
        for (index, expected) in [250, 250, 354].into_iter().enumerate() {
            let code = self.reply().await?;
            if code != expected {
                self.skip_and_reset(2 - index).await?;
                return Ok(Sent::Rejected { code });
            }
        }

        self.writer.write_all(data).await?;
        let data_ended = Instant::now();
        let code = self.reply().await?;
        if code != 250 {
            return Ok(Sent::Rejected { code });
        }
        Ok(Sent::Accepted { data_ended, latency: data_ended.elapsed() })
    }

    /// Sends QUIT and waits for its reply.
    pub async fn close(mut self) {
        if self.writer.write_all(b"QUIT\r\n").await.is_ok() {
            let _ = self.reply().await;
        }
    }

    /// Reads the `pending` replies still due to pipelined commands after a
    /// rejection, then resets the transaction with RSET.
    async fn skip_and_reset(&mut self, pending: usize) -> anyhow::Result<()> {
        for _ in 0..pending {
            if self.reply().await? == 354 {
                anyhow::bail!("DATA accepted after a rejected envelope");
            }
        }

        self.writer.write_all(b"RSET\r\n").await?;
        expect(self.reply().await?, 250, "RSET")
    }

    /// Reads one reply, all of its lines, and returns its code.
    async fn reply(&mut self) -> anyhow::Result<u16> {
        loop {
            let mut line = String::new();
            let read = tokio::time::timeout(REPLY_TIMEOUT, self.reader.read_line(&mut line)).await??;
            if read == 0 {
                anyhow::bail!("the server closed the connection");
            }
            let code: u16 = line.get(..3).and_then(|code| code.parse().ok()).ok_or_else(|| anyhow::anyhow!("malformed reply {line:?}"))?;
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(code);
            }
        }
    }
}

fn expect(code: u16, expected: u16, what: &str) -> anyhow::Result<()> {
    if code == expected {
        Ok(())
    } else {
        anyhow::bail!("{what} got {code}, expected {expected}")
    }
}
