//! Test rule that tries to reach outside its sandbox: read a file, list a
//! directory, open a socket on loopback and read the environment. It blocks
//! the message, naming what worked, if any attempt succeeds, and returns no
//! actions when every attempt fails. It also prints to stdout and stderr.

use mailgate_rule_sdk::{Action, Message, Rule, Settings, export_rule};

struct SandboxProbe;

impl Rule for SandboxProbe {
    fn evaluate(_settings: &Settings, _message: &Message) -> Result<Vec<Action>, String> {
        println!("sandbox probe starting");
        eprintln!("sandbox probe writes to stderr");

        let mut escaped = Vec::new();
        if std::fs::read("/etc/hostname").is_ok() {
            escaped.push("read /etc/hostname");
        }
        if std::fs::read_dir("/").is_ok() {
            escaped.push("listed /");
        }
        if std::net::TcpStream::connect("127.0.0.1:2525").is_ok() {
            escaped.push("connected to 127.0.0.1:2525");
        }
        if std::env::vars().next().is_some() {
            escaped.push("read environment variables");
        }
        if std::env::args().next().is_some() {
            escaped.push("read arguments");
        }

        if escaped.is_empty() {
            Ok(Vec::new())
        } else {
            Ok(vec![Action::Block(escaped.join(", "))])
        }
    }
}

export_rule!(SandboxProbe);
