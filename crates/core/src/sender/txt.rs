//! Choosing a record among the TXT records at a name, the same way for DMARC (RFC 7489
//! §6.6.3), MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3): records that do not start with
//! the version tag are discarded, and anything but exactly one remaining record means none.

/// The records of one kind among a name's TXT records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection<'a> {
    /// No record of the kind.
    None,
    /// Exactly one: the one to parse.
    One(&'a [u8]),
    /// More than one: the receiver or sender uses none of them.
    Multiple(usize),
}

/// The records among `texts` (each TXT record's strings joined) for which `is_kind` holds.
pub fn select<'a>(
    texts: impl IntoIterator<Item = &'a [u8]>,
    is_kind: impl Fn(&[u8]) -> bool,
) -> Selection<'a> {
    let mut found = texts.into_iter().filter(|t| is_kind(t));
    match (found.next(), found.count()) {
        (None, _) => Selection::None,
        (Some(one), 0) => Selection::One(one),
        (Some(_), more) => Selection::Multiple(more + 1),
    }
}

/// Whether `text` starts with `version` (compared exactly), then `;`, white space or the end.
pub(crate) fn starts_with_version(text: &[u8], version: &str) -> bool {
    text.strip_prefix(version.as_bytes())
        .is_some_and(|rest| matches!(rest.first(), None | Some(b';' | b' ' | b'\t')))
}
