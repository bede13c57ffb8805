//! Writes the seed corpora for the fuzz targets: `seed <repository root> <corpus dir>`.
//!
//! - `address`: every input (and normalized form) of `tests/data/syntax*.tsv`.
//! - `dns_message`: responses grown from `dns::build_query` output, one per kind of answer
//!   `mail_route` tells apart, plus one query.
//! - `smtp_reply`: replies of the kinds `smtp::classify` tells apart, in the target's input
//!   format (a leading byte for the read lengths).
//! - `smtp_conversation`: whole sessions of the kinds `smtp::Conversation` tells apart, after
//!   the target's flags byte.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mailvet_core::dns::{RecordType, build_query};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, out] = args.as_slice() else {
        eprintln!("usage: seed <repository root> <corpus dir>");
        return ExitCode::FAILURE;
    };
    match run(Path::new(root), Path::new(out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(root: &Path, out: &Path) -> Result<(), String> {
    let address = address_seeds(&root.join("tests/data"))?;
    let dns = dns_seeds()?;
    let smtp = smtp_seeds();
    let conversation = conversation_seeds();
    for (target, seeds) in [
        ("address", address),
        ("dns_message", dns),
        ("smtp_reply", smtp),
        ("smtp_conversation", conversation),
    ] {
        let dir = out.join(target);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (name, bytes) in &seeds {
            let path = dir.join(name);
            fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        println!("{target}: {} seeds in {}", seeds.len(), dir.display());
    }
    Ok(())
}

type Seeds = Vec<(String, Vec<u8>)>;

fn address_seeds(data: &Path) -> Result<Seeds, String> {
    let mut files: Vec<PathBuf> = fs::read_dir(data)
        .map_err(|e| format!("{}: {e}", data.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("syntax") && n.ends_with(".tsv"))
        })
        .collect();
    files.sort();
    let mut seeds = Vec::new();
    for path in files {
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("syntax");
        for (index, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            // Column 1 is the input, column 4 (optional) its normalized form.
            for (column, field) in [(1, fields.first()), (4, fields.get(3))] {
                let Some(field) = field else { continue };
                let bytes = unescape(field)
                    .map_err(|e| format!("{}:{}: {e}", path.display(), index + 1))?;
                seeds.push((format!("{stem}-{}-{column}", index + 1), bytes));
            }
        }
    }
    Ok(seeds)
}

/// The corpus escapes (see the header of `tests/data/syntax.tsv`): `\t \n \r \\`, `\xNN`,
/// `\u{X}` and `\*N{text}`.
fn unescape(field: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut rest = field;
    while let Some((before, after)) = rest.split_once('\\') {
        out.extend_from_slice(before.as_bytes());
        let mut chars = after.chars();
        let escape = chars.next().ok_or("a lone backslash at the end")?;
        rest = chars.as_str();
        match escape {
            't' => out.push(b'\t'),
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            '\\' => out.push(b'\\'),
            'x' => {
                let hex = rest.get(..2).ok_or("\\x needs two hex digits")?;
                out.push(u8::from_str_radix(hex, 16).map_err(|e| format!("\\x{hex}: {e}"))?);
                rest = &rest[2..];
            }
            'u' => {
                let (hex, tail) = braced(rest)?;
                let code = u32::from_str_radix(hex, 16).map_err(|e| format!("\\u{hex}: {e}"))?;
                let c = char::from_u32(code).ok_or(format!("\\u{{{hex}}} is not a char"))?;
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                rest = tail;
            }
            '*' => {
                let open = rest.find('{').ok_or("\\* needs {")?;
                let count: usize = rest[..open]
                    .parse()
                    .map_err(|e| format!("\\* count: {e}"))?;
                let (text, tail) = braced(&rest[open..])?;
                out.extend_from_slice(text.repeat(count).as_bytes());
                rest = tail;
            }
            other => return Err(format!("unknown escape \\{other}")),
        }
    }
    out.extend_from_slice(rest.as_bytes());
    Ok(out)
}

/// Splits `{inside}tail` into `inside` and `tail`.
fn braced(s: &str) -> Result<(&str, &str), String> {
    let inner = s.strip_prefix('{').ok_or("expected {")?;
    let close = inner.find('}').ok_or("expected }")?;
    Ok((&inner[..close], &inner[close + 1..]))
}

const CLASS_IN: u16 = 1;
/// A compression pointer to the question's name, which starts right after the 12-octet header
/// (RFC 1035 §4.1.4).
const QNAME: [u8; 2] = [0xC0, 12];

/// A response to the query `build_query` makes, assembled section by section.
struct Response {
    query: Vec<u8>,
    opt: Vec<u8>,
    flags: u16,
    answers: Vec<Vec<u8>>,
    authorities: Vec<Vec<u8>>,
}

impl Response {
    /// RD and RA set, NOERROR (RFC 1035 §4.1.1).
    fn to(name: &str, rtype: RecordType) -> Result<Response, String> {
        let mut query = build_query(0, name, rtype).map_err(|e| format!("{name}: {e}"))?;
        // The query ends with its OPT record: root owner and ten octets (RFC 6891 §6.1.2).
        let opt = query.split_off(query.len() - 11);
        Ok(Response {
            query,
            opt,
            flags: 0x8180,
            answers: Vec::new(),
            authorities: Vec::new(),
        })
    }

    fn rcode(mut self, rcode: u16) -> Self {
        self.flags = (self.flags & !0xF) | rcode;
        self
    }

    fn truncated(mut self) -> Self {
        self.flags |= 0x0200;
        self
    }

    /// RFC 6891 §6.1.3: the upper eight bits of a 12-bit RCODE sit in the OPT record's TTL.
    fn extended_rcode(mut self, upper: u8) -> Self {
        self.opt[5] = upper;
        self
    }

    fn answer(mut self, owner: &[u8], rtype: RecordType, ttl: u32, rdata: &[u8]) -> Self {
        self.answers.push(record(owner, rtype, ttl, rdata));
        self
    }

    fn authority(mut self, owner: &[u8], rtype: RecordType, ttl: u32, rdata: &[u8]) -> Self {
        self.authorities.push(record(owner, rtype, ttl, rdata));
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.query.clone();
        out[2..4].copy_from_slice(&self.flags.to_be_bytes());
        out[6..8].copy_from_slice(&count(&self.answers));
        out[8..10].copy_from_slice(&count(&self.authorities));
        for section in [&self.answers, &self.authorities] {
            for record in section {
                out.extend_from_slice(record);
            }
        }
        out.extend_from_slice(&self.opt);
        out
    }
}

fn count(records: &[Vec<u8>]) -> [u8; 2] {
    u16::try_from(records.len())
        .unwrap_or(u16::MAX)
        .to_be_bytes()
}

fn record(owner: &[u8], rtype: RecordType, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut out = owner.to_vec();
    out.extend_from_slice(&rtype.code().to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&u16::try_from(rdata.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(rdata);
    out
}

/// `name` in wire form without compression.
fn wire(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(u8::try_from(label.len()).unwrap_or(63));
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

fn mx(preference: u16, exchange: &[u8]) -> Vec<u8> {
    let mut out = preference.to_be_bytes().to_vec();
    out.extend_from_slice(exchange);
    out
}

/// MNAME and RNAME compressed against the question, then serial, refresh, retry, expire and
/// minimum (RFC 1035 §3.3.13).
fn soa(minimum: u32) -> Vec<u8> {
    let mut out = vec![
        2, b'n', b's', 0xC0, 12, 10, b'h', b'o', b's', b't', b'm', b'a', b's',
    ];
    out.extend_from_slice(&[b't', b'e', b'r', 0xC0, 12]);
    for field in [2024010101, 7200, 3600, 1209600, minimum] {
        out.extend_from_slice(&u32::to_be_bytes(field));
    }
    out
}

fn txt(strings: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in strings {
        out.push(u8::try_from(s.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(s.as_bytes());
    }
    out
}

fn dns_seeds() -> Result<Seeds, String> {
    use RecordType::{A, Aaaa, Cname, Mx, Soa, Txt};
    let mut mx2 = vec![3, b'm', b'x', b'2'];
    mx2.extend_from_slice(&QNAME);

    let responses = [
        (
            "mx",
            Response::to("example.com", Mx)?
                .answer(&QNAME, Mx, 3600, &mx(10, &wire("mx1.example.com")))
                .answer(&QNAME, Mx, 300, &mx(20, &mx2)),
        ),
        (
            "null-mx",
            Response::to("example.net", Mx)?.answer(&QNAME, Mx, 3600, &mx(0, &[0])),
        ),
        (
            "nxdomain",
            Response::to("nowhere.example", Mx)?
                .rcode(3)
                .authority(&QNAME, Soa, 900, &soa(300)),
        ),
        (
            "nodata",
            Response::to("a-only.example", Mx)?.authority(&QNAME, Soa, 900, &soa(60)),
        ),
        (
            "a",
            Response::to("a-only.example", A)?.answer(&QNAME, A, 600, &[192, 0, 2, 25]),
        ),
        (
            "aaaa",
            Response::to("a-only.example", Aaaa)?.answer(
                &QNAME,
                Aaaa,
                600,
                &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25],
            ),
        ),
        (
            "txt",
            Response::to("example.com", Txt)?.answer(
                &QNAME,
                Txt,
                3600,
                &txt(&["v=spf1 ", "mx -all"]),
            ),
        ),
        (
            "dmarc",
            Response::to("_dmarc.example.com", Txt)?.answer(
                &QNAME,
                Txt,
                3600,
                &txt(&["v=DMARC1; p=reject"]),
            ),
        ),
        (
            "cname-chain",
            Response::to("www.example.com", Mx)?
                .answer(&QNAME, Cname, 300, &wire("example.com"))
                .answer(
                    &wire("example.com"),
                    Mx,
                    3600,
                    &mx(5, &wire("mx.example.com")),
                ),
        ),
        (
            "cname-to-self",
            Response::to("www.example.com", Mx)?.answer(&QNAME, Cname, 300, &QNAME),
        ),
        (
            "idn",
            Response::to("xn--bcher-kva.example", Mx)?.answer(
                &QNAME,
                Mx,
                3600,
                &mx(10, &wire("mail.xn--bcher-kva.example")),
            ),
        ),
        ("servfail", Response::to("example.com", Mx)?.rcode(2)),
        ("refused", Response::to("example.com", Mx)?.rcode(5)),
        ("truncated", Response::to("example.com", Mx)?.truncated()),
        (
            "badvers",
            Response::to("example.com", Mx)?.extended_rcode(1),
        ),
    ];
    let mut seeds: Seeds = responses
        .iter()
        .map(|(name, response)| ((*name).to_owned(), response.bytes()))
        .collect();
    let query = build_query(0x1234, "example.com", Mx).map_err(|e| e.to_string())?;
    seeds.push(("query".to_owned(), query));
    Ok(seeds)
}

fn smtp_seeds() -> Seeds {
    let replies: [(&str, &[u8], &str); 12] = [
        ("greeting", &[0], "220 mx.example.com ESMTP ready\r\n"),
        (
            "ehlo",
            &[0],
            "250-mx.example.com Hello [127.0.0.1]\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n\
             250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 STARTTLS\r\n",
        ),
        (
            "ehlo-split",
            &[3, 0, 6, 40],
            "250-mx.example.com\r\n250-SIZE\r\n250 STARTTLS\r\n",
        ),
        ("mail-ok", &[0], "250 2.1.0 Ok\r\n"),
        (
            "pipelined",
            &[2, 9, 2],
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go on\r\n",
        ),
        (
            "no-mailbox",
            &[0],
            "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown\r\n",
        ),
        ("no-mailbox-text", &[1, 4], "550 No such user here\n"),
        ("full", &[0], "452 4.2.2 Mailbox full\r\n"),
        (
            "greylist",
            &[0],
            "450 4.2.0 <a@example.com>: Recipient address rejected: Greylisted, try again later\r\n",
        ),
        (
            "blocked",
            &[0],
            "554-5.7.1 Service unavailable; client host blocked\r\n554 5.7.1 see the blocklist\r\n",
        ),
        (
            "closing",
            &[0],
            "421 4.7.0 mx.example.com closing connection\r\n",
        ),
        ("too-many", &[0], "452 4.5.3 Too many recipients\r\n"),
    ];
    replies
        .iter()
        .map(|(name, prefix, reply)| {
            let mut bytes = prefix.to_vec();
            bytes.extend_from_slice(reply.as_bytes());
            ((*name).to_owned(), bytes)
        })
        .collect()
}

fn conversation_seeds() -> Seeds {
    let sessions: [(&str, u8, &str); 6] = [
        (
            "starttls-catch-all-refused",
            0b011,
            "220 mx ESMTP\r\n250-mx\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n220 Go ahead\r\n\
             250-mx\r\n250 SMTPUTF8\r\n250 OK\r\n250 Accepted\r\n550 5.1.1 No such user\r\n\
             250 Reset\r\n250 OK\r\n250 Accepted\r\n550 5.1.1 No such user\r\n",
        ),
        (
            "helo",
            0,
            "220 mx\r\n502 5.5.2 EHLO?\r\n250 mx\r\n250 OK\r\n250 OK\r\n250 OK\r\n",
        ),
        (
            "too-many",
            0,
            "220 mx\r\n250 mx\r\n250 OK\r\n250 OK\r\n550 5.1.1 No\r\n452 4.5.3 Too many\r\n",
        ),
        (
            "sender-refused",
            0b100,
            "220 mx\r\n250 mx\r\n550 5.7.1 Sender rejected\r\n",
        ),
        ("busy", 0, "421 4.3.2 Busy\r\n"),
        (
            "tls-fails",
            0b001,
            "220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 Go ahead\r\n",
        ),
    ];
    sessions
        .iter()
        .map(|(name, flags, stream)| {
            let mut bytes = vec![*flags];
            bytes.extend_from_slice(stream.as_bytes());
            ((*name).to_owned(), bytes)
        })
        .collect()
}
