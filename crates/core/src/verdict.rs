//! The verdict model: mailvet's public contract.
//!
//! Every address ends in one [`Verdict`] with [`Reason`]s. A reason has a stable machine code
//! ([`ReasonCode`], snake_case in JSON) and a sentence for people. What a reason does to the verdict
//! is its [`Severity`], which a [`Policy`] can change (for example: role accounts count as valid,
//! free providers are risky for a B2B form).
//!
//! Precedence: `invalid` > `risky` > `unknown` > `valid`. The verdict is the most severe effect of
//! any reason; with no reason at all it is `valid`, and [`crate::report::Checks`] tells which
//! layers that rests on.

use core::fmt;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The answer for one address.
///
/// The declaration order is the precedence order, so `max` picks the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing found against the address in the layers that ran.
    Valid,
    /// A layer could not reach a conclusion (a timeout, a temporary failure, a policy block).
    Unknown,
    /// The address probably works, but keeping it carries a risk (disposable, catch-all, …).
    Risky,
    /// The address cannot receive mail.
    Invalid,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Unknown => "unknown",
            Verdict::Risky => "risky",
            Verdict::Invalid => "invalid",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a reason does to the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Invalid,
    Risky,
    Unknown,
    /// Information only: reported, never changes the verdict.
    Info,
}

impl Severity {
    /// The verdict this severity asks for; `None` for information.
    pub fn verdict(self) -> Option<Verdict> {
        match self {
            Severity::Invalid => Some(Verdict::Invalid),
            Severity::Risky => Some(Verdict::Risky),
            Severity::Unknown => Some(Verdict::Unknown),
            Severity::Info => None,
        }
    }
}

macro_rules! reason_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $severity:ident, $message:literal; )*) => {
        /// A stable reason code. The JSON form (`code`) never changes once released.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ReasonCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ReasonCode {
            /// Every code, in documentation order.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant),*];

            /// The stable snake_case code.
            pub fn as_str(self) -> &'static str {
                match self { $(ReasonCode::$variant => $code,)* }
            }

            /// What this reason does to the verdict unless a [`Policy`] says otherwise.
            pub fn default_severity(self) -> Severity {
                match self { $(ReasonCode::$variant => Severity::$severity,)* }
            }

            /// A general sentence for people; reasons built by the pipeline may say more.
            pub fn message(self) -> &'static str {
                match self { $(ReasonCode::$variant => $message,)* }
            }

            pub fn from_str_code(code: &str) -> Option<ReasonCode> {
                match code { $($code => Some(ReasonCode::$variant),)* _ => None }
            }
        }
    };
}

reason_codes! {
    /// The text is not an email address (RFC 5321 §4.1.2, RFC 6531).
    InvalidSyntax = "invalid_syntax", Invalid, "This is not a valid email address.";
    /// The domain does not exist (NXDOMAIN).
    DomainNotFound = "domain_not_found", Invalid, "The domain does not exist.";
    /// The domain says it accepts no mail (RFC 7505 null MX).
    NullMx = "null_mx", Invalid, "The domain declares that it does not accept email.";
    /// The domain exists but has neither MX nor address records (RFC 5321 §5.1).
    NoMailServer = "no_mail_server", Invalid, "The domain has no mail server.";
    /// The mail server says the mailbox does not exist (5.1.x).
    MailboxNotFound = "mailbox_not_found", Invalid, "The mail server says this mailbox does not exist.";
    /// The mail server says the mailbox is disabled (5.2.1).
    MailboxDisabled = "mailbox_disabled", Invalid, "The mail server says this mailbox is disabled.";
    /// A throwaway-inbox provider.
    Disposable = "disposable", Risky, "The address belongs to a disposable (throwaway) email provider.";
    /// A mailbox for a role or team rather than a person (RFC 2142 names and the like).
    RoleAccount = "role_account", Risky, "The address is a role account, not a person's mailbox.";
    /// The domain accepts mail for any local part, so the mailbox cannot be confirmed.
    CatchAll = "catch_all", Risky, "The domain accepts mail for any address, so this mailbox cannot be confirmed.";
    /// The mailbox exists but is full (4.2.2 / 5.2.2).
    MailboxFull = "mailbox_full", Risky, "The mailbox exists but is full.";
    /// The domain looks like a misspelling of a popular one.
    PossibleTypo = "possible_typo", Risky, "The domain looks like a typo.";
    /// The mail server answered with a temporary failure (4xx, greylisting).
    SmtpTemporaryFailure = "smtp_temporary_failure", Unknown, "The mail server answered with a temporary failure; try again later.";
    /// The mail server did not answer in time.
    SmtpTimeout = "smtp_timeout", Unknown, "The mail server did not answer in time.";
    /// No mail server of the domain could be reached.
    SmtpUnreachable = "smtp_unreachable", Unknown, "No mail server of the domain could be reached.";
    /// The mail server refused mailvet for policy reasons: that says nothing about the mailbox.
    /// The mail server rejected the address with a permanent error that names no reason
    /// mailvet recognises: not proof that the mailbox is missing.
    SmtpRejected = "smtp_rejected", Unknown, "The mail server rejected the address without saying why, so the mailbox could not be confirmed.";
    SmtpBlocked = "smtp_blocked", Unknown, "The mail server refused to answer our check, so the mailbox could not be verified.";
    /// DNS could not be asked (SERVFAIL, resolver unreachable): never read as a missing domain.
    DnsFailure = "dns_failure", Unknown, "The domain's DNS could not be checked right now.";
    /// A list's check of this address did not finish (the work was lost and sent again until
    /// the retries ran out): nothing is known against the address, nor for it.
    CheckNotCompleted = "check_not_completed", Unknown, "The check of this address could not be completed; check it again.";
    /// A free webmail provider: information, unless a policy says otherwise.
    FreeProvider = "free_provider", Info, "The address is at a free email provider.";
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason: a stable code and a sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: ReasonCode,
    /// Nearly always one of the fixed sentences: borrowed, as a list of a million addresses
    /// would otherwise copy one for most of them.
    pub message: Cow<'static, str>,
}

