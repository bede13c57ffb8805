//! Sender health: what a sending domain publishes for receivers to trust its mail. Each check
//! is sans-io, like the rest of the core: it says which DNS queries it needs and decides from
//! the answers. Every problem is a [`Finding`] with a stable code, a sentence, and a fix (with
//! the record to publish when one can be computed).
//!
//! - `spf`: SPF records and `check_host()` (RFC 7208).
//! - `domain`: every DNS check of a domain in one report; `report`: its parts and the grade.
//! - `psl`: the Public Suffix List and the organisational domain (RFC 7489 §3.2).
//! - `dmarc`: DMARC records, their discovery and external report authorisation (RFC 7489).
//! - `dkim`: DKIM key records and the size of their keys (RFC 6376, RFC 8301, RFC 8463).
//! - `mta_sts`: MTA-STS records, policies and MX patterns (RFC 8461).
//! - `tls_rpt`: TLS reporting records (RFC 8460).
//! - `bimi`: BIMI assertion records (parsed only).
//! - `dnsbl`: DNS blocklist query names and answers (RFC 5782).
//! - `txt`: choosing one record of a kind among a name's TXT records.

pub mod bimi;
pub mod dkim;
pub mod dmarc;
pub mod dnsbl;
pub mod domain;
pub mod mta_sts;
pub mod psl;
pub mod report;
pub mod spf;
mod tags;
pub mod tls_rpt;
pub mod txt;

use std::fmt;

use serde::Serialize;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Mail is likely rejected or spoofable because of it.
    Error,
    /// Mail works, but less reliably or less safely than it could.
    Warning,
    /// Worth knowing; nothing to fix urgently.
    Info,
}

macro_rules! finding_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $severity:ident; )*) => {
        /// A stable finding code. The JSON form never changes once released.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum FindingCode {
            $( $(#[$doc])* $variant, )*
        }

        impl FindingCode {
            /// Every code, in documentation order.
            pub const ALL: &'static [FindingCode] = &[$(FindingCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(FindingCode::$variant => $code,)* }
            }

            /// How much the finding matters unless its check says otherwise.
            pub fn severity(self) -> Severity {
                match self { $(FindingCode::$variant => Severity::$severity,)* }
            }
        }
    };
}

finding_codes! {
    /// No `v=spf1` TXT record (RFC 7208 §4.5: the result is `none`).
    SpfMissing = "spf_missing", Error;
    /// More than one `v=spf1` record (§4.5: `permerror`).
    SpfMultipleRecords = "spf_multiple_records", Error;
    /// A term that does not parse (§4.6: `permerror`).
    SpfSyntaxError = "spf_syntax_error", Error;
    /// More than 10 terms that ask DNS (§4.6.4: `permerror`).
    SpfTooManyLookups = "spf_too_many_lookups", Error;
    /// More than 2 lookups that find nothing (§4.6.4: `permerror`).
    SpfTooManyVoidLookups = "spf_too_many_void_lookups", Error;
    /// `+all` or `?all`: anyone may send as the domain.
    SpfPermissiveAll = "spf_permissive_all", Error;
    /// `ptr` (§5.5: SHOULD NOT be used; slow, and ignored by some receivers).
    SpfPtrMechanism = "spf_ptr_mechanism", Warning;
    /// A record longer than fits a 512-octet UDP answer (§3.4).
    SpfRecordTooLong = "spf_record_too_long", Warning;
    /// No DMARC record at the domain or its organisational domain (RFC 7489 §6.6.3).
    DmarcMissing = "dmarc_missing", Error;
    DmarcMultipleRecords = "dmarc_multiple_records", Error;
    DmarcSyntaxError = "dmarc_syntax_error", Error;
    /// `p=none`: receivers are asked to do nothing with failing mail.
    DmarcPolicyNone = "dmarc_policy_none", Warning;
    /// `pct` under 100: the policy applies to part of the failing mail only.
    DmarcPartialPct = "dmarc_partial_pct", Warning;
    /// A report address at another domain that has not agreed to take reports (§7.1).
    DmarcExternalReportUnauthorized = "dmarc_external_report_unauthorized", Warning;
    DkimNotFound = "dkim_not_found", Warning;
    /// An RSA key under 2048 bits (under 1024: an error, RFC 8301 §3.2).
    DkimKeyTooShort = "dkim_key_too_short", Warning;
    /// `p=` empty: the key is revoked (RFC 6376 §3.6.1).
    DkimRevoked = "dkim_revoked", Info;
    /// `t=y`: the domain is testing DKIM, receivers may ignore it.
    DkimTesting = "dkim_testing", Warning;
    DkimSyntaxError = "dkim_syntax_error", Error;
    /// No MX and no address: the domain receives no mail (bounces go nowhere).
    MxMissing = "mx_missing", Error;
    /// An MX host without an address.
    MxHostNoAddress = "mx_host_no_address", Error;
    /// An MX host that does not offer STARTTLS (native checks only).
    MxNoStarttls = "mx_no_starttls", Warning;
    MtaStsInvalid = "mta_sts_invalid", Error;
    /// An MX host that the MTA-STS policy's patterns do not cover (RFC 8461 §4.1).
    MtaStsMxMismatch = "mta_sts_mx_mismatch", Error;
    /// No TLS-RPT record (RFC 8460): TLS failures go unreported.
    TlsRptMissing = "tls_rpt_missing", Info;
    /// On a blocklist (RFC 5782).
    DnsblListed = "dnsbl_listed", Error;
    /// A blocklist refused to answer (queries through a public resolver).
    DnsblRefused = "dnsbl_refused", Warning;
}

impl fmt::Display for FindingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record to publish, as a fix gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Publish {
    /// The owner name (`_dmarc.example.com`).
    pub name: String,
    /// The record type (`TXT`).
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// One problem found, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    /// What is wrong, in a sentence.
    pub message: String,
    /// What to do, in a sentence.
    pub fix: String,
    /// The record to publish, where it can be computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<Publish>,
}

impl Finding {
    /// A finding of `code` at its usual severity.
    pub fn new(code: FindingCode, message: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: code.severity(),
            message: message.into(),
            fix: fix.into(),
            record: None,
        }
    }

    pub fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }

    /// The fix's record: `value` of type `kind` at `name`.
    pub fn publish(mut self, name: &str, kind: &str, value: impl Into<String>) -> Finding {
        self.record = Some(Publish {
            name: name.to_owned(),
            kind: kind.to_owned(),
            value: value.into(),
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_serialise_as_themselves() {
        let mut seen = std::collections::HashSet::new();
        for code in FindingCode::ALL {
            assert!(seen.insert(code.as_str()), "{code}");
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::from(code.as_str())
            );
        }
        assert_eq!(FindingCode::ALL.len(), 27);
    }
}
