//! Test rule that never returns, to check the host's CPU limit.

use mailgate_rule_sdk::{Action, Message, Rule, Settings, export_rule};

struct EndlessLoop;

impl Rule for EndlessLoop {
    fn evaluate(_settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
        let mut counter: u64 = message.parts.len() as u64;
        loop {
            counter = std::hint::black_box(counter.wrapping_add(1));
        }
    }
}

export_rule!(EndlessLoop);
