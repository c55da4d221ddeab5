//! `mailgate-load`: a load generator for a gateway on this machine.
//!
//! It plays both ends: SMTP clients that send numbered messages to the
//! gateway, and the next hop (a sink) that the gateway delivers to. Start
//! the gateway with `delivery.relay` pointing at the sink's address, then
//! run this tool. It reports messages per second and the latency from the
//! end of DATA to the 250 and to the arrival at the sink.
//!
//! Runs are bounded: at most `--messages` messages (at most 1,000,000) and
//! `--max-seconds` of sending, then at most `--drain-seconds` of waiting for
//! deliveries. Both addresses must be loopback addresses.

mod client;
mod message;
mod run;
mod sink;
mod stats;

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

/// Upper bound of `--messages`.
const MAX_MESSAGES: usize = 1_000_000;

/// Sends messages to a gateway over SMTP on loopback and receives them as
/// the next hop.
#[derive(Parser, Debug)]
#[command(name = "mailgate-load", version)]
struct Arguments {
    /// SMTP address of the gateway.
    #[arg(long, default_value = "127.0.0.1:2525")]
    gateway: SocketAddr,
    /// Address for the sink; set the gateway's `delivery.relay` to it.
    #[arg(long, default_value = "127.0.0.1:2526")]
    sink: SocketAddr,
    /// Number of messages to send (at most 1,000,000).
    #[arg(long, default_value_t = 10_000)]
    messages: usize,
    /// Number of SMTP connections sending at once.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Approximate size of each message in bytes.
    #[arg(long, default_value_t = 10_240)]
    size: usize,
    /// Decoded size of a PDF attachment in each message; 0 sends plain text.
    #[arg(long, default_value_t = 0)]
    attachment: usize,
    /// Maximum sending time, in seconds.
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
    /// Maximum time to wait for deliveries after sending, in seconds.
    #[arg(long, default_value_t = 60)]
    drain_seconds: u64,
    /// Number of messages sent before the measurement starts.
    #[arg(long, default_value_t = 200)]
    warm_up: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();

    for (name, address) in [("--gateway", arguments.gateway), ("--sink", arguments.sink)] {
        if !address.ip().is_loopback() {
            anyhow::bail!("{name} {address} is not a loopback address; mailgate-load only runs against this machine");
        }
    }
    if arguments.messages == 0 || arguments.messages > MAX_MESSAGES {
        anyhow::bail!("--messages must be between 1 and {MAX_MESSAGES}");
    }
    if arguments.connections == 0 {
        anyhow::bail!("--connections must be at least 1");
    }

    let settings = run::Settings {
        gateway: arguments.gateway,
        messages: arguments.messages,
        connections: arguments.connections,
        size: arguments.size,
        attachment: arguments.attachment,
        max_sending: Duration::from_secs(arguments.max_seconds),
        max_draining: Duration::from_secs(arguments.drain_seconds),
        warm_up: arguments.warm_up,
    };
    let arrivals = sink::start(arguments.sink).await?;
    let report = run::run(settings, arrivals).await?;
    println!("{report}");
    Ok(())
}
