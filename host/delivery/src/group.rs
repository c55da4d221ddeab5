//! Several relays for one destination, tried in turn: failover or round
//! robin.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::pool::ConnectionPool;
use crate::relay::RelayConfig;

/// Order in which the relays of a group get the messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Balance {
    /// Every message goes to the first relay that takes it, in the
    /// configured order. The default.
    #[default]
    Failover,
    /// Each message starts at the relay after the one the previous message
    /// started at, and falls back to the others in order.
    RoundRobin,
}

/// The relays of the next hop. Clones share the round-robin position and
/// the idle connections.
#[derive(Clone, Debug)]
pub struct RelayGroup {
    relays: Vec<RelayConfig>,
    balance: Balance,
    next: Arc<AtomicUsize>,
    pool: Arc<ConnectionPool>,
}

impl RelayGroup {
    /// Creates a group; `None` when `relays` is empty.
    pub fn new(relays: Vec<RelayConfig>, balance: Balance) -> Option<RelayGroup> {
        if relays.is_empty() {
            return None;
        }
        Some(RelayGroup { relays, balance, next: Arc::default(), pool: Arc::default() })
    }

    /// Returns the relays in the configured order.
    pub fn relays(&self) -> &[RelayConfig] {
        &self.relays
    }

    /// Returns the idle connections to the relays.
    pub(crate) fn pool(&self) -> &ConnectionPool {
        &self.pool
    }

    /// Returns the balance between the relays.
    pub fn balance(&self) -> Balance {
        self.balance
    }

    /// Returns the relays in the order to try them for the next message.
    pub fn attempt_order(&self) -> impl Iterator<Item = &RelayConfig> {
        let start = match self.balance {
            Balance::Failover => 0,
            Balance::RoundRobin => self.next.fetch_add(1, Ordering::Relaxed) % self.relays.len(),
        };
        self.relays.iter().cycle().skip(start).take(self.relays.len())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn group(balance: Balance) -> RelayGroup {
        let relays = ["a", "b", "c"].iter().map(|host| RelayConfig::new(*host, 25, "gw", Duration::from_secs(1))).collect();
        RelayGroup::new(relays, balance).unwrap()
    }

    fn hosts(group: &RelayGroup) -> String {
        group.attempt_order().map(|relay| relay.host.as_str()).collect()
    }

    #[test]
    fn failover_always_starts_first() {
        let group = group(Balance::Failover);

        assert_eq!(hosts(&group), "abc");
        assert_eq!(hosts(&group), "abc");
    }

    #[test]
    fn round_robin_rotates_start() {
        let group = group(Balance::RoundRobin);
        let clone = group.clone();

        assert_eq!(hosts(&group), "abc");
        assert_eq!(hosts(&clone), "bca");
        assert_eq!(hosts(&group), "cab");
        assert_eq!(hosts(&group), "abc");
    }

    #[test]
    fn empty_group_rejected() {
        assert!(RelayGroup::new(Vec::new(), Balance::Failover).is_none());
    }
}
