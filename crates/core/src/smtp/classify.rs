//! What a reply says about the mailbox, or about us.
//!
//! Rules, in the order they are tried; the first that applies wins:
//!
//! 1. The reply code's class (RFC 5321 §4.2.1). 2yz is [`Outcome::Deliverable`] whatever the
//!    text says; 3yz is [`Outcome::Unexpected`] (no command mailvet sends expects one). A 4yz
//!    never yields a permanent outcome and a 5yz never a temporary one.
//! 2. The enhanced status code (RFC 3463), when the server sent one whose class matches.
//!    It beats the text: `550 5.1.1 … blocked` is a missing mailbox.
//! 3. The text, last, for codes without a decisive enhanced status. Words that say the server
//!    refused *us* (a blocklist, policy, reputation) beat words about the mailbox, because
//!    reading a refusal as a missing mailbox would call a good address invalid.
//!
//! Text is matched case-insensitively, with `<…>` parts (usually the address itself) left out.

use core::fmt;

use super::reply::{EnhancedStatus, Reply};

/// Which command the reply answers. A reply to the greeting, EHLO/HELO or STARTTLS is
/// classified as [`Stage::Greeting`]; it can say nothing about a mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    Greeting,
    MailFrom,
    RcptTo,
}

/// What one reply means for the check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 2yz: the server accepts the recipient (for earlier stages: go on).
    Deliverable,
    /// The server says the mailbox does not exist (X.1.x, RFC 3463 §3.2).
    MailboxNotFound,
    /// The mailbox exists but takes no mail (X.2.1, RFC 3463 §3.3).
    MailboxDisabled,
    /// The mailbox is full (X.2.2, RFC 3463 §3.3).
    MailboxFull,
    /// The server takes no more recipients in this transaction (X.5.3, RFC 3463 §3.6;
    /// RFC 5321 §4.5.3.1.10): open a new session for the rest.
    TooManyRecipients,
    /// The server refused us (a blocklist, policy, our sender): nothing is known about the
    /// mailbox.
    Blocked,
    /// 4yz: greylisting, rate limits, a server in trouble. Try again later.
    TemporaryFailure,
    /// A 5yz that names no reason mailvet recognises.
    UnknownPermanent,
    /// A reply no command mailvet sends should get.
    Unexpected,
}

/// Classifies `reply` to the command of `stage`. See the module documentation for the rules.
pub fn classify(reply: &Reply, stage: Stage) -> Outcome {
    match reply.code / 100 {
        2 => return Outcome::Deliverable,
        4 | 5 => {}
        _ => return Outcome::Unexpected,
    }
    let text = searchable_text(reply);
    reply
        .enhanced
        .and_then(|status| by_enhanced_status(status, stage, &text))
        .unwrap_or_else(|| by_text(reply.code, stage, &text))
}

fn by_enhanced_status(status: EnhancedStatus, stage: Stage, text: &str) -> Option<Outcome> {
    let permanent = status.class == 5;
    Some(match (status.subject, status.detail) {
        // RFC 3463 §3.8: X.7.x is security or policy status. A 4.7.x is mostly greylisting or
        // rate limiting, so it is only a block when the text names one.
        (7, _) if permanent || names_a_blocklist(text) => Outcome::Blocked,
        (7, _) => Outcome::TemporaryFailure,
        // RFC 3463 §3.2: X.1.7 and X.1.8 are about the sender's address, which is ours.
        (1, 7 | 8) => Outcome::Blocked,
        _ if stage != Stage::RcptTo => return None,
        // RFC 3463 §3.2: X.1.x is addressing status (X.1.1 no such mailbox, X.1.0, X.1.2
        // destination system, X.1.3 syntax, X.1.6 moved; X.1.10 null MX from RFC 7505).
        (1, _) if permanent => Outcome::MailboxNotFound,
        (2, 1) if permanent => Outcome::MailboxDisabled,
        (2, 2) => Outcome::MailboxFull,
        (5, 3) => Outcome::TooManyRecipients,
        // Exchange Online's Directory-Based Edge Blocking answers an address missing from the
        // directory with "550 5.4.1 Recipient address rejected: Access denied".
        (4, 1) if permanent && text.contains("recipient address rejected") => {
            Outcome::MailboxNotFound
        }
        _ => return None,
    })
}

