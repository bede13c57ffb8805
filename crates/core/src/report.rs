//! One address, layer by layer, to one [`Report`]: the shape of a `mailvet check` line and of the
//! Worker's `/v1/verify` answer.
//!
//! The callers own the I/O; this module owns every decision. A caller starts a [`Check`] from the
//! text it was given (syntax and lists need nothing else), adds what DNS said
//! ([`Check::with_dns`]) and what the mail server said ([`Check::with_mailbox`]) when it asked
//! them, and finishes with a [`Policy`]:
//!
//! ```
//! use mailvet_core::lists::Lists;
//! use mailvet_core::report::{Check, Skipped};
//! use mailvet_core::verdict::{Policy, Verdict};
//!
//! let lists = Lists::new();
//! let report = Check::new("jane@gamil.com", &lists)
//!     .syntax_only()
//!     .finish(&Policy::default());
//! assert_eq!(report.verdict, Verdict::Valid);
//! assert_eq!(report.suggestion.as_deref(), Some("jane@gmail.com"));
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::dns::route::MailRoute;
use crate::lists::Lists;
use crate::smtp::Outcome;
use crate::suggest::{self, Suggestion};
use crate::syntax::{self, Address, SyntaxError};
use crate::verdict::{Policy, Reason, ReasonCode, Verdict};

/// The answer for one address. Field names and codes are a public contract.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Exactly the text that was given.
    pub input: String,
    /// The normalised address (Unicode domain, NFC local part), or `None` when the syntax is invalid.
    pub address: Option<String>,
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    /// A corrected address ("did you mean …?"), if the domain looks misspelt.
    pub suggestion: Option<String>,
    /// 0 (certainly bad) to 100 (confirmed by the mail server); see [`score`].
    pub score: u8,
    pub checks: Checks,
}

/// The memory of a finished [`Report`], for [`Check::with_memo_reusing`] to check the next
/// address in: its input, its address and its reasons, each emptied before use.
#[derive(Debug, Default)]
pub struct Spare {
    input: String,
    address: String,
    reasons: Vec<Reason>,
}

impl Report {
    /// This report's memory, for the next check ([`Check::with_memo_reusing`]).
    pub fn into_spare(self) -> Spare {
        Spare {
            input: self.input,
            address: self.address.unwrap_or_default(),
            reasons: self.reasons,
        }
    }
}

/// Which layers ran and what each found, so that a `valid` from syntax or DNS alone is never
/// mistaken for a mailbox that was probed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Checks {
    pub syntax: SyntaxCheck,
    pub dns: DnsCheck,
    pub smtp: SmtpCheck,
}

/// What a layer concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The layer ran and found nothing against the address.
    Passed,
    /// The layer ran and found the address cannot work.
    Failed,
    /// The layer ran but could not conclude (timeout, temporary failure, refusal).
    Inconclusive,
    /// The layer did not run; `skipped` says why.
    Skipped,
}

impl Status {
    /// The stable snake_case code, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Inconclusive => "inconclusive",
            Status::Skipped => "skipped",
        }
    }
}

/// Why a layer did not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skipped {
    /// The caller asked for syntax and lists only.
    SyntaxOnly,
    /// The caller turned the mailbox layer off (`--no-smtp`).
    Disabled,
    /// No prober is configured (the Worker without `PROBE_URL`).
    NoProber,
    /// An earlier layer already decided (invalid syntax, a domain that takes no mail).
    NotNeeded,
    /// The domain is an address literal: there is no DNS to ask.
    AddressLiteral,
    /// DNS could not be asked, so there are no mail servers to probe.
    DnsUnavailable,
    /// The check of a list's row was given up before the layer ran (`check_not_completed`).
    NotCompleted,
}

impl Skipped {
    /// The stable snake_case code, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Skipped::SyntaxOnly => "syntax_only",
            Skipped::Disabled => "disabled",
            Skipped::NoProber => "no_prober",
            Skipped::NotNeeded => "not_needed",
            Skipped::AddressLiteral => "address_literal",
            Skipped::DnsUnavailable => "dns_unavailable",
            Skipped::NotCompleted => "not_completed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SyntaxCheck {
    pub status: Status,
    /// Warning codes (see [`syntax::Warning`]).
    pub warnings: Vec<syntax::Warning>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<SyntaxErrorDetail>,
}

/// An invalid address: which rule, where, and a sentence for the person who typed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyntaxErrorDetail {
    pub code: &'static str,
    /// Byte offset into `input`.
    pub position: usize,
    pub message: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DnsCheck {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Skipped>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteKind>,
    /// The mail hosts by preference (the domain itself for an implicit MX).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mx: Vec<MxSummary>,
}

/// What DNS said about where mail for the domain goes: [`MailRoute`] as the report names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    /// MX records name mail hosts.
    Mx,
    /// No MX record; the domain's own address takes mail (RFC 5321 §5.1).
    ImplicitMx,
    /// A null MX: the domain takes no mail (RFC 7505).
    NullMx,
    /// Neither MX nor address records, or MX hosts without addresses (RFC 5321 §5.1).
    NoMailServer,
    /// NXDOMAIN.
    DomainNotFound,
    /// DNS gave no usable answer.
    DnsFailure,
}

