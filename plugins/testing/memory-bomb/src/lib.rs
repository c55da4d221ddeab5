//! Test rule that allocates memory until the host's limit stops it.

use mailgate_rule_sdk::{Action, Message, Rule, Settings, export_rule};

struct MemoryBomb;

impl Rule for MemoryBomb {
    fn evaluate(_settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut block = vec![0u8; 1024 * 1024];
            block[0] = message.parts.len() as u8;
            blocks.push(std::hint::black_box(block));
        }
    }
}

export_rule!(MemoryBomb);
