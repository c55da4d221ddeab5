//! Recipient look-ahead: asking the message handler about a recipient while
//! the client is still at RCPT, so a recipient that would bounce later is
//! rejected at once and the sending server reports it to its user.
//!
//! The session passes the relay check first (see [`super::relay`]). Only
//! then, and only when [`super::SessionConfig::verify_recipients`] is on, it
//! emits [`super::Event::VerifyRecipient`] and waits for the owner's
//! [`RecipientVerdict`].

use super::reply::{Reply, or_default};

/// A recipient to check, with the sender of its transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientToVerify {
    /// Reverse path without angle brackets, `""` for `<>`.
    pub mail_from: String,
    /// Forward path without angle brackets.
    pub recipient: String,
}

/// Handler decision about one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecipientVerdict {
    /// The recipient is taken: `250 2.1.5`.
    Accept,
    /// The recipient does not exist or is rejected for good:
    /// `550 5.1.1 <reason>`.
    Reject { reason: String },
    /// The recipient cannot be checked now; the client may try again later:
    /// `451 4.4.3 <reason>`.
    Defer { reason: String },
}

impl RecipientVerdict {
    /// Builds the reply to RCPT for this verdict.
    pub fn reply(&self) -> Reply {
        match self {
            RecipientVerdict::Accept => recipient_ok(),
            RecipientVerdict::Reject { reason } => {
                Reply::new(550, "5.1.1", or_default(reason, "recipient rejected"))
            }
            RecipientVerdict::Defer { reason } => Reply::new(
                451,
                "4.4.3",
                or_default(reason, "cannot verify the recipient now, try again later"),
            ),
        }
    }
}

/// Builds the reply to a recipient that was taken.
pub(crate) fn recipient_ok() -> Reply {
    Reply::new(250, "2.1.5", "recipient OK")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_replies() {
        let cases = [
            (RecipientVerdict::Accept, "250 2.1.5 recipient OK"),
            (
                RecipientVerdict::Reject {
                    reason: "no such user".into(),
                },
                "550 5.1.1 no such user",
            ),
            (
                RecipientVerdict::Reject { reason: "".into() },
                "550 5.1.1 recipient rejected",
            ),
            (
                RecipientVerdict::Defer {
                    reason: "next hop unreachable".into(),
                },
                "451 4.4.3 next hop unreachable",
            ),
        ];

        for (verdict, expected) in cases {
            assert_eq!(verdict.reply().to_string(), expected);
        }
    }
}
