use core::fmt;

/// Why a query could not be built or a response could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsError {
    kind: DnsErrorKind,
}

/// The kinds of [`DnsError`], for callers that branch on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DnsErrorKind {
    /// The name to query is empty.
    EmptyName,
    /// Two dots in a row, or a leading dot (RFC 1035 §2.3.4: only the root label is empty).
    EmptyLabel,
    /// A label longer than 63 octets (RFC 1035 §2.3.4).
    LabelTooLong,
    /// A name longer than 255 octets on the wire (RFC 1035 §2.3.4).
    NameTooLong,
    /// A character other than a letter, digit, `-` or `_` in a name to query.
    InvalidCharacter,
    /// The message ends in the middle of a field.
    UnexpectedEnd,
    /// The QR bit is clear: this is a query, not a response (RFC 1035 §4.1.1).
    NotAResponse,
    /// The QR bit is set: this is a response, not a query (RFC 1035 §4.1.1).
    NotAQuery,
    /// The response is for an operation other than a standard query (RFC 1035 §4.1.1).
    UnexpectedOpcode,
    /// A compression pointer that does not point strictly backwards, or too many of them
    /// (RFC 1035 §4.1.4).
    BadPointer,
    /// A label type other than a plain label or a pointer (RFC 6891 §5 retired the others).
    BadLabelType,
    /// Record data whose length does not fit its type.
    BadRdata,
    /// More than one OPT record (RFC 6891 §6.1.1).
    DuplicateOpt,
    /// A message to write would be longer than 65535 octets, or hold more records than its
    /// header can count (RFC 1035 §4.1.1, §4.2.2).
    MessageTooLong,
}

impl DnsError {
    pub(crate) fn new(kind: DnsErrorKind) -> Self {
        DnsError { kind }
    }

    pub fn kind(&self) -> DnsErrorKind {
        self.kind
    }

    /// A stable snake_case code for logs and JSON.
    pub fn code(&self) -> &'static str {
        match self.kind {
            DnsErrorKind::EmptyName => "empty_name",
            DnsErrorKind::EmptyLabel => "empty_label",
            DnsErrorKind::LabelTooLong => "label_too_long",
            DnsErrorKind::NameTooLong => "name_too_long",
            DnsErrorKind::InvalidCharacter => "invalid_character",
            DnsErrorKind::UnexpectedEnd => "unexpected_end",
            DnsErrorKind::NotAResponse => "not_a_response",
            DnsErrorKind::NotAQuery => "not_a_query",
            DnsErrorKind::UnexpectedOpcode => "unexpected_opcode",
            DnsErrorKind::BadPointer => "bad_pointer",
            DnsErrorKind::BadLabelType => "bad_label_type",
            DnsErrorKind::BadRdata => "bad_rdata",
            DnsErrorKind::DuplicateOpt => "duplicate_opt",
            DnsErrorKind::MessageTooLong => "message_too_long",
        }
    }
}

impl From<DnsErrorKind> for DnsError {
    fn from(kind: DnsErrorKind) -> Self {
        DnsError::new(kind)
    }
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            DnsErrorKind::EmptyName => "The domain name is empty.",
            DnsErrorKind::EmptyLabel => "The domain name has an empty part between two dots.",
            DnsErrorKind::LabelTooLong => {
                "A part of the domain name between dots is longer than 63 characters."
            }
            DnsErrorKind::NameTooLong => "The domain name is longer than 255 octets.",
            DnsErrorKind::InvalidCharacter => {
                "The domain name has a character other than a letter, digit, hyphen or underscore."
            }
            DnsErrorKind::UnexpectedEnd => "The DNS response ends in the middle of a field.",
            DnsErrorKind::NotAResponse => "The DNS message is a query, not a response.",
            DnsErrorKind::NotAQuery => "The DNS message is a response, not a query.",
            DnsErrorKind::UnexpectedOpcode => {
                "The DNS response is not an answer to a standard query."
            }
            DnsErrorKind::BadPointer => "The DNS response has a name compression loop.",
            DnsErrorKind::BadLabelType => "The DNS response has a name in an unknown format.",
            DnsErrorKind::BadRdata => {
                "The DNS response has a record whose data does not fit its type."
            }
            DnsErrorKind::DuplicateOpt => "The DNS response has more than one OPT record.",
            DnsErrorKind::MessageTooLong => "The DNS message is longer than 65535 octets.",
        })
    }
}

impl core::error::Error for DnsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_and_sentences_end_with_a_period() {
        let kinds = [
            DnsErrorKind::EmptyName,
            DnsErrorKind::EmptyLabel,
            DnsErrorKind::LabelTooLong,
            DnsErrorKind::NameTooLong,
            DnsErrorKind::InvalidCharacter,
            DnsErrorKind::UnexpectedEnd,
            DnsErrorKind::NotAResponse,
            DnsErrorKind::NotAQuery,
            DnsErrorKind::UnexpectedOpcode,
            DnsErrorKind::BadPointer,
            DnsErrorKind::BadLabelType,
            DnsErrorKind::BadRdata,
            DnsErrorKind::DuplicateOpt,
            DnsErrorKind::MessageTooLong,
        ];
        let mut codes: Vec<&str> = kinds.iter().map(|&k| DnsError::new(k).code()).collect();
        for (kind, code) in kinds.iter().zip(&codes) {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
            let sentence = DnsError::new(*kind).to_string();
            assert!(sentence.ends_with('.'), "{sentence}");
            assert!(
                sentence.starts_with(|c: char| c.is_ascii_uppercase()),
                "{sentence}"
            );
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), kinds.len());
    }
}
