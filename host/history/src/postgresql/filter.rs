//! Translation of a [`HistoryQuery`]'s filters into a PostgreSQL `WHERE`
//! clause over `messages AS m`.
//!
//! The filters mean what they mean in SQLite: every value is bound as a
//! parameter, addresses are exact comparisons of folded text, and the
//! subject filter is a substring search with `strpos`, so `%` and `_` are
//! plain characters. NUL characters in filter values become U+FFFD, as in
//! stored text.

use chrono::{DateTime, Utc};
use postgres::types::ToSql;

use super::write::storable;
use crate::columns::{fold, micros, time_from_micros};
use crate::query::HistoryQuery;

/// A `WHERE` clause with its parameters, in the order of their `$n`.
pub(super) struct Filter {
    pub(super) clause: String,
    pub(super) values: Vec<Box<dyn ToSql + Sync>>,
}

impl Filter {
    pub(super) fn new(query: &HistoryQuery) -> Filter {
        let mut filter = Filter { clause: String::new(), values: Vec::new() };

        if let Some(from) = query.from {
            filter.add("m.received_at >= $", Box::new(stored_time(from)));
        }
        if let Some(to) = query.to {
            filter.add("m.received_at < $", Box::new(stored_time(to)));
        }
        if let Some(sender) = &query.sender {
            filter.add("m.mail_from_folded = $", Box::new(storable(&fold(sender))));
        }
        if let Some(recipient) = &query.recipient {
            filter.add("m.id IN (SELECT r.message FROM recipients AS r WHERE r.address_folded = $", Box::new(storable(&fold(recipient))));
            filter.clause.push(')');
        }
        if let Some(subject) = &query.subject {
            filter.add("strpos(m.subject_folded, $", Box::new(storable(&fold(subject))));
            filter.clause.push_str(") > 0");
        }
        if let Some(message_id) = &query.message_id {
            filter.add("m.message_id = $", Box::new(storable(message_id)));
        }
        if let Some(outcome) = query.outcome {
            filter.add("m.outcome_kind = $", Box::new(outcome.as_str()));
        }

        filter
    }

    /// Returns the placeholder for the next parameter, `$n`.
    pub(super) fn next_placeholder(&self) -> String {
        format!("${}", self.values.len() + 1)
    }

    /// Returns the parameters as the driver takes them.
    pub(super) fn parameters(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values.iter().map(|value| value.as_ref()).collect()
    }

    /// Appends a condition that ends in `$` and binds `value` to it.
    fn add(&mut self, condition_ending_in_placeholder: &str, value: Box<dyn ToSql + Sync>) {
        self.clause.push_str(if self.clause.is_empty() { "WHERE " } else { " AND " });
        self.clause.push_str(condition_ending_in_placeholder);
        self.clause.push_str(&(self.values.len() + 1).to_string());
        self.values.push(value);
    }
}

/// Drops the digits below a microsecond, as stored times have none, and
/// as the SQLite backend does.
pub(super) fn stored_time(time: DateTime<Utc>) -> DateTime<Utc> {
    time_from_micros(micros(time)).unwrap_or(time)
}
