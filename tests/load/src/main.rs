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
//!
//! Two subcommands measure one large message instead. `offload` compares
//! its time through the gateway with a plain upload of its attachment to
//! the vault. `memory` reads the gateway's peak memory while it processes
//! the message. Their addresses must be loopback addresses too.

mod client;
mod memory;
mod message;
mod offload;
mod run;
mod sink;
mod stats;

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Upper bound of `--messages`.
const MAX_MESSAGES: usize = 1_000_000;

/// Largest attachment of `offload` and `memory`, in bytes (512 MiB, the
/// built-in vault's limit per file).
const MAX_ATTACHMENT: usize = 512 * 1024 * 1024;

/// Sends messages to a gateway over SMTP on loopback and receives them as
/// the next hop.
#[derive(Parser, Debug)]
#[command(name = "mailgate-load", version, args_conflicts_with_subcommands = true)]
struct Arguments {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    load: LoadArguments,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Times one message with a large attachment from the end of DATA to
    /// the next hop, next to a plain upload of the attachment to the vault.
    Offload(OffloadArguments),
    /// Measures the gateway's peak memory while it processes one message
    /// with a large attachment.
    Memory(MemoryArguments),
}

/// Options of a load run (no subcommand).
#[derive(Args, Debug)]
struct LoadArguments {
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

/// Options of `offload`.
#[derive(Args, Debug)]
struct OffloadArguments {
    /// SMTP address of the gateway.
    #[arg(long, default_value = "127.0.0.1:2525")]
    gateway: SocketAddr,
    /// Address for the sink; set the gateway's `delivery.relay` to it.
    #[arg(long, default_value = "127.0.0.1:2526")]
    sink: SocketAddr,
    /// Address of the vault's REST API, the one the gateway uploads to.
    #[arg(long, default_value = "127.0.0.1:8010")]
    vault: SocketAddr,
    /// API key of the vault (`builtin_vault.api_key` of the gateway).
    #[arg(long, env = "MAILGATE_VAULT_API_KEY", hide_env_values = true)]
    vault_api_key: String,
    /// Size of the attachment in bytes, before base64 (at most 512 MiB).
    #[arg(long, default_value_t = 10_000_000)]
    attachment: usize,
    /// Number of measured runs, after one warm-up run (at most 100).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Pause after each message and each upload, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    pause_ms: u64,
    /// Maximum wait for one message at the sink, and for each vault
    /// request, in seconds.
    #[arg(long, default_value_t = 120)]
    timeout_seconds: u64,
}

/// Options of `memory`.
#[derive(Args, Debug)]
struct MemoryArguments {
    /// SMTP address of the gateway.
    #[arg(long, default_value = "127.0.0.1:2525")]
    gateway: SocketAddr,
    /// Address for the sink; set the gateway's `delivery.relay` to it.
    #[arg(long, default_value = "127.0.0.1:2526")]
    sink: SocketAddr,
    /// Process id of the gateway, whose `/proc/<pid>/status` is read.
    #[arg(long)]
    gateway_pid: u32,
    /// Size of the attachment in bytes, before base64 (at most 512 MiB).
    /// The message is about 1.37 times as large; the gateway's
    /// `smtp.max_message_size` must allow it.
    #[arg(long, default_value_t = 25_000_000)]
    attachment: usize,
    /// Wait after the delivery before the peak is read, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    settle_ms: u64,
    /// Maximum wait for the message at the sink, in seconds.
    #[arg(long, default_value_t = 120)]
    timeout_seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();

    match arguments.command {
        None => load(arguments.load).await,
        Some(Command::Offload(arguments)) => offload(arguments).await,
        Some(Command::Memory(arguments)) => memory(arguments).await,
    }
}

async fn load(arguments: LoadArguments) -> anyhow::Result<()> {
    check_loopback(&[("--gateway", arguments.gateway), ("--sink", arguments.sink)])?;
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

async fn offload(arguments: OffloadArguments) -> anyhow::Result<()> {
    check_loopback(&[("--gateway", arguments.gateway), ("--sink", arguments.sink), ("--vault", arguments.vault)])?;
    check_attachment(arguments.attachment)?;
    if arguments.runs == 0 || arguments.runs > 100 {
        anyhow::bail!("--runs must be between 1 and 100");
    }

    let settings = offload::Settings {
        gateway: arguments.gateway,
        vault_url: format!("http://{}/vault_rest", arguments.vault),
        vault_api_key: arguments.vault_api_key,
        attachment: arguments.attachment,
        runs: arguments.runs,
        pause: Duration::from_millis(arguments.pause_ms),
        delivery_timeout: Duration::from_secs(arguments.timeout_seconds),
    };
    let arrivals = sink::start(arguments.sink).await?;
    let report = offload::run(settings, arrivals).await?;
    println!("{report}");
    Ok(())
}

async fn memory(arguments: MemoryArguments) -> anyhow::Result<()> {
    check_loopback(&[("--gateway", arguments.gateway), ("--sink", arguments.sink)])?;
    check_attachment(arguments.attachment)?;

    let settings = memory::Settings {
        gateway: arguments.gateway,
        gateway_pid: arguments.gateway_pid,
        attachment: arguments.attachment,
        settle: Duration::from_millis(arguments.settle_ms),
        delivery_timeout: Duration::from_secs(arguments.timeout_seconds),
    };
    let arrivals = sink::start(arguments.sink).await?;
    let report = memory::run(settings, arrivals).await?;
    println!("{report}");
    Ok(())
}

fn check_loopback(addresses: &[(&str, SocketAddr)]) -> anyhow::Result<()> {
    for (name, address) in addresses {
        if !address.ip().is_loopback() {
            anyhow::bail!("{name} {address} is not a loopback address; mailgate-load only runs against this machine");
        }
    }
    Ok(())
}

fn check_attachment(size: usize) -> anyhow::Result<()> {
    if size == 0 || size > MAX_ATTACHMENT {
        anyhow::bail!("--attachment must be between 1 and {MAX_ATTACHMENT} bytes");
    }
    Ok(())
}