fn by_text(code: u16, stage: Stage, text: &str) -> Outcome {
    let permanent = code / 100 == 5;
    if stage != Stage::RcptTo {
        return if !permanent {
            if names_a_blocklist(text) {
                Outcome::Blocked
            } else {
                Outcome::TemporaryFailure
            }
        } else if code == 521 {
            // RFC 7504 §1: 521 denotes a host that accepts no mail at all, from anyone.
            Outcome::UnknownPermanent
        } else if is_syntax_reply(code) && !refuses_us(text) {
            Outcome::UnknownPermanent
        } else {
            // RFC 5321 §3.1 and §4.2.3: a 5yz before any recipient was named (554 "No SMTP
            // service here", 550 to MAIL FROM) is a refusal of this client or sender.
            Outcome::Blocked
        };
    }
    if !permanent {
        return if contains_any(text, GREYLISTING) {
            Outcome::TemporaryFailure
        } else if names_a_blocklist(text) {
            Outcome::Blocked
        } else if contains_any(text, TOO_MANY_RECIPIENTS) {
            Outcome::TooManyRecipients
        } else if contains_any(text, MAILBOX_FULL) {
            Outcome::MailboxFull
        } else {
            Outcome::TemporaryFailure
        };
    }
    if refuses_us(text) {
        Outcome::Blocked
    } else if contains_any(text, TOO_MANY_RECIPIENTS) {
        // RFC 5321 §4.5.3.1.10: some older servers answer 552 here.
        Outcome::TooManyRecipients
    } else if contains_any(text, MAILBOX_FULL) {
        Outcome::MailboxFull
    } else if contains_any(text, MAILBOX_DISABLED) {
        Outcome::MailboxDisabled
    } else if contains_any(text, MAILBOX_NOT_FOUND)
        || (text.contains("doesn't have a") && text.contains("account"))
    {
        Outcome::MailboxNotFound
    } else {
        Outcome::UnknownPermanent
    }
}

/// RFC 5321 §4.2.3: 500-504 and 555 complain about the command, not the mailbox.
fn is_syntax_reply(code: u16) -> bool {
    matches!(code, 500..=504 | 555)
}

/// Names of blocklists and reputation systems: a refusal of the sending host.
const BLOCKLISTS: &[&str] = &[
    "spamhaus",
    "spamcop",
    "barracuda",
    "sorbs",
    "dnsbl",
    "blacklist",
    "blocklist",
    "black list",
    "block list",
    "blocked",
    "reputation",
    "unsolicited",
];

/// Words that, in a permanent reply, say the server refused this client or sender.
const REFUSALS: &[&str] = &[
    "denied",
    "policy",
    "spam",
    "banned",
    "relaying",
    "relay access",
    "unable to relay",
    "relay not permitted",
    "sender verify",
    "sender address rejected",
    "sender rejected",
];

const GREYLISTING: &[&str] = &[
    "greylist",
    "graylist",
    "grey list",
    "gray list",
    "grey-list",
    "gray-list",
];

const TOO_MANY_RECIPIENTS: &[&str] = &["too many recipients"];

/// 452 alone is "insufficient system storage" (RFC 5321 §4.2.3), the server's disk, not the
/// mailbox; 552 is "exceeded storage allocation", which is the mailbox.
const MAILBOX_FULL: &[&str] = &[
    "mailbox full",
    "mailbox is full",
    "over quota",
    "quota exceeded",
    "exceeded quota",
    "exceeds quota",
    "exceeded its quota",
    "exceeded storage allocation",
    "mailbox size limit",
];

