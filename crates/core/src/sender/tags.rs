//! The tag=value lists that DKIM key records (RFC 6376 §3.2), DMARC (RFC 7489 §6.3: "the
//! extensible tag-value syntax for DNS-based key records defined in DKIM"), BIMI, MTA-STS
//! (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3) records share: `name=value` specs separated by
//! `;`, white space around each part, a trailing `;` allowed.

/// White space around tags and values: WSP, and the line breaks of RFC 6376's FWS, which some
/// publishers leave in TXT records.
pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// One `name=value` spec, both trimmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tag<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: &'a str,
}

/// Splits a tag list. The error is a sentence's end, after the record's name ("the record …").
/// `fold_case` compares names without ASCII case (DMARC's ABNF literals) for duplicates;
/// without it, names are case-sensitive (RFC 6376 §3.2).
pub(crate) fn split(text: &str, fold_case: bool) -> Result<Vec<Tag<'_>>, String> {
    let mut tags: Vec<Tag<'_>> = Vec::new();
    let specs: Vec<&str> = text.split(';').collect();
    for (i, spec) in specs.iter().enumerate() {
        let spec = spec.trim_matches(is_space);
        if spec.is_empty() {
            // RFC 6376 §3.2: tag-list = tag-spec *( ";" tag-spec ) [ ";" ]; only the last may
            // be empty.
            if i + 1 == specs.len() && i > 0 {
                break;
            }
            return Err("has an empty tag (two `;` in a row, or a leading `;`)".to_owned());
        }
        let Some((name, value)) = spec.split_once('=') else {
            return Err(format!("has \"{spec}\", which is not a name=value tag"));
        };
        let (name, value) = (name.trim_matches(is_space), value.trim_matches(is_space));
        // tag-name = ALPHA *ALNUMPUNC; ALNUMPUNC = ALPHA / DIGIT / "_".
        let name_ok = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name_ok {
            return Err(format!(
                "has a tag named \"{name}\", which is not a tag name"
            ));
        }
        // tval = 1*VALCHAR, VALCHAR = %x21-3A / %x3C-7E, with white space inside.
        if let Some(c) = value
            .chars()
            .find(|&c| !(c.is_ascii_graphic() || is_space(c)))
        {
            return Err(format!(
                "has the character {c:?} in the value of {name}=, which only takes visible ASCII"
            ));
        }
        let same = |other: &Tag<'_>| {
            if fold_case {
                other.name.eq_ignore_ascii_case(name)
            } else {
                other.name == name
            }
        };
        // RFC 6376 §3.2: a duplicate tag name makes the whole list invalid.
        if tags.iter().any(same) {
            return Err(format!("has the tag {name}= more than once"));
        }
        tags.push(Tag { name, value });
    }
    Ok(tags)
}

/// The list with `name`'s value replaced (or `name=value` added after the first tag, the
/// version, where DMARC's grammar puts `p=`; or the tag removed when `value` is `None`),
/// written in the usual `a=b; c=d` form. For fixes that show a whole
/// corrected record; `text` must have split without error.
pub(crate) fn with_tag(text: &str, name: &str, value: Option<&str>, fold_case: bool) -> String {
    let tags = split(text, fold_case).unwrap_or_default();
    let same = |tag: &str| {
        if fold_case {
            tag.eq_ignore_ascii_case(name)
        } else {
            tag == name
        }
    };
    let mut parts: Vec<String> = Vec::new();
    let mut done = false;
    for tag in &tags {
        if same(tag.name) {
            done = true;
            if let Some(value) = value {
                parts.push(format!("{}={value}", tag.name));
            }
        } else {
            parts.push(format!("{}={}", tag.name, tag.value));
        }
    }
    if let (false, Some(value)) = (done, value) {
        parts.insert(1.min(parts.len()), format!("{name}={value}"));
    }
    parts.join("; ")
}

/// Splits a `:`-separated list (DKIM's h=, s=, t=; DMARC's fo= and rf=), each part trimmed.
pub(crate) fn colon_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(':').map(|part| part.trim_matches(is_space))
}

/// Inputs near `seed` for the tests that parsers never panic: every prefix, and the seed with
/// each byte replaced by each byte a record's grammar gives meaning to (and a few it forbids).
#[cfg(test)]
pub(crate) fn near(seed: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = (0..=seed.len()).map(|end| seed[..end].to_vec()).collect();
    for i in 0..seed.len() {
        for b in *b";=:,!. \t\r\n*@/0Zz\x00\x7f\xc3\xff" {
            let mut v = seed.to_vec();
            v[i] = b;
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_split_with_white_space_and_a_trailing_separator() {
        let tags = split(" v = DKIM1 ;k=rsa;\tp=AB CD ; ", false).unwrap();
        let pairs: Vec<(&str, &str)> = tags.iter().map(|t| (t.name, t.value)).collect();
        assert_eq!(pairs, [("v", "DKIM1"), ("k", "rsa"), ("p", "AB CD")]);
        assert_eq!(
            split("", false).unwrap_err(),
            split(";", false).unwrap_err()
        );
        assert!(split("a=1;;b=2", false).is_err());
        assert!(split("a=1; b", false).unwrap_err().contains("\"b\""));
        assert!(split("1a=1", false).is_err());
        assert!(split("a=1; a=2", false).is_err());
        assert!(split("a=1; A=2", false).is_ok());
        assert!(split("a=1; A=2", true).is_err());
        assert!(split("a=é", false).is_err());
        assert_eq!(split("a=", false).unwrap()[0].value, "");
    }

    #[test]
    fn a_tag_is_replaced_added_or_removed() {
        let text = "v=DMARC1;p=none; pct=50";
        assert_eq!(
            with_tag(text, "P", Some("reject"), true),
            "v=DMARC1; p=reject; pct=50"
        );
        assert_eq!(with_tag(text, "pct", None, true), "v=DMARC1; p=none");
        assert_eq!(
            with_tag(text, "rua", Some("mailto:a@b"), true),
            "v=DMARC1; rua=mailto:a@b; p=none; pct=50"
        );
        let parts: Vec<&str> = colon_list(" y : s").collect();
        assert_eq!(parts, ["y", "s"]);
    }
}
