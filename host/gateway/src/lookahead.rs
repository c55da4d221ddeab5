//! Recipient look-ahead against the SMTP next hop.
//!
//! With `smtp.recipient_lookahead = "next-hop"`, each recipient that passes
//! the relay check is probed at the next hop (`MAIL FROM:<>`, `RCPT TO`)
//! before the gateway replies to RCPT. Mail for a mailbox that does not
//! exist is then rejected while the sending server still has it, instead of
//! being accepted and bounced later.
//!
//! | next hop replies | reply to RCPT | reply cached for |
//! |---|---|---|
//! | 2xx | `250 2.1.5` | `smtp.lookahead_cache_secs` |
//! | 5xx | `550 5.1.1` with the next hop's reply | `smtp.lookahead_cache_secs` |
//! | 4xx | `451 4.4.3`: the client tries again later | not cached |
//! | nothing: connection failed or timed out | `250 2.1.5` | not cached |
//!
//! An unreachable next hop does not stop mail, because rejecting every
//! recipient while the mail server restarts would bounce mail that the
//! gateway can keep and deliver later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailgate_delivery::{DeliveryError, RelayGroup, probe_recipient};
use mailgate_smtp::{RecipientToVerify, RecipientVerdict};

/// Maximum number of cached replies. When the cache is full, expired entries
/// are dropped, and if none has expired, the cache is cleared.
const MAX_CACHED: usize = 10_000;

/// Recipient checks at the next hop, with a cache of final replies.
pub struct RecipientLookahead {
    relays: RelayGroup,
    cache_duration: Duration,
    cache: Mutex<HashMap<String, (Instant, RecipientVerdict)>>,
}

impl RecipientLookahead {
    /// Creates a look-ahead against `relays` that caches final replies for
    /// `cache_duration`.
    pub fn new(relays: RelayGroup, cache_duration: Duration) -> RecipientLookahead {
        RecipientLookahead { relays, cache_duration, cache: Mutex::new(HashMap::new()) }
    }

    /// Checks one recipient, from the cache or by probing the next hop.
    pub async fn verify(&self, recipient: &str) -> RecipientVerdict {
        let key = recipient.to_ascii_lowercase();
        if let Some(verdict) = self.cached(&key) {
            return verdict;
        }

        let (verdict, keep) = match self.probe(recipient).await {
            Ok(()) => (RecipientVerdict::Accept, true),
            Err(DeliveryError::Rejected { code, message, .. }) if (500..600).contains(&code) => {
                let reason = format!("recipient rejected by the next hop: {code} {}", message.trim());
                (RecipientVerdict::Reject { reason }, true)
            }
            Err(DeliveryError::Rejected { code, message, .. }) => {
                let reason = format!("the next hop cannot take the recipient now: {code} {}", message.trim());
                (RecipientVerdict::Defer { reason }, false)
            }
            Err(error) => {
                tracing::warn!(%error, %recipient, "recipient look-ahead failed to reach the next hop; recipient accepted");
                (RecipientVerdict::Accept, false)
            }
        };

        if keep {
            self.remember(key, verdict.clone());
        }
        verdict
    }

    /// Probes the relays in delivery order until one of them replies.
    async fn probe(&self, recipient: &str) -> Result<(), DeliveryError> {
        let mut last_error = None;
        for relay in self.relays.attempt_order() {
            match probe_recipient(relay, recipient).await {
                Err(DeliveryError::Unreachable { relay, reason }) => {
                    tracing::debug!(%relay, %reason, "look-ahead probe failed; trying the next relay");
                    last_error = Some(DeliveryError::Unreachable { relay, reason });
                }
                reply => return reply,
            }
        }
        Err(last_error.unwrap_or_else(|| DeliveryError::Unreachable { relay: "none".to_string(), reason: "no relay".to_string() }))
    }

    fn cached(&self, key: &str) -> Option<RecipientVerdict> {
        let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .get(key)
            .filter(|(stored, _)| stored.elapsed() < self.cache_duration)
            .map(|(_, verdict)| verdict.clone())
    }

    fn remember(&self, key: String, verdict: RecipientVerdict) {
        if self.cache_duration.is_zero() {
            return;
        }

        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, (stored, _)| stored.elapsed() < self.cache_duration);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, (Instant::now(), verdict));
    }
}

/// Checks `request` with `lookahead` when there is one; takes every
/// recipient otherwise. Both SMTP handlers of the gateway call this.
pub(crate) async fn verify(lookahead: Option<Arc<RecipientLookahead>>, request: RecipientToVerify) -> RecipientVerdict {
    match lookahead {
        Some(lookahead) => lookahead.verify(&request.recipient).await,
        None => RecipientVerdict::Accept,
    }
}