const MAILBOX_DISABLED: &[&str] = &[
    "mailbox is disabled",
    "mailbox disabled",
    "account is disabled",
    "account disabled",
    "account has been disabled",
    "mailbox is inactive",
    "account is inactive",
    "inactive account",
];

const MAILBOX_NOT_FOUND: &[&str] = &[
    "user unknown",
    "unknown user",
    "unknown recipient",
    "recipient unknown",
    "mailbox unknown",
    "address unknown",
    "no such user",
    "no such mailbox",
    "no such recipient",
    "no such account",
    "does not exist",
    "doesn't exist",
    "mailbox unavailable",
    "mailbox not found",
    "recipient not found",
    "user not found",
    "address not found",
    "recipient rejected",
    "recipient address rejected",
    "invalid recipient",
    "invalid mailbox",
    "not a valid mailbox",
    "no mailbox",
    "unrouteable address",
    "unroutable address",
];

fn names_a_blocklist(text: &str) -> bool {
    contains_any(text, BLOCKLISTS)
}

fn refuses_us(text: &str) -> bool {
    names_a_blocklist(text) || contains_any(text, REFUSALS)
}

fn contains_any(text: &str, needles: &[&str]) -> bool {
    needles.iter().any(|needle| text.contains(needle))
}

/// All lines joined by spaces, ASCII-lowercased, with `<…>` spans (addresses such as
/// `<blocked@example.com>`) replaced by a space so they cannot trigger a rule.
fn searchable_text(reply: &Reply) -> String {
    let mut out = String::with_capacity(reply.lines.iter().map(|l| l.len() + 1).sum());
    for line in &reply.lines {
        let mut rest = line.as_str();
        while let Some((before, opened)) = rest.split_once('<') {
            let Some((_, after)) = opened.split_once('>') else {
                break;
            };
            out.push_str(before);
            out.push(' ');
            rest = after;
        }
        out.push_str(rest);
        out.push(' ');
    }
    out.make_ascii_lowercase();
    out
}

impl Outcome {
    /// Every outcome, in order.
    pub const ALL: [Outcome; 9] = [
        Outcome::Deliverable,
        Outcome::MailboxNotFound,
        Outcome::MailboxDisabled,
        Outcome::MailboxFull,
        Outcome::TooManyRecipients,
        Outcome::Blocked,
        Outcome::TemporaryFailure,
        Outcome::UnknownPermanent,
        Outcome::Unexpected,
    ];

    /// A stable snake_case code for logs and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Deliverable => "deliverable",
            Outcome::MailboxNotFound => "mailbox_not_found",
            Outcome::MailboxDisabled => "mailbox_disabled",
            Outcome::MailboxFull => "mailbox_full",
            Outcome::TooManyRecipients => "too_many_recipients",
            Outcome::Blocked => "blocked",
            Outcome::TemporaryFailure => "temporary_failure",
            Outcome::UnknownPermanent => "unknown_permanent_failure",
            Outcome::Unexpected => "unexpected_reply",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Deliverable => "The mail server accepts this address.",
            Outcome::MailboxNotFound => "The mail server says this mailbox does not exist.",
            Outcome::MailboxDisabled => "The mail server says this mailbox is disabled.",
            Outcome::MailboxFull => "The mail server says this mailbox is full.",
            Outcome::TooManyRecipients => {
                "The mail server takes no more recipients in this session."
            }
            Outcome::Blocked => {
                "The mail server refused our check, so the mailbox could not be verified."
            }
            Outcome::TemporaryFailure => {
                "The mail server answered with a temporary failure; try again later."
            }
            Outcome::UnknownPermanent => {
                "The mail server refused the address without a reason mailvet recognises."
            }
            Outcome::Unexpected => "The mail server sent a reply that does not fit the command.",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;
    use Stage::*;

