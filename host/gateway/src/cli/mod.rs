//! Subcommands of `mailgate` that need more than a few lines.

pub mod rule_test;
pub mod history;
pub mod check;
