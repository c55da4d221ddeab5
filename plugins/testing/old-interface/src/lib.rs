//! Test rule built against version 0.1.0 of the rule interface, whose copy
//! lives in `wit/` beside this crate. The host must reject it by version.

wit_bindgen::generate!({
    path: "wit",
    world: "rule",
});

use exports::mailgate::rule::evaluator::Guest;
use mailgate::rule::types::{Action, Message};

struct OldInterface;

impl Guest for OldInterface {
    fn evaluate(_message: Message) -> Result<Vec<Action>, String> {
        Ok(Vec::new())
    }
}

export!(OldInterface);
