//! Writes the seed corpora for the fuzz targets: `seed <repository root> <corpus dir>`.
//!
//! - `address`: every input (and normalized form) of `tests/data/syntax*.tsv`.
//! - `dns_message`: responses written by `Message::encode`, one per kind of answer `mail_route`
//!   tells apart, plus one query from `dns::build_query`.
//! - `smtp_reply`: replies of the kinds `smtp::classify` tells apart, in the target's input
//!   format (a leading byte for the read lengths).
//! - `smtp_conversation`: whole sessions of the kinds `smtp::Conversation` tells apart, after
//!   the target's flags byte.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mailvet_core::dns::{Message, RData, Rcode, Record, RecordType, Soa, build_query};

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

/// A response to the query `build_query` makes: the question echoed, RD and RA set, NOERROR.
/// The encoder compresses names, so the seeds hold pointers as real answers do.
fn to(name: &str, rtype: RecordType) -> Message {
    Message::response_to(0, name, rtype)
}

fn record(name: &str, rtype: RecordType, ttl: u32, data: RData) -> Record {
    Record {
        name: name.to_owned(),
        rtype,
        ttl,
        data,
    }
}

fn mx(preference: u16, exchange: &str) -> RData {
    RData::Mx {
        preference,
        exchange: exchange.to_owned(),
    }
}

fn soa(zone: &str, minimum: u32) -> RData {
    RData::Soa(Soa {
        mname: format!("ns.{zone}"),
        rname: format!("hostmaster.{zone}"),
        serial: 2024010101,
        refresh: 7200,
        retry: 3600,
        expire: 1209600,
        minimum,
    })
}

fn txt(strings: &[&str]) -> RData {
    RData::Txt(strings.iter().map(|s| s.as_bytes().to_vec()).collect())
}

fn dns_seeds() -> Result<Seeds, String> {
    use RecordType::{A, Aaaa, Cname, Mx, Soa, Txt};
    let with = |mut m: Message, change: &dyn Fn(&mut Message)| {
        change(&mut m);
        m
    };
    let responses = [
        (
            "mx",
            with(to("example.com", Mx), &|m| {
                m.answers = vec![
                    record("example.com", Mx, 3600, mx(10, "mx1.example.com")),
                    record("example.com", Mx, 300, mx(20, "mx2.example.com")),
                ];
            }),
        ),
        (
            "null-mx",
            with(to("example.net", Mx), &|m| {
                m.answers = vec![record("example.net", Mx, 3600, mx(0, ""))];
            }),
        ),
        (
            "nxdomain",
            with(to("nowhere.example", Mx), &|m| {
                m.rcode = Rcode::NxDomain;
                m.authorities = vec![record(
                    "nowhere.example",
                    Soa,
                    900,
                    soa("nowhere.example", 300),
                )];
            }),
        ),
        (
            "nodata",
            with(to("a-only.example", Mx), &|m| {
                m.authorities = vec![record(
                    "a-only.example",
                    Soa,
                    900,
                    soa("a-only.example", 60),
                )];
            }),
        ),
        (
            "a",
            with(to("a-only.example", A), &|m| {
                m.answers = vec![record(
                    "a-only.example",
                    A,
                    600,
                    RData::A([192, 0, 2, 25].into()),
                )];
            }),
        ),
        (
            "aaaa",
            with(to("a-only.example", Aaaa), &|m| {
                let ip = [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x25];
                m.answers = vec![record("a-only.example", Aaaa, 600, RData::Aaaa(ip.into()))];
            }),
        ),
        (
            "txt",
            with(to("example.com", Txt), &|m| {
                m.answers = vec![record(
                    "example.com",
                    Txt,
                    3600,
                    txt(&["v=spf1 ", "mx -all"]),
                )];
            }),
        ),
        (
            "dmarc",
            with(to("_dmarc.example.com", Txt), &|m| {
                let policy = txt(&["v=DMARC1; p=reject"]);
                m.answers = vec![record("_dmarc.example.com", Txt, 3600, policy)];
            }),
        ),
        (
            "cname-chain",
            with(to("www.example.com", Mx), &|m| {
                m.answers = vec![
                    record(
                        "www.example.com",
                        Cname,
                        300,
                        RData::Cname("example.com".into()),
                    ),
                    record("example.com", Mx, 3600, mx(5, "mx.example.com")),
                ];
            }),
        ),
        (
            "cname-to-self",
            with(to("www.example.com", Mx), &|m| {
                let own = RData::Cname("www.example.com".into());
                m.answers = vec![record("www.example.com", Cname, 300, own)];
            }),
        ),
        (
            "idn",
            with(to("xn--bcher-kva.example", Mx), &|m| {
                let host = mx(10, "mail.xn--bcher-kva.example");
                m.answers = vec![record("xn--bcher-kva.example", Mx, 3600, host)];
            }),
        ),
        (
            "servfail",
            with(to("example.com", Mx), &|m| m.rcode = Rcode::ServFail),
        ),
        (
            "refused",
            with(to("example.com", Mx), &|m| m.rcode = Rcode::Refused),
        ),
        (
            "truncated",
            with(to("example.com", Mx), &|m| m.truncated = true),
        ),
        // RFC 6891 §6.1.3: BADVERS, an RCODE whose upper bits travel in the OPT record.
        (
            "badvers",
            with(to("example.com", Mx), &|m| m.rcode = Rcode::Other(16)),
        ),
    ];
    let mut seeds = Seeds::new();
    for (name, response) in &responses {
        let bytes = response.encode().map_err(|e| format!("{name}: {e}"))?;
        seeds.push(((*name).to_owned(), bytes));
    }
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
