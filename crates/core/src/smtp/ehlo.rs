//! What a server offers in its EHLO reply (RFC 5321 §4.1.1.1).

use super::Reply;

/// The extensions mailvet cares about. Everything is off unless the EHLO reply was a 250.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// RFC 3207.
    pub starttls: bool,
    /// RFC 6531: `MAIL FROM` may carry `SMTPUTF8` and addresses may be UTF-8.
    pub smtputf8: bool,
    /// RFC 2920.
    pub pipelining: bool,
    /// RFC 1870: the declared maximum message size; `Some(0)` when SIZE is offered without a
    /// fixed maximum (RFC 1870 §4 gives 0 and an absent number that meaning).
    pub size: Option<u64>,
    /// RFC 6152.
    pub eight_bit_mime: bool,
    /// RFC 2034.
    pub enhanced_status_codes: bool,
}

impl Capabilities {
    /// Reads the extensions from an EHLO reply. The first line greets; each later line is a
    /// keyword and its parameters, and keywords are case-insensitive (RFC 5321 §2.4).
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities::default();
        if reply.code != 250 {
            return caps;
        }
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split(' ').filter(|w| !w.is_empty());
            let Some(keyword) = words.next() else {
                continue;
            };
            let is = |name: &str| keyword.eq_ignore_ascii_case(name);
            if is("STARTTLS") {
                caps.starttls = true;
            } else if is("SMTPUTF8") {
                caps.smtputf8 = true;
            } else if is("PIPELINING") {
                caps.pipelining = true;
            } else if is("8BITMIME") {
                caps.eight_bit_mime = true;
            } else if is("ENHANCEDSTATUSCODES") {
                caps.enhanced_status_codes = true;
            } else if is("SIZE") {
                caps.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0));
            }
        }
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(input: &str) -> Capabilities {
        let (reply, _) = Reply::parse(input.as_bytes()).unwrap().unwrap();
        Capabilities::from_ehlo(&reply)
    }

    #[test]
    fn reads_an_exim_style_ehlo_reply() {
        let c = caps(
            "250-mx.example.com Hello client.example [127.0.0.1]\r\n\
             250-SIZE 52428800\r\n\
             250-8BITMIME\r\n\
             250-PIPELINING\r\n\
             250-SMTPUTF8\r\n\
             250-STARTTLS\r\n\
             250 HELP\r\n",
        );
        assert_eq!(
            c,
            Capabilities {
                starttls: true,
                smtputf8: true,
                pipelining: true,
                size: Some(52_428_800),
                eight_bit_mime: true,
                enhanced_status_codes: false,
            }
        );
    }

    #[test]
    fn keywords_are_case_insensitive_and_size_may_lack_a_number() {
        let c =
            caps("250-mx.example.com\r\n250-size\r\n250-EnhancedStatusCodes\r\n250 starttls\r\n");
        assert_eq!(c.size, Some(0));
        assert!(c.enhanced_status_codes && c.starttls);
        assert!(!c.smtputf8 && !c.pipelining && !c.eight_bit_mime);
    }

    #[test]
    fn greeting_line_is_not_a_keyword() {
        // A server whose name happens to be an extension keyword offers nothing by that.
        let c = caps("250 STARTTLS\r\n");
        assert_eq!(c, Capabilities::default());
    }

    #[test]
    fn only_a_250_offers_anything() {
        assert_eq!(
            caps("502-mx.example.com\r\n502 STARTTLS\r\n"),
            Capabilities::default()
        );
        assert_eq!(caps("250-mx\r\n250 SIZE lots\r\n").size, Some(0));
    }
}
