//! An address as it goes into `RCPT TO`.

use crate::syntax::Address;

/// A mailbox to ask a mail server about: the path for `RCPT TO`, whether naming it needs
/// SMTPUTF8, and its domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    rcpt: String,
    smtputf8: bool,
    /// In A-labels (or the address literal): sessions and catch-all answers are kept per domain.
    domain: String,
}

impl Mailbox {
    /// The domain always goes in A-labels, which every server takes; only a non-ASCII local
    /// part needs SMTPUTF8 (RFC 6531 §3.2).
    pub fn new(address: &Address) -> Mailbox {
        let domain = address.ascii_domain().to_ascii_lowercase();
        match address.ascii() {
            Some(ascii) => Mailbox {
                rcpt: ascii.into_owned(),
                smtputf8: false,
                domain,
            },
            None => Mailbox {
                rcpt: format!("{}@{domain}", address.local_part()),
                smtputf8: true,
                domain,
            },
        }
    }

    /// The path of `RCPT TO`, without the angle brackets.
    pub fn rcpt(&self) -> &str {
        &self.rcpt
    }

    /// Whether the transaction must be opened with SMTPUTF8 to name this mailbox.
    pub fn smtputf8(&self) -> bool {
        self.smtputf8
    }

    /// The domain, in A-labels.
    pub fn domain(&self) -> &str {
        &self.domain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(text: &str) -> Mailbox {
        Mailbox::new(&crate::syntax::parse_in_tests(text).unwrap())
    }

    #[test]
    fn a_labels_always_and_smtputf8_only_for_utf8_local_parts() {
        assert_eq!(
            mailbox("Info@Bücher.test"),
            Mailbox {
                rcpt: "Info@xn--bcher-kva.test".into(),
                smtputf8: false,
                domain: "xn--bcher-kva.test".into()
            }
        );
        assert_eq!(
            mailbox("jörg@bücher.test"),
            Mailbox {
                rcpt: "jörg@xn--bcher-kva.test".into(),
                smtputf8: true,
                domain: "xn--bcher-kva.test".into()
            }
        );
        assert_eq!(mailbox("a@[127.0.0.1]").domain(), "[127.0.0.1]");
    }
}