    fn outcome(input: &str, stage: Stage) -> Outcome {
        let (reply, used) = Reply::parse(input.as_bytes()).unwrap().unwrap();
        assert_eq!(used, input.len(), "{input:?}");
        classify(&reply, stage)
    }

    fn check(cases: &[(&str, Stage, Outcome)]) {
        for &(input, stage, expected) in cases {
            assert_eq!(outcome(input, stage), expected, "{input:?} at {stage:?}");
        }
    }

    #[test]
    fn big_provider_replies_to_rcpt() {
        check(&[
            // Gmail.
            (
                "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n\
                 550-5.1.1 double-checking the recipient's email address for typos or\r\n\
                 550-5.1.1 unnecessary spaces. For more information, go to\r\n\
                 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si2 - gsmtp\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            (
                "550-5.2.1 The email account that you tried to reach is disabled.\r\n\
                 550 5.2.1  https://support.google.com/mail/?p=DisabledUser a1si2 - gsmtp\r\n",
                RcptTo,
                MailboxDisabled,
            ),
            (
                "452-4.2.2 The email account that you tried to reach is over quota. Please direct\r\n\
                 452 4.2.2 the recipient to https://support.google.com/mail/?p=OverQuotaTemp - gsmtp\r\n",
                RcptTo,
                MailboxFull,
            ),
            (
                "450-4.2.1 The user you are trying to contact is receiving mail at a rate that\r\n\
                 450 4.2.1 prevents additional messages from being delivered. - gsmtp\r\n",
                RcptTo,
                TemporaryFailure,
            ),
            (
                "553 5.1.3 The recipient address <a b@gmail.com> is not a valid RFC 5321 address. - gsmtp\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            (
                "550-5.7.1 [192.0.2.1] The IP you're using to send mail is not authorized to\r\n\
                 550 5.7.1 send email directly to our servers. - gsmtp\r\n",
                RcptTo,
                Blocked,
            ),
            (
                "421-4.7.0 [192.0.2.1] Our system has detected an unusual rate of\r\n\
                 421 4.7.0 unsolicited mail originating from your IP address. - gsmtp\r\n",
                RcptTo,
                Blocked,
            ),
            // Outlook.com and Exchange Online.
            (
                "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [X.prod.outlook.com]\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            (
                "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [X.prod.outlook.com]\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            (
                "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            (
                "550 5.7.1 Service unavailable, Client host [192.0.2.1] blocked using Spamhaus. \
                 To request removal from this list see https://www.spamhaus.org/query/ip/192.0.2.1 AS(1450)\r\n",
                RcptTo,
                Blocked,
            ),
            (
                "550 5.7.606 Access denied, banned sending IP [192.0.2.1]. (S3150)\r\n",
                RcptTo,
                Blocked,
            ),
            // Yahoo.
            (
                "554 delivery error: dd This user doesn't have a yahoo.com account (nobody@yahoo.com) [0] - mta1.mail.example\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            (
                "554 delivery error: dd Sorry your message to nobody@yahoo.com cannot be delivered. \
                 This mailbox is disabled (554.30). - mta1.mail.example\r\n",
                RcptTo,
                MailboxDisabled,
            ),
            (
                "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the ip is in Spamhaus's list\r\n",
                RcptTo,
                Blocked,
            ),
            (
                "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints\r\n",
                RcptTo,
                TemporaryFailure,
            ),
        ]);
    }

