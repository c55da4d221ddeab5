//! Translation of a [`HistoryQuery`]'s filters into an SQL `WHERE` clause
//! over `messages AS m`.
//!
//! Every filter value is bound as a parameter, never spliced into the SQL.
//! Address filters are exact comparisons of folded text, so they use the
//! indexes. The subject filter is a substring search with `instr`. No index
//! serves it, so it scans the rows that the other filters leave.

use rusqlite::types::Value;

use crate::columns::{fold, micros};
use crate::query::HistoryQuery;

/// A `WHERE` clause with its parameters, in the order of their `?`.
pub(super) struct Filter {
    pub(super) clause: String,
    pub(super) values: Vec<Value>,
}

impl Filter {
    pub(super) fn new(query: &HistoryQuery) -> Filter {
        let mut conditions: Vec<&str> = Vec::new();
        let mut values = Vec::new();

        if let Some(from) = query.from {
            conditions.push("m.received_at >= ?");
            values.push(Value::Integer(micros(from)));
        }
        if let Some(to) = query.to {
            conditions.push("m.received_at < ?");
            values.push(Value::Integer(micros(to)));
        }
        if let Some(sender) = &query.sender {
            conditions.push("m.mail_from_folded = ?");
            values.push(Value::Text(fold(sender)));
        }
        if let Some(recipient) = &query.recipient {
            // `IN` rather than a correlated `EXISTS`, so that SQLite starts from
            // the recipient index instead of probing it once per message.
            conditions.push("m.id IN (SELECT r.message FROM recipients AS r WHERE r.address_folded = ?)");
            values.push(Value::Text(fold(recipient)));
        }
        if let Some(subject) = &query.subject {
            conditions.push("instr(m.subject_folded, ?) > 0");
            values.push(Value::Text(fold(subject)));
        }
        if let Some(message_id) = &query.message_id {
            conditions.push("m.message_id = ?");
            values.push(Value::Text(message_id.clone()));
        }
        if let Some(outcome) = query.outcome {
            conditions.push("m.outcome_kind = ?");
            values.push(Value::Text(outcome.as_str().to_string()));
        }

        let clause = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        Filter { clause, values }
    }
}