impl Reason {
    /// A reason with the code's general sentence.
    pub fn new(code: ReasonCode) -> Self {
        Reason {
            code,
            message: Cow::Borrowed(code.message()),
        }
    }

    /// A reason with a sentence of its own.
    pub fn with_message(code: ReasonCode, message: impl Into<Cow<'static, str>>) -> Self {
        Reason {
            code,
            message: message.into(),
        }
    }
}

/// How reasons weigh: the default severities with the user's overrides.
///
/// In JSON, a map from reason code to severity, e.g. `{"role_account": "info", "free_provider": "risky"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Policy {
    overrides: std::collections::BTreeMap<ReasonCode, Severity>,
}

impl Policy {
    /// This policy with `code` weighing `severity`.
    pub fn with(mut self, code: ReasonCode, severity: Severity) -> Self {
        self.overrides.insert(code, severity);
        self
    }

    pub fn severity(&self, code: ReasonCode) -> Severity {
        self.overrides
            .get(&code)
            .copied()
            .unwrap_or_else(|| code.default_severity())
    }

    /// The verdict for a set of reasons: the most severe effect, `valid` when none has one.
    pub fn verdict(&self, reasons: &[Reason]) -> Verdict {
        reasons
            .iter()
            .filter_map(|r| self.severity(r.code).verdict())
            .max()
            .unwrap_or(Verdict::Valid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_invalid_risky_unknown_valid() {
        let p = Policy::default();
        let r = |codes: &[ReasonCode]| codes.iter().map(|c| Reason::new(*c)).collect::<Vec<_>>();
        assert_eq!(p.verdict(&[]), Verdict::Valid);
        assert_eq!(p.verdict(&r(&[ReasonCode::FreeProvider])), Verdict::Valid);
        assert_eq!(
            p.verdict(&r(&[ReasonCode::SmtpTimeout, ReasonCode::FreeProvider])),
            Verdict::Unknown
        );
        assert_eq!(
            p.verdict(&r(&[ReasonCode::SmtpTimeout, ReasonCode::Disposable])),
            Verdict::Risky
        );
        assert_eq!(
            p.verdict(&r(&[
                ReasonCode::Disposable,
                ReasonCode::MailboxNotFound,
                ReasonCode::DnsFailure
            ])),
            Verdict::Invalid
        );
    }

    #[test]
    fn policy_overrides_change_the_verdict() {
        let reasons = [
            Reason::new(ReasonCode::RoleAccount),
            Reason::new(ReasonCode::FreeProvider),
        ];
        assert_eq!(Policy::default().verdict(&reasons), Verdict::Risky);
        let b2c = Policy::default().with(ReasonCode::RoleAccount, Severity::Info);
        assert_eq!(b2c.verdict(&reasons), Verdict::Valid);
        let b2b = b2c.with(ReasonCode::FreeProvider, Severity::Risky);
        assert_eq!(b2b.verdict(&reasons), Verdict::Risky);
    }

    #[test]
    fn policy_reads_from_json_by_code() {
        let p: Policy =
            serde_json::from_str(r#"{"role_account":"info","free_provider":"risky"}"#).unwrap();
        assert_eq!(p.severity(ReasonCode::RoleAccount), Severity::Info);
        assert_eq!(p.severity(ReasonCode::FreeProvider), Severity::Risky);
        assert_eq!(p.severity(ReasonCode::Disposable), Severity::Risky);
        assert!(serde_json::from_str::<Policy>(r#"{"no_such_code":"info"}"#).is_err());
    }

    #[test]
    fn codes_are_stable_snake_case_and_round_trip() {
        for code in ReasonCode::ALL {
            let s = code.as_str();
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert_eq!(ReasonCode::from_str_code(s), Some(*code));
            assert_eq!(serde_json::to_string(code).unwrap(), format!("\"{s}\""));
            assert!(code.message().ends_with('.'));
        }
        assert_eq!(ReasonCode::ALL.len(), 19);
    }
}