impl RouteKind {
    /// Every kind, in order.
    pub const ALL: [RouteKind; 6] = [
        RouteKind::Mx,
        RouteKind::ImplicitMx,
        RouteKind::NullMx,
        RouteKind::NoMailServer,
        RouteKind::DomainNotFound,
        RouteKind::DnsFailure,
    ];

    pub fn of(route: &MailRoute) -> RouteKind {
        match route {
            MailRoute::Hosts(hosts) if hosts.iter().any(|h| h.implicit) => RouteKind::ImplicitMx,
            MailRoute::Hosts(_) => RouteKind::Mx,
            MailRoute::NullMx => RouteKind::NullMx,
            MailRoute::NoMailServer => RouteKind::NoMailServer,
            MailRoute::DomainNotFound => RouteKind::DomainNotFound,
            MailRoute::DnsFailure(_) => RouteKind::DnsFailure,
        }
    }

    /// The stable snake_case code, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Mx => "mx",
            RouteKind::ImplicitMx => "implicit_mx",
            RouteKind::NullMx => "null_mx",
            RouteKind::NoMailServer => "no_mail_server",
            RouteKind::DomainNotFound => "domain_not_found",
            RouteKind::DnsFailure => "dns_failure",
        }
    }

    /// What the DNS layer concluded, and the reason it adds to the report.
    fn judged(self) -> (Status, Option<ReasonCode>) {
        match self {
            RouteKind::Mx | RouteKind::ImplicitMx => (Status::Passed, None),
            RouteKind::NullMx => (Status::Failed, Some(ReasonCode::NullMx)),
            RouteKind::NoMailServer => (Status::Failed, Some(ReasonCode::NoMailServer)),
            RouteKind::DomainNotFound => (Status::Failed, Some(ReasonCode::DomainNotFound)),
            RouteKind::DnsFailure => (Status::Inconclusive, Some(ReasonCode::DnsFailure)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxSummary {
    pub preference: u16,
    pub host: String,
}

impl MxSummary {
    /// The hosts of a route, in its order; none when the route names no hosts.
    pub fn of_route(route: &MailRoute) -> Vec<MxSummary> {
        match route {
            MailRoute::Hosts(hosts) => hosts
                .iter()
                .map(|h| MxSummary {
                    preference: h.preference,
                    host: h.host.clone(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SmtpCheck {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Skipped>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<MailboxEvidence>,
}

/// What the SMTP prober found for one mailbox. It travels from the prober to the Worker as JSON,
/// so both sides read it through this one type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum MailboxEvidence {
    /// A mail server answered `RCPT TO`.
    Answered {
        /// The MX host that answered.
        host: String,
        /// The reply code, its enhanced status (RFC 3463) and its text.
        code: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        enhanced: Option<String>,
        #[serde(default)]
        message: String,
        /// What the reply means, classified by the core.
        outcome: Outcome,
        /// Whether the session ran over STARTTLS.
        tls: bool,
        /// Whether a random local part of the domain was accepted too; `None` when not probed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        catch_all: Option<bool>,
    },
    /// A server accepted the connection but did not answer within the deadline.
    Timeout {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
    },
    /// No mail server of the domain accepted a connection.
    Unreachable,
    /// The prober did not ask the mail server, by a rule of its own; `why` says which.
    NotAsked {
        /// The first MX host the rule stopped.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        why: NotAsked,
    },
}

/// Why the prober did not ask a mail server about a mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotAsked {
    /// Every address of the mail hosts is loopback, private or otherwise special-purpose
    /// (RFC 6890), and the prober was not told to connect to such addresses.
    PrivateAddress,
    /// The local part is not ASCII and no mail host offers SMTPUTF8, so `RCPT TO` cannot name
    /// the mailbox (RFC 6531 §3.2).
    NeedsSmtputf8,
    /// The prober's own address is on a blocklist that mail servers use: asking them would be
    /// refused, and would dig the hole deeper (`mailvet serve --public-ip`).
    ProberListed,
}

/// What the edge Worker asks the prober (`POST /v1/probe`, bearer token): one address, and the
/// mail hosts the Worker already found, so the prober need not resolve the MX again. Without
/// `mx` the prober resolves the domain itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeRequest {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mx: Option<Vec<MxSummary>>,
}

/// The prober's answer: what the mail server said, or why it could not be asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeResponse {
    pub evidence: MailboxEvidence,
}

/// The most addresses one [`ProbeBatchRequest`] may carry.
pub const PROBE_BATCH_MAX: usize = 1_000;

/// What the Worker asks the prober for a list (`POST /v1/probe/batch`): many addresses at one
/// domain, so that they share SMTP sessions (up to the prober's recipients per session), with
/// the MX hosts the Worker found (else the prober looks them up).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeBatchRequest {
    /// The domain every address is at (any form: Unicode or A-labels, any case).
    pub domain: String,
    pub emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mx: Option<Vec<MxSummary>>,
}

/// The prober's answer to a [`ProbeBatchRequest`]: one result per address, in the same order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeBatchResponse {
    pub results: Vec<ProbeBatchResult>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeBatchResult {
    pub email: String,
    pub evidence: MailboxEvidence,
}

/// What a [`Check`] works out from the domain alone, the same for every address at it: the lists
/// of domains and the typo suggestion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainFacts {
    disposable: bool,
    free_provider: bool,
    /// The domain to suggest instead (see [`suggest::suggest_domain`]); boxed, one word less
    /// than a `String`, for a memo that keeps many.
    suggestion: Option<Box<str>>,
}

impl DomainFacts {
    /// The facts of `domain` (A-labels, lowercase, as [`Address::ascii_domain`] gives it) by
    /// `lists`, given whether DNS says the domain receives no mail
    /// ([`suggest::receives_no_mail`]).
    pub fn work_out(lists: &Lists, domain: &str, no_mail: bool) -> DomainFacts {
        let free_provider = lists.is_free_provider(domain);
        DomainFacts {
            disposable: lists.is_disposable(domain),
            free_provider,
            // A free provider is never suggested away from (suggest.rs, rule 1).
            suggestion: (!free_provider)
                .then(|| suggest::suggest_other_domain(lists, domain, no_mail))
                .flatten()
                .map(String::into_boxed_str),
        }
    }

    /// The facts as one byte, when they have no suggestion (most domains): a memo that keeps
    /// tens of thousands of them keeps one byte each instead of this type, and so misses the
    /// cache less. [`DomainFacts::from_byte`] gives them back.
    pub fn as_byte(&self) -> Option<u8> {
        self.suggestion
            .is_none()
            .then_some(u8::from(self.disposable) | u8::from(self.free_provider) << 1)
    }

    /// The facts that [`DomainFacts::as_byte`] gave `byte` for (other bits are ignored).
    pub fn from_byte(byte: u8) -> DomainFacts {
        DomainFacts {
            disposable: byte & 1 != 0,
            free_provider: byte & 2 != 0,
            suggestion: None,
        }
    }
}

/// Where a [`Check`] gets the [`DomainFacts`] of a domain. A list of a million addresses has
/// far fewer domains, and working out a typo suggestion costs more than parsing the address, so
/// a caller that checks many keeps the facts by domain and `no_mail` (the core keeps nothing:
/// memory, and how much of it to spend, is the caller's). A memo serves one [`Lists`].
pub trait DomainMemo: Sync + fmt::Debug {
    /// The facts of `domain` for `no_mail`: kept ones, or else what `work_out` gives.
    fn facts(&self, domain: &str, no_mail: bool, work_out: &dyn Fn() -> DomainFacts)
    -> DomainFacts;
}

/// No memo: the facts are worked out for every address.
#[derive(Debug)]
struct NoMemo;

impl DomainMemo for NoMemo {
    fn facts(&self, _: &str, _: bool, work_out: &dyn Fn() -> DomainFacts) -> DomainFacts {
        work_out()
    }
}

/// An address on its way through the layers.
#[derive(Clone, Debug)]
pub struct Check<'a> {
    input: String,
    lists: &'a Lists,
    memo: &'a dyn DomainMemo,
    parsed: Result<Address, SyntaxError>,
    reasons: Vec<Reason>,
    suggestion: Option<Suggestion>,
    dns: Option<DnsCheck>,
    smtp: Option<SmtpCheck>,
}

impl<'a> Check<'a> {
    /// Runs the layers that need nothing but the text: syntax, the lists, a typo hint.
    pub fn new(input: &str, lists: &'a Lists) -> Self {
        Check::with_memo(input, lists, &NoMemo)
    }

    /// As [`Check::new`], taking the facts of the domain from `memo`, here and in
    /// [`Check::with_dns`].
    // Inlined into a caller that checks a list, so that the large `Check` is not copied.
    #[inline]
    pub fn with_memo(input: &str, lists: &'a Lists, memo: &'a dyn DomainMemo) -> Self {
        Check::with_memo_reusing(input, lists, memo, Spare::default())
    }

    /// As [`Check::with_memo`], in the memory of a report that is done with
    /// ([`Report::into_spare`]): a list checked one address after another then allocates
    /// nearly nothing per address. The report is the same as without.
    #[inline]
    pub fn with_memo_reusing(
        input: &str,
        lists: &'a Lists,
        memo: &'a dyn DomainMemo,
        spare: Spare,
    ) -> Self {
        let Spare {
            input: mut text,
            address,
            mut reasons,
        } = spare;
        text.clear();
        text.push_str(input);
        reasons.clear();
        let parsed = syntax::parse_reusing(input, address);
        Check::parsed(text, parsed, lists, memo, reasons)
    }

    /// As [`Check::new`], for an input that may not be text (a line of a file, a command-line
    /// argument): bytes that are not UTF-8 are the syntax error `invalid_utf8`, and the report's
    /// `input` shows them with U+FFFD for each invalid sequence.
    pub fn from_bytes(input: &[u8], lists: &'a Lists) -> Self {
        let shown = String::from_utf8_lossy(input).into_owned();
        Check::parsed(
            shown,
            syntax::parse_bytes(input),
            lists,
            &NoMemo,
            Vec::new(),
        )
    }

    fn parsed(
        input: String,
        parsed: Result<Address, SyntaxError>,
        lists: &'a Lists,
        memo: &'a dyn DomainMemo,
        mut reasons: Vec<Reason>,
    ) -> Self {
        let mut suggestion = None;
        match &parsed {
            Err(error) => reasons.push(Reason::with_message(
                ReasonCode::InvalidSyntax,
                error.message(),
            )),
            Ok(address) => {
                // An address literal has no domain for the lists or a suggestion.
                let facts = (address.address_literal().is_none())
                    .then(|| domain_facts(lists, memo, address, false));
                if facts.as_ref().is_some_and(|f| f.disposable) {
                    reasons.push(Reason::new(ReasonCode::Disposable));
                }
                if lists.is_role_account(address.local_part()) {
                    reasons.push(Reason::new(ReasonCode::RoleAccount));
                }
                if facts.as_ref().is_some_and(|f| f.free_provider) {
                    reasons.push(Reason::new(ReasonCode::FreeProvider));
                }
                suggestion = facts
                    .and_then(|f| f.suggestion)
                    .map(|fixed| Suggestion::new(address.local_part(), fixed.into(), false));
            }
        }
        Check {
            input,
            lists,
            memo,
            parsed,
            reasons,
            suggestion,
            dns: None,
            smtp: None,
        }
    }

    /// The parsed address, when the syntax is valid.
    pub fn address(&self) -> Option<&Address> {
        self.parsed.as_ref().ok()
    }

    /// The domain DNS should be asked about (A-labels), or `None` when there is nothing to ask:
    /// invalid syntax or an address literal.
    pub fn dns_name(&self) -> Option<&str> {
        self.address()
            .filter(|a| a.address_literal().is_none())
            .map(Address::ascii_domain)
    }

    /// Why DNS is not asked about this address, if it is not.
    fn dns_skip(&self) -> Option<Skipped> {
        match self.address() {
            None => Some(Skipped::NotNeeded),
            Some(a) if a.address_literal().is_some() => Some(Skipped::AddressLiteral),
            Some(_) => None,
        }
    }

    /// Adds what DNS said about the domain.
    pub fn with_dns(mut self, route: &MailRoute) -> Self {
        if self.dns_skip().is_some() {
            return self;
        }
        let kind = RouteKind::of(route);
        let (status, code) = kind.judged();
        if let Some(code) = code {
            self.reasons.push(Reason::new(code));
        }
        let mx = MxSummary::of_route(route);
        // DNS evidence decides whether a look-alike domain is only a hint or a reason.
        if let Some(address) = self.address() {
            let no_mail = suggest::receives_no_mail(Some(route));
            self.suggestion = domain_facts(self.lists, self.memo, address, no_mail)
                .suggestion
                .map(|fixed| Suggestion::new(address.local_part(), fixed.into(), no_mail));
        }
        self.dns = Some(DnsCheck {
            status,
            skipped: None,
            route: Some(kind),
            mx,
        });
        self
    }

    /// Records that the caller asked for syntax and the lists only: DNS and the mailbox are
    /// skipped as `syntax_only` where they would have run (an address literal has no DNS to
    /// ask, and invalid syntax leaves nothing to ask about).
    // Inlined into a caller that checks a list, so that the large `Check` is not copied.
    #[inline]
    pub fn syntax_only(mut self) -> Self {
        // In place: a `Check` is large, and this runs for every address of a list.
        if self.dns_name().is_some() {
            self.dns = Some(skipped_dns(Skipped::SyntaxOnly));
        }
        if self.address().is_some() {
            self.smtp = Some(skipped_smtp(Skipped::SyntaxOnly));
        }
        self
    }

    /// Records that the check was given up before DNS and the mailbox were asked (a list's
    /// row whose work was lost too often): `unknown`, with `check_not_completed`. Invalid
    /// syntax needs neither layer, so such a row keeps its verdict.
    pub fn not_completed(mut self) -> Self {
        if self.address().is_some() {
            if self.dns_name().is_some() {
                self.dns = Some(skipped_dns(Skipped::NotCompleted));
            }
            self.smtp = Some(skipped_smtp(Skipped::NotCompleted));
            self.reasons
                .push(Reason::new(ReasonCode::CheckNotCompleted));
        }
        self
    }

    /// Records that DNS was not asked, and why.
    pub fn skip_dns(mut self, why: Skipped) -> Self {
        self.dns = Some(skipped_dns(why));
        self
    }

    /// Whether the mailbox layer has anything to do: the syntax is valid and DNS (when it ran)
    /// found mail hosts.
    pub fn wants_mailbox(&self) -> bool {
        self.address().is_some() && self.dns.as_ref().is_none_or(|d| d.status == Status::Passed)
    }

    /// Adds what the mail server said about the mailbox.
    pub fn with_mailbox(mut self, evidence: MailboxEvidence) -> Self {
        let (status, codes): (Status, &[ReasonCode]) = match &evidence {
            MailboxEvidence::Answered {
                outcome, catch_all, ..
            } => match outcome {
                Outcome::Deliverable if *catch_all == Some(true) => {
                    (Status::Inconclusive, &[ReasonCode::CatchAll])
                }
                Outcome::Deliverable => (Status::Passed, &[]),
                Outcome::MailboxNotFound => (Status::Failed, &[ReasonCode::MailboxNotFound]),
                Outcome::MailboxDisabled => (Status::Failed, &[ReasonCode::MailboxDisabled]),
                Outcome::MailboxFull => (Status::Passed, &[ReasonCode::MailboxFull]),
                Outcome::Blocked => (Status::Inconclusive, &[ReasonCode::SmtpBlocked]),
                Outcome::UnknownPermanent => (Status::Inconclusive, &[ReasonCode::SmtpRejected]),
                Outcome::TooManyRecipients | Outcome::TemporaryFailure | Outcome::Unexpected => {
                    (Status::Inconclusive, &[ReasonCode::SmtpTemporaryFailure])
                }
            },
            MailboxEvidence::Timeout { .. } => (Status::Inconclusive, &[ReasonCode::SmtpTimeout]),
            MailboxEvidence::Unreachable => (Status::Inconclusive, &[ReasonCode::SmtpUnreachable]),
            // A private address is no mail server anyone on the Internet reaches; a server
            // without SMTPUTF8 cannot be asked about the mailbox. Neither says it is missing.
            MailboxEvidence::NotAsked {
                why: NotAsked::PrivateAddress,
                ..
            } => (Status::Inconclusive, &[ReasonCode::SmtpUnreachable]),
            MailboxEvidence::NotAsked {
                why: NotAsked::NeedsSmtputf8,
                ..
            } => (Status::Inconclusive, &[ReasonCode::SmtpRejected]),
            // What a mail server would have said: the prober is blocked.
            MailboxEvidence::NotAsked {
                why: NotAsked::ProberListed,
                ..
            } => (Status::Inconclusive, &[ReasonCode::SmtpBlocked]),
        };
        self.reasons.extend(codes.iter().map(|c| Reason::new(*c)));
        self.smtp = Some(SmtpCheck {
            status,
            skipped: None,
            evidence: Some(evidence),
        });
        self
    }

    /// Records that the mailbox was not probed, and why.
    pub fn skip_mailbox(mut self, why: Skipped) -> Self {
        self.smtp = Some(skipped_smtp(why));
        self
    }

    /// The report, weighed with `policy`. A layer neither run nor skipped by the caller is
    /// reported as skipped because an earlier layer decided.
    // Inlined into a caller that checks a list, so that `Check` and `Report` are not copied.
    #[inline]
    pub fn finish(mut self, policy: &Policy) -> Report {
        if let Some(s) = &self.suggestion
            && let Some(code) = s.reason()
        {
            self.reasons.push(Reason::with_message(
                code,
                format!("The domain looks like a typo of {}.", s.domain),
            ));
        }
        self.reasons.sort_by_key(|r| r.code);
        self.reasons.dedup_by_key(|r| r.code);
        let verdict = policy.verdict(&self.reasons);
        let dns_skip = self.dns_skip();
        let dns = self
            .dns
            .unwrap_or_else(|| skipped_dns(dns_skip.unwrap_or(Skipped::NotNeeded)));
        // DNS that could not be asked leaves no mail servers to probe; any other unprobed
        // mailbox was not needed (invalid syntax, or a domain that takes no mail).
        let why = if dns.status == Status::Inconclusive {
            Skipped::DnsUnavailable
        } else {
            Skipped::NotNeeded
        };
        let smtp = self.smtp.unwrap_or_else(|| skipped_smtp(why));
        let syntax = match &self.parsed {
            Ok(a) => SyntaxCheck {
                status: Status::Passed,
                warnings: a.warnings().to_vec(),
                error: None,
            },
            Err(e) => SyntaxCheck {
                status: Status::Failed,
                warnings: Vec::new(),
                error: Some(SyntaxErrorDetail {
                    code: e.code(),
                    position: e.position(),
                    message: e.message(),
                }),
            },
        };
        let checks = Checks { syntax, dns, smtp };
        Report {
            score: score(verdict, &checks, &self.reasons, policy),
            address: self.parsed.ok().map(Address::into_normalized),
            input: self.input,
            verdict,
            reasons: self.reasons,
            suggestion: self.suggestion.map(|s| s.address),
            checks,
        }
    }
}

fn domain_facts(
    lists: &Lists,
    memo: &dyn DomainMemo,
    address: &Address,
    no_mail: bool,
) -> DomainFacts {
    let domain = address.ascii_domain();
    memo.facts(domain, no_mail, &|| {
        DomainFacts::work_out(lists, domain, no_mail)
    })
}

fn skipped_dns(why: Skipped) -> DnsCheck {
    DnsCheck {
        status: Status::Skipped,
        skipped: Some(why),
        route: None,
        mx: Vec::new(),
    }
}

fn skipped_smtp(why: Skipped) -> SmtpCheck {
    SmtpCheck {
        status: Status::Skipped,
        skipped: Some(why),
        evidence: None,
    }
}

/// The score: how much evidence there is that mail to the address arrives.
///
/// - `invalid`: 0.
/// - `risky`: 40, less 10 for each further risky reason (at least 10); 10 more when the mail
///   server confirmed the mailbox (a role account that exists).
/// - `unknown`: 50 (a layer could not conclude; nothing was found against the address).
/// - `valid`: 70 on syntax alone, 85 when DNS found a mail server, 100 when the mail server
///   accepted the mailbox.
pub fn score(verdict: Verdict, checks: &Checks, reasons: &[Reason], policy: &Policy) -> u8 {
    let mailbox_confirmed = checks.smtp.status == Status::Passed;
    match verdict {
        Verdict::Invalid => 0,
        Verdict::Unknown => 50,
        Verdict::Risky => {
            let risky = reasons
                .iter()
                .filter(|r| policy.severity(r.code).verdict() == Some(Verdict::Risky))
                .count() as u8;
            let base = 40u8.saturating_sub(10 * risky.saturating_sub(1)).max(10);
            if mailbox_confirmed { base + 10 } else { base }
        }
        Verdict::Valid if mailbox_confirmed => 100,
        Verdict::Valid if checks.dns.status == Status::Passed => 85,
        Verdict::Valid => 70,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::route::MxHost;
    use crate::verdict::Severity;

    fn codes(report: &Report) -> Vec<&'static str> {
        report.reasons.iter().map(|r| r.code.as_str()).collect()
    }

    #[test]
    fn domain_facts_without_a_suggestion_come_back_from_their_byte() {
        let lists = Lists::new();
        let mut seen = std::collections::HashSet::new();
        for domain in [
            "gmail.com",
            "mailinator.com",
            "example.com",
            "gmial.com",
            "gmx.dee",
        ] {
            for no_mail in [false, true] {
                let facts = DomainFacts::work_out(&lists, domain, no_mail);
                match facts.as_byte() {
                    Some(byte) => {
                        assert_eq!(DomainFacts::from_byte(byte), facts, "{domain}");
                        seen.insert(byte);
                    }
                    None => assert!(facts.suggestion.is_some(), "{domain}"),
                }
            }
        }
        // Free, disposable, neither: three different bytes.
        assert_eq!(seen.len(), 3, "{seen:?}");
    }

    /// A check in the memory of any earlier report gives the very report a fresh check gives:
    /// nothing of the earlier input, address, reasons or suggestion is left over.
    #[test]
    fn a_check_in_a_spare_report_is_the_same_report() {
        let lists = Lists::new();
        let policy = Policy::default();
        let inputs = [
            "info@gmial.com",
            "Jörg.Smith@Bücher.de",
            "not an address",
            "a@b",
            "x@mailinator.com",
            "",
            "user@[192.0.2.1]",
            "postmaster@例え.テスト",
            "\"quoted local\"@example.com",
            "bob@example.com",
        ];
        for earlier in inputs {
            for input in inputs {
                let spare = Check::new(earlier, &lists)
                    .syntax_only()
                    .finish(&policy)
                    .into_spare();
                let reused = Check::with_memo_reusing(input, &lists, &NoMemo, spare)
                    .syntax_only()
                    .finish(&policy);
                let fresh = Check::new(input, &lists).syntax_only().finish(&policy);
                assert_eq!(reused, fresh, "{input:?} after {earlier:?}");
            }
        }
    }

    fn hosts() -> MailRoute {
        MailRoute::Hosts(vec![MxHost {
            preference: 10,
            host: "mx.example.com".into(),
            implicit: false,
        }])
    }

    fn answered(outcome: Outcome, catch_all: Option<bool>) -> MailboxEvidence {
        MailboxEvidence::Answered {
            host: "mx.example.com".into(),
            code: 250,
            enhanced: None,
            message: String::new(),
            outcome,
            tls: true,
            catch_all,
        }
    }

    #[test]
    fn invalid_syntax_is_invalid_with_position_and_skips_the_rest() {
        let lists = Lists::new();
        let r = Check::new("jane.example.com", &lists).finish(&Policy::default());
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.address, None);
        assert_eq!(codes(&r), ["invalid_syntax"]);
        assert_eq!(r.score, 0);
        let error = r.checks.syntax.error.as_ref().unwrap();
        assert_eq!(error.code, "missing_at");
        assert_eq!(r.checks.dns.skipped, Some(Skipped::NotNeeded));
        assert_eq!(r.checks.smtp.status, Status::Skipped);
    }

    #[test]
    fn layers_raise_the_score_of_a_valid_address() {
        let lists = Lists::new();
        let syntax_only = Check::new("jane@example.com", &lists)
            .skip_dns(Skipped::SyntaxOnly)
            .skip_mailbox(Skipped::SyntaxOnly)
            .finish(&Policy::default());
        assert_eq!(
            (syntax_only.verdict, syntax_only.score),
            (Verdict::Valid, 70)
        );
        let dns = Check::new("jane@example.com", &lists)
            .with_dns(&hosts())
            .skip_mailbox(Skipped::NoProber)
            .finish(&Policy::default());
        assert_eq!((dns.verdict, dns.score), (Verdict::Valid, 85));
        assert_eq!(dns.checks.dns.route, Some(RouteKind::Mx));
        let probed = Check::new("jane@example.com", &lists)
            .with_dns(&hosts())
            .with_mailbox(answered(Outcome::Deliverable, Some(false)))
            .finish(&Policy::default());
        assert_eq!((probed.verdict, probed.score), (Verdict::Valid, 100));
    }

    #[test]
    fn dns_decides_domains_that_take_no_mail() {
        let lists = Lists::new();
        for (route, code, verdict) in [
            (MailRoute::NullMx, "null_mx", Verdict::Invalid),
            (MailRoute::NoMailServer, "no_mail_server", Verdict::Invalid),
            (
                MailRoute::DomainNotFound,
                "domain_not_found",
                Verdict::Invalid,
            ),
            (
                MailRoute::DnsFailure(crate::dns::route::DnsFailure::NoAnswer),
                "dns_failure",
                Verdict::Unknown,
            ),
        ] {
            let check = Check::new("jane@example.com", &lists).with_dns(&route);
            assert!(!check.wants_mailbox());
            let r = check.finish(&Policy::default());
            assert_eq!((codes(&r), r.verdict), (vec![code], verdict));
            let why = if verdict == Verdict::Unknown {
                Skipped::DnsUnavailable
            } else {
                Skipped::NotNeeded
            };
            assert_eq!(r.checks.smtp.skipped, Some(why), "{code}");
        }
    }

    #[test]
    fn a_typo_becomes_a_reason_only_when_dns_backs_it() {
        let lists = Lists::new();
        let hint = Check::new("jane@gamil.com", &lists)
            .with_dns(&hosts())
            .finish(&Policy::default());
        assert_eq!(hint.suggestion.as_deref(), Some("jane@gmail.com"));
        assert_eq!(hint.verdict, Verdict::Valid);
        let typo = Check::new("jane@gamil.com", &lists)
            .with_dns(&MailRoute::DomainNotFound)
            .finish(&Policy::default());
        assert_eq!(typo.suggestion.as_deref(), Some("jane@gmail.com"));
        assert_eq!(codes(&typo), ["domain_not_found", "possible_typo"]);
    }

    #[test]
    fn a_memo_is_asked_for_the_facts_of_the_domain_and_changes_nothing() {
        #[derive(Debug, Default)]
        struct Asked(std::sync::Mutex<Vec<(String, bool)>>);
        impl DomainMemo for Asked {
            fn facts(
                &self,
                domain: &str,
                no_mail: bool,
                work_out: &dyn Fn() -> DomainFacts,
            ) -> DomainFacts {
                self.0.lock().unwrap().push((domain.to_owned(), no_mail));
                work_out()
            }
        }
        let lists = Lists::new();
        let memo = Asked::default();
        for (input, route) in [
            ("jane@gamil.com", MailRoute::DomainNotFound),
            ("info@mailinator.com", hosts()),
            ("jane@[192.0.2.1]", hosts()),
        ] {
            let plain = Check::new(input, &lists).with_dns(&route);
            let memoised = Check::with_memo(input, &lists, &memo).with_dns(&route);
            assert_eq!(
                memoised.finish(&Policy::default()),
                plain.finish(&Policy::default())
            );
        }
        let asked = memo.0.lock().unwrap().clone();
        let asked: Vec<(&str, bool)> = asked.iter().map(|(d, n)| (d.as_str(), *n)).collect();
        assert_eq!(
            asked,
            [
                ("gamil.com", false),
                ("gamil.com", true),
                ("mailinator.com", false),
                ("mailinator.com", false)
            ]
        );
    }

    #[test]
    fn mailbox_answers_map_to_reasons() {
        let lists = Lists::new();
        let run = |e: MailboxEvidence| {
            Check::new("jane@example.com", &lists)
                .with_dns(&hosts())
                .with_mailbox(e)
                .finish(&Policy::default())
        };
        let cases = [
            (
                answered(Outcome::MailboxNotFound, None),
                "mailbox_not_found",
                Verdict::Invalid,
            ),
            (
                answered(Outcome::MailboxDisabled, None),
                "mailbox_disabled",
                Verdict::Invalid,
            ),
            (
                answered(Outcome::MailboxFull, None),
                "mailbox_full",
                Verdict::Risky,
            ),
            (
                answered(Outcome::Deliverable, Some(true)),
                "catch_all",
                Verdict::Risky,
            ),
            (
                answered(Outcome::Blocked, None),
                "smtp_blocked",
                Verdict::Unknown,
            ),
            (
                answered(Outcome::TemporaryFailure, None),
                "smtp_temporary_failure",
                Verdict::Unknown,
            ),
            (
                answered(Outcome::UnknownPermanent, None),
                "smtp_rejected",
                Verdict::Unknown,
            ),
            (
                MailboxEvidence::Timeout { host: None },
                "smtp_timeout",
                Verdict::Unknown,
            ),
            (
                MailboxEvidence::Unreachable,
                "smtp_unreachable",
                Verdict::Unknown,
            ),
            (
                MailboxEvidence::NotAsked {
                    host: Some("mx.example.com".into()),
                    why: NotAsked::PrivateAddress,
                },
                "smtp_unreachable",
                Verdict::Unknown,
            ),
            (
                MailboxEvidence::NotAsked {
                    host: None,
                    why: NotAsked::NeedsSmtputf8,
                },
                "smtp_rejected",
                Verdict::Unknown,
            ),
        ];
        for (evidence, code, verdict) in cases {
            let r = run(evidence);
            assert_eq!((codes(&r), r.verdict), (vec![code], verdict), "{code}");
        }
    }

    #[test]
    fn risk_lists_and_policy() {
        let lists = Lists::new();
        let r = Check::new("info@mailinator.com", &lists).finish(&Policy::default());
        assert_eq!(codes(&r), ["disposable", "role_account"]);
        assert_eq!((r.verdict, r.score), (Verdict::Risky, 30));
        let free = Check::new("jane@gmail.com", &lists).finish(&Policy::default());
        assert_eq!(
            (codes(&free), free.verdict),
            (vec!["free_provider"], Verdict::Valid)
        );
        let b2b = Policy::default().with(ReasonCode::FreeProvider, Severity::Risky);
        let r = Check::new("jane@gmail.com", &lists).finish(&b2b);
        assert_eq!(r.verdict, Verdict::Risky);
    }

    #[test]
    fn json_shape_is_the_public_contract() {
        let lists = Lists::new();
        let r = Check::new("Jane@Example.COM", &lists)
            .with_dns(&hosts())
            .with_mailbox(answered(Outcome::Deliverable, Some(false)))
            .finish(&Policy::default());
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["input"], "Jane@Example.COM");
        assert_eq!(v["address"], "Jane@example.com");
        assert_eq!(v["verdict"], "valid");
        assert_eq!(v["reasons"], serde_json::json!([]));
        assert_eq!(v["suggestion"], serde_json::Value::Null);
        assert_eq!(v["score"], 100);
        assert_eq!(v["checks"]["syntax"]["status"], "passed");
        assert_eq!(v["checks"]["dns"]["mx"][0]["host"], "mx.example.com");
        assert_eq!(v["checks"]["smtp"]["result"], "answered");
        assert_eq!(v["checks"]["smtp"]["outcome"], "deliverable");
        assert_eq!(v["checks"]["smtp"]["tls"], true);
    }

    #[test]
    fn codes_are_the_json_names() {
        use Skipped as K;
        use Status as S;
        for status in [S::Passed, S::Failed, S::Inconclusive, S::Skipped] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        for skipped in [
            K::SyntaxOnly,
            K::Disabled,
            K::NoProber,
            K::NotNeeded,
            K::AddressLiteral,
            K::DnsUnavailable,
        ] {
            assert_eq!(serde_json::to_value(skipped).unwrap(), skipped.as_str());
        }
    }

    #[test]
    fn probe_messages_read_the_documented_json() {
        let request: ProbeRequest = serde_json::from_str(
            r#"{"email":"jane@example.com","mx":[{"preference":10,"host":"mx.example.com"}]}"#,
        )
        .unwrap();
        assert_eq!(request.mx.unwrap()[0].host, "mx.example.com");
        let bare: ProbeRequest = serde_json::from_str(r#"{"email":"jane@example.com"}"#).unwrap();
        assert_eq!(bare.mx, None);
        let response: ProbeResponse = serde_json::from_str(
            r#"{"evidence":{"result":"answered","host":"mx","code":550,"enhanced":"5.1.1","message":"no such user","outcome":"mailbox_not_found","tls":false}}"#,
        )
        .unwrap();
        assert!(matches!(
            response.evidence,
            MailboxEvidence::Answered {
                code: 550,
                outcome: Outcome::MailboxNotFound,
                catch_all: None,
                ..
            }
        ));
    }

    #[test]
    fn not_asked_reads_as_documented() {
        let e: MailboxEvidence =
            serde_json::from_str(r#"{"result":"not_asked","host":"mx","why":"needs_smtputf8"}"#)
                .unwrap();
        assert_eq!(
            e,
            MailboxEvidence::NotAsked {
                host: Some("mx".into()),
                why: NotAsked::NeedsSmtputf8
            }
        );
        let lists = Lists::new();
        let r = Check::new("jane@example.com", &lists)
            .with_dns(&hosts())
            .with_mailbox(MailboxEvidence::NotAsked {
                host: None,
                why: NotAsked::PrivateAddress,
            })
            .finish(&Policy::default());
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["checks"]["smtp"]["status"], "inconclusive");
        assert_eq!(v["checks"]["smtp"]["result"], "not_asked");
        assert_eq!(v["checks"]["smtp"]["why"], "private_address");
    }

    #[test]
    fn evidence_round_trips_as_json() {
        for e in [
            answered(Outcome::MailboxFull, Some(false)),
            MailboxEvidence::Timeout {
                host: Some("mx".into()),
            },
            MailboxEvidence::Unreachable,
            MailboxEvidence::NotAsked {
                host: Some("mx".into()),
                why: NotAsked::PrivateAddress,
            },
        ] {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<MailboxEvidence>(&json).unwrap(), e);
        }
    }
}
