//! Test rule that traps, to check that the host contains a crashing rule.

use mailgate_rule_sdk::{Action, Message, Rule, Settings, export_rule};

struct Trap;

impl Rule for Trap {
    fn evaluate(_settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
        panic!("trap rule called for a message with {} parts", message.parts.len());
    }
}

export_rule!(Trap);
