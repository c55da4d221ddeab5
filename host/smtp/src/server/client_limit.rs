//! Limit on concurrent sessions from one client IP address.
//!
//! Addresses are compared exactly, after mapping IPv4-mapped IPv6 addresses
//! to IPv4, so one IPv6 client that rotates addresses within its prefix is
//! counted as several clients.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Number of open sessions per client address.
#[derive(Debug)]
pub(crate) struct ClientLimiter {
    limit: usize,
    sessions: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted session; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct ClientSlot {
    limiter: Arc<ClientLimiter>,
    address: IpAddr,
}

impl ClientLimiter {
    /// Creates a limiter that allows `limit` sessions per address.
    pub fn new(limit: usize) -> ClientLimiter {
        ClientLimiter {
            limit,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a new session from `address`, or returns `None` when the
    /// address already has `limit` sessions.
    pub fn try_acquire(self: &Arc<Self>, address: IpAddr) -> Option<ClientSlot> {
        let address = address.to_canonical();
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);

        let count = sessions.entry(address).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;

        Some(ClientSlot {
            limiter: Arc::clone(self),
            address,
        })
    }

    #[cfg(test)]
    fn tracked_addresses(&self) -> usize {
        self.sessions.lock().unwrap().len()
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut sessions = self
            .limiter
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);

        if let Some(count) = sessions.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                sessions.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn limit_per_address() {
        let limiter = Arc::new(ClientLimiter::new(2));
        let first_client = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let second_client = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

        let first = limiter.try_acquire(first_client);
        let second = limiter.try_acquire(first_client);
        let third = limiter.try_acquire(first_client);
        let other = limiter.try_acquire(second_client);

        assert!(first.is_some());
        assert!(second.is_some());
        assert!(third.is_none());
        assert!(other.is_some());

        drop(first);
        assert!(limiter.try_acquire(first_client).is_some());
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4() {
        let limiter = Arc::new(ClientLimiter::new(1));
        let ipv4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());

        let _slot = limiter.try_acquire(ipv4);

        assert!(limiter.try_acquire(mapped).is_none());
        assert!(
            limiter
                .try_acquire(IpAddr::V6(Ipv6Addr::LOCALHOST))
                .is_some()
        );
    }

    #[test]
    fn released_addresses_forgotten() {
        let limiter = Arc::new(ClientLimiter::new(3));

        let slot = limiter.try_acquire(IpAddr::V4(Ipv4Addr::LOCALHOST));
        drop(slot);

        assert_eq!(limiter.tracked_addresses(), 0);
    }
}