    #[test]
    fn common_mta_replies_to_rcpt() {
        check(&[
            ("250 2.1.5 Ok\r\n", RcptTo, Deliverable),
            ("250 Accepted\r\n", RcptTo, Deliverable),
            (
                "251 2.1.5 User not local; will forward\r\n",
                RcptTo,
                Deliverable,
            ),
            // Postfix.
            (
                "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            (
                "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org\r\n",
                RcptTo,
                Blocked,
            ),
            (
                "554 5.7.1 <a@example.com>: Relay access denied\r\n",
                RcptTo,
                Blocked,
            ),
            (
                "450 4.2.0 <a@example.com>: Recipient address rejected: Greylisted, see http://postgrey.example/\r\n",
                RcptTo,
                TemporaryFailure,
            ),
            (
                "450 4.1.1 <a@example.com>: Recipient address rejected: unverified address: host not found\r\n",
                RcptTo,
                TemporaryFailure,
            ),
            (
                "452 4.5.3 Error: too many recipients\r\n",
                RcptTo,
                TooManyRecipients,
            ),
            (
                "451 4.3.0 Temporary lookup failure\r\n",
                RcptTo,
                TemporaryFailure,
            ),
            (
                "451 4.7.1 Please try again later\r\n",
                RcptTo,
                TemporaryFailure,
            ),
            (
                "450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]\r\n",
                RcptTo,
                TemporaryFailure,
            ),
            (
                "450 4.1.8 <probe@example.net>: Sender address rejected: Domain not found\r\n",
                RcptTo,
                Blocked,
            ),
            ("550 5.1.7 Invalid sender address\r\n", RcptTo, Blocked),
            // Exim, sendmail, qmail, cPanel, Mimecast, GMX-style replies without enhanced codes.
            ("550 Unrouteable address\r\n", RcptTo, MailboxNotFound),
            ("550 No Such User Here\r\n", RcptTo, MailboxNotFound),
            (
                "550 5.1.1 <a@example.com>... User unknown\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            (
                "550 sorry, no mailbox here by that name. (#5.1.1)\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            (
                "550 Invalid Recipient - https://community.example/docs#550\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            (
                "550 Requested action not taken: mailbox unavailable\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            ("550 Recipient rejected\r\n", RcptTo, MailboxNotFound),
            (
                "550 Administrative prohibition\r\n",
                RcptTo,
                UnknownPermanent,
            ),
            (
                "554-mx.example.net\r\n554 Transaction failed Reject due to policy restrictions.\r\n",
                RcptTo,
                Blocked,
            ),
            ("550 Sender verify failed\r\n", RcptTo, Blocked),
            // Full mailboxes: 552 text, 5.2.2, 4.2.2; 452 alone is the server's disk.
            (
                "552 Requested mail action aborted: exceeded storage allocation\r\n",
                RcptTo,
                MailboxFull,
            ),
            ("552 5.2.2 Mailbox full\r\n", RcptTo, MailboxFull),
            ("452 4.2.2 Mailbox full\r\n", RcptTo, MailboxFull),
            (
                "452 Mailbox is full, try again later\r\n",
                RcptTo,
                MailboxFull,
            ),
            (
                "452 Requested action not taken: insufficient system storage\r\n",
                RcptTo,
                TemporaryFailure,
            ),
            (
                "452 4.3.1 Insufficient system storage\r\n",
                RcptTo,
                TemporaryFailure,
            ),
            ("452 Too many recipients\r\n", RcptTo, TooManyRecipients),
            ("552 Too many recipients\r\n", RcptTo, TooManyRecipients),
            (
                "421 4.3.2 Service not available, closing transmission channel\r\n",
                RcptTo,
                TemporaryFailure,
            ),
            (
                "421 mx.example.com Service closing transmission channel\r\n",
                RcptTo,
                TemporaryFailure,
            ),
            (
                "556 5.1.10 Recipient address has null MX\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            (
                "501 Syntax error in parameters or arguments\r\n",
                RcptTo,
                UnknownPermanent,
            ),
            ("354 Start mail input\r\n", RcptTo, Unexpected),
        ]);
    }

    #[test]
    fn code_class_text_precedence() {
        check(&[
            // A 2yz is accepted whatever the text; a 4yz never becomes a permanent outcome.
            ("250 user unknown, accepted anyway\r\n", RcptTo, Deliverable),
            ("450 User unknown\r\n", RcptTo, TemporaryFailure),
            (
                "451 4.1.1 No such user (temporary directory failure)\r\n",
                RcptTo,
                TemporaryFailure,
            ),
            // The enhanced code beats the text.
            (
                "550 5.1.1 Mailbox <a@example.com> blocked, no such user\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            ("550 5.7.1 User unknown\r\n", RcptTo, Blocked),
            // Without one, a refusal of us beats words about the mailbox.
            (
                "550 User unknown or your IP is on our blocklist\r\n",
                RcptTo,
                Blocked,
            ),
            (
                "550 Requested action not taken: mailbox unavailable (e.g., mailbox not found, \
                 no access, or command rejected for policy reasons)\r\n",
                RcptTo,
                Blocked,
            ),
            // An enhanced code whose class disagrees with the reply is ignored (RFC 2034 §4).
            ("550 4.2.2 Mailbox full\r\n", RcptTo, MailboxFull),
            ("550 2.1.1 User unknown\r\n", RcptTo, MailboxNotFound),
            // An address in angle brackets never triggers a rule.
            (
                "550 <spamhaus-blocked@example.com> no such user\r\n",
                RcptTo,
                MailboxNotFound,
            ),
            (
                "550 5.0.0 <user-unknown@example.com> Administrative prohibition\r\n",
                RcptTo,
                UnknownPermanent,
            ),
            // An unclosed bracket is just text.
            ("550 user unknown <\r\n", RcptTo, MailboxNotFound),
        ]);
    }

    #[test]
    fn greeting_and_mail_from_say_nothing_about_mailboxes() {
        check(&[
            ("220 mx.example.com ESMTP\r\n", Greeting, Deliverable),
            ("250 2.1.0 Sender OK\r\n", MailFrom, Deliverable),
            (
                "554 mx.example.com No SMTP service here\r\n",
                Greeting,
                Blocked,
            ),
            (
                "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org\r\n",
                Greeting,
                Blocked,
            ),
            (
                "521 5.3.2 mx.example.com does not accept mail\r\n",
                Greeting,
                UnknownPermanent,
            ),
            (
                "421 4.7.0 Too many connections from your host\r\n",
                Greeting,
                TemporaryFailure,
            ),
            ("421 4.7.0 Your IP is on a blocklist\r\n", Greeting, Blocked),
            ("450 4.3.2 Try again later\r\n", MailFrom, TemporaryFailure),
            // User-unknown words about our own sender are no missing mailbox.
            ("550 5.1.1 User unknown\r\n", MailFrom, Blocked),
            (
                "553 5.1.8 Sender domain does not exist\r\n",
                MailFrom,
                Blocked,
            ),
            ("550 Sender rejected\r\n", MailFrom, Blocked),
            (
                "555 5.5.4 SMTPUTF8 parameter not recognized\r\n",
                MailFrom,
                UnknownPermanent,
            ),
            ("501 5.5.4 Syntax error\r\n", MailFrom, UnknownPermanent),
            ("501 5.7.1 Sender denied by policy\r\n", MailFrom, Blocked),
            ("552 5.2.2 Mailbox full\r\n", MailFrom, Blocked),
            (
                "452 4.5.3 Too many recipients\r\n",
                MailFrom,
                TemporaryFailure,
            ),
        ]);
    }

    #[test]
    fn outcome_codes_and_sentences() {
        let all = [
            Deliverable,
            MailboxNotFound,
            MailboxDisabled,
            MailboxFull,
            TooManyRecipients,
            Blocked,
            TemporaryFailure,
            UnknownPermanent,
            Unexpected,
        ];
        let mut codes: Vec<&str> = all.iter().map(Outcome::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for outcome in all {
            let sentence = outcome.to_string();
            assert!(sentence.starts_with("The mail server") && sentence.ends_with('.'));
        }
    }
}
