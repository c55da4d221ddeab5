//! Test rule that adds one notice at the top of the bodies before the scan
//! and one at the bottom after it, to check `add-notice` and its positions.

use mailgate_rule_sdk::{Action, Message, Notice, NoticePosition, Rule, Settings, export_rule};

struct AddNotices;

impl Rule for AddNotices {
    fn evaluate(_settings: &Settings, message: &Message) -> Result<Vec<Action>, String> {
        let (text, position) = if message.is_before_scan() {
            ("Notice from the rule before the scan <b>", NoticePosition::Top)
        } else {
            ("Notice from the rule after the scan", NoticePosition::Bottom)
        };
        Ok(vec![Action::AddNotice(Notice { text: text.to_string(), position })])
    }
}

export_rule!(AddNotices);
