//! The mail hosts of a domain, tried in order until one gives a session, and what they said
//! when none did.
//!
//! The hosts are tried in order (RFC 5321 §5.1), and a host that fails is left for the next;
//! when all fail, the answer is the most telling thing any of them said.

use crate::report::{MailboxEvidence, NotAsked};

/// Puts `hosts` in the order to try them (RFC 5321 §5.1): by preference, lowest first; hosts of
/// equal preference in random order, so that they share the load. `random_below(n)` is a number
/// below `n` drawn by the caller.
pub fn try_order<T>(
    hosts: &mut [T],
    preference: impl Fn(&T) -> u16,
    mut random_below: impl FnMut(usize) -> usize,
) {
    hosts.sort_by_key(&preference);
    let mut start = 0;
    while let Some(first) = hosts.get(start) {
        let same = preference(first);
        let end = start
            + hosts[start..]
                .iter()
                .take_while(|h| preference(h) == same)
                .count();
        // Fisher-Yates over the group of equal preference.
        let group = &mut hosts[start..end];
        for i in (1..group.len()).rev() {
            group.swap(i, random_below(i + 1).min(i));
        }
        start = end;
    }
}

/// The evidence of the hosts tried so far, keeping the one that says most.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attempts {
    best: Option<MailboxEvidence>,
    /// The first host skipped because its addresses are special-purpose.
    private: Option<String>,
}

impl Attempts {
    /// Records what one host (or one of its addresses) said.
    pub fn failed(&mut self, evidence: MailboxEvidence) {
        match &self.best {
            Some(best) if rank(best) >= rank(&evidence) => {}
            _ => self.best = Some(evidence),
        }
    }

    /// Records a host not contacted because every address of it is special-purpose (RFC 6890).
    pub fn private(&mut self, host: &str) {
        self.private.get_or_insert_with(|| host.to_owned());
    }

    /// The answer when no host gave a session: the best evidence, else the private host that
    /// was not asked, else nothing reachable.
    pub fn finish(self) -> MailboxEvidence {
        self.best
            .or_else(|| {
                self.private.map(|host| MailboxEvidence::NotAsked {
                    host: Some(host),
                    why: NotAsked::PrivateAddress,
                })
            })
            .unwrap_or(MailboxEvidence::Unreachable)
    }
}

/// A server's answer says most, then a timeout (a server was there), then nothing. A tie keeps
/// the earlier, from the more preferred host.
fn rank(evidence: &MailboxEvidence) -> u8 {
    match evidence {
        MailboxEvidence::Answered { .. } => 3,
        MailboxEvidence::Timeout { .. } => 2,
        MailboxEvidence::NotAsked { .. } => 1,
        MailboxEvidence::Unreachable => 0,
    }
}

/// Whether `evidence`, found for one address, holds for every address waiting for the same
/// hosts: it is about the hosts (none reachable, all private) or about us (a server refused the
/// session or our sender before any recipient was named), not about the mailbox.
pub fn holds_for_the_hosts(evidence: &MailboxEvidence) -> bool {
    matches!(
        evidence,
        MailboxEvidence::Unreachable
            | MailboxEvidence::Answered { .. }
            | MailboxEvidence::NotAsked {
                why: NotAsked::PrivateAddress,
                ..
            }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::Outcome;

    fn answered(host: &str) -> MailboxEvidence {
        MailboxEvidence::Answered {
            host: host.into(),
            code: 421,
            enhanced: None,
            message: "busy".into(),
            outcome: Outcome::TemporaryFailure,
            tls: false,
            catch_all: None,
        }
    }

    #[test]
    fn hosts_by_preference_equal_ones_as_the_caller_draws() {
        let mut hosts = [(20, "c"), (10, "a1"), (10, "a2"), (10, "a3"), (30, "d")];
        // Never swapping keeps the sorted order; taking 0 each time rotates the group.
        try_order(&mut hosts, |h| h.0, |n| n - 1);
        assert_eq!(hosts.map(|h| h.1), ["a1", "a2", "a3", "c", "d"]);
        try_order(&mut hosts, |h| h.0, |_| 0);
        assert_eq!(hosts.map(|h| h.1), ["a2", "a3", "a1", "c", "d"]);
        // A number out of range is no reason to panic.
        try_order(&mut hosts, |h| h.0, |_| usize::MAX);
        assert_eq!(hosts.map(|h| h.1)[3..], ["c", "d"]);
    }

    #[test]
    fn the_most_telling_evidence_wins() {
        let timeout = MailboxEvidence::Timeout {
            host: Some("mx".into()),
        };
        let mut attempts = Attempts::default();
        attempts.failed(MailboxEvidence::Unreachable);
        attempts.failed(timeout.clone());
        attempts.failed(MailboxEvidence::Unreachable);
        assert_eq!(attempts.clone().finish(), timeout);
        attempts.failed(answered("mx1"));
        attempts.failed(answered("mx2"));
        attempts.failed(timeout);
        assert_eq!(attempts.finish(), answered("mx1"));
    }

    #[test]
    fn private_hosts_count_only_when_nothing_else_was_said() {
        let mut attempts = Attempts::default();
        assert_eq!(attempts.clone().finish(), MailboxEvidence::Unreachable);
        attempts.private("mx1");
        attempts.private("mx2");
        let not_asked = MailboxEvidence::NotAsked {
            host: Some("mx1".into()),
            why: NotAsked::PrivateAddress,
        };
        assert_eq!(attempts.clone().finish(), not_asked);
        assert!(holds_for_the_hosts(&not_asked));
        attempts.failed(MailboxEvidence::Unreachable);
        assert_eq!(attempts.finish(), MailboxEvidence::Unreachable);
    }

    #[test]
    fn only_evidence_about_hosts_is_shared() {
        assert!(holds_for_the_hosts(&answered("mx")));
        assert!(holds_for_the_hosts(&MailboxEvidence::Unreachable));
        assert!(!holds_for_the_hosts(&MailboxEvidence::Timeout {
            host: None
        }));
        assert!(!holds_for_the_hosts(&MailboxEvidence::NotAsked {
            host: None,
            why: NotAsked::NeedsSmtputf8
        }));
    }
}
