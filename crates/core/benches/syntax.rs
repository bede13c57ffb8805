//! Address syntax throughput: `mailvet_core::syntax::parse` against
//! `email_address::EmailAddress::is_valid` on the same 100,000 generated addresses.
//!
//! Run with `cargo bench -p mailvet-core --bench syntax`. The addresses come from a fixed-seed
//! generator, so every run sees the same ones: mostly ASCII mailboxes at big providers and
//! companies (dots, plus-tags, digits, mixed case), some internationalised ones, and about one
//! in twenty with a typing mistake.
#![allow(clippy::print_stdout, reason = "a bench binary reports by printing")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use email_address::EmailAddress;
use mailvet_core::syntax;

const COUNT: usize = 100_000;
const ROUNDS: usize = 7;
const SEED: u64 = 0x05ee_d0fa_dd7e_55e5;

#[path = "../../../tests/support/rng.rs"]
mod rng;

use rng::Rng;

const PROVIDERS: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "aol.com",
    "proton.me",
    "gmx.de",
    "web.de",
    "yandex.ru",
    "mail.ru",
    "qq.com",
    "163.com",
    "orange.fr",
    "free.fr",
    "btinternet.com",
    "comcast.net",
    "libero.it",
    "yahoo.co.uk",
    "t-online.de",
];
const COMPANY_WORDS: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "stark",
    "wayne",
    "tyrell",
    "cyberdyne",
    "hooli",
    "vandelay",
    "wonka",
    "soylent",
    "nordic",
    "alpine",
    "delta",
    "apex",
    "blue",
    "green",
];
const COMPANY_TLDS: &[&str] = &[
    "com", "co.uk", "de", "fr", "io", "net", "org", "com.au", "nl",
];
const SUBDOMAINS: &[&str] = &["mail", "eu", "us", "corp", "staff", "students"];
const FIRST: &[&str] = &[
    "james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "anna", "lukas",
    "sofia", "mohammed", "wei", "yuki", "olga", "pierre", "chloe", "mateo", "aisha",
];
const LAST: &[&str] = &[
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "muller",
    "schmidt", "rossi", "dubois", "kowalski", "nguyen", "kim", "tanaka", "ivanov", "silva",
];
const TAGS: &[&str] = &["news", "shop", "work", "2024", "spam", "github", "bank"];
const IDN_DOMAINS: &[&str] = &[
    "bücher.de",
    "münchen.de",
    "xn--bcher-kva.de",
    "例え.jp",
    "пример.рф",
    "παράδειγμα.gr",
    "straße.de",
    "Ärzte.at",
];
const IDN_LOCALS: &[&str] = &["josé", "zoë", "иван", "李伟", "müller", "ñandú"];

fn local_part(rng: &mut Rng) -> String {
    let first = rng.pick(FIRST);
    let last = rng.pick(LAST);
    let mut local = match rng.below(6) {
        0 => format!("{first}.{last}"),
        1 => format!("{first}{last}"),
        2 => format!("{first}.{last}{}", rng.below(100)),
        3 => format!("{}{last}", &first[..1]),
        4 => format!("{first}_{last}"),
        _ => format!("{first}{}", 1950 + rng.below(60)),
    };
    if rng.chance(8) {
        local.push('+');
        local.push_str(rng.pick(TAGS));
    }
    if rng.chance(5) {
        local = local.to_uppercase();
    } else if rng.chance(10) {
        local[..1].make_ascii_uppercase();
    }
    local
}

fn domain(rng: &mut Rng) -> String {
    if rng.chance(60) {
        return rng.pick(PROVIDERS).to_owned();
    }
    let word = rng.pick(COMPANY_WORDS);
    let tld = rng.pick(COMPANY_TLDS);
    match rng.below(4) {
        0 => format!("{word}-{}.{tld}", rng.pick(COMPANY_WORDS)),
        1 => format!("{}.{word}.{tld}", rng.pick(SUBDOMAINS)),
        2 => format!("{word}.{tld}").to_uppercase(),
        _ => format!("{word}.{tld}"),
    }
}

/// A typing mistake, a pasted display name, or some other reason to be invalid.
fn spoil(rng: &mut Rng, address: String) -> String {
    match rng.below(9) {
        0 => address.replacen('@', "", 1),
        1 => address.replacen('.', "..", 1),
        2 => format!("{address} "),
        3 => format!("{address}."),
        4 => format!("Jane Doe <{address}>"),
        5 => address.replacen('.', ",", 1),
        6 => address.replacen('@', "@@", 1),
        7 => address.replacen('@', " @", 1),
        _ => format!("{}{address}", "x".repeat(70)),
    }
}

fn generate() -> Vec<String> {
    let mut rng = Rng(SEED);
    (0..COUNT)
        .map(|_| {
            let roll = rng.below(100);
            let address = if roll < 2 {
                format!("{}@{}", rng.pick(IDN_LOCALS), domain(&mut rng))
            } else if roll < 5 {
                format!("{}@{}", local_part(&mut rng), rng.pick(IDN_DOMAINS))
            } else {
                format!("{}@{}", local_part(&mut rng), domain(&mut rng))
            };
            if rng.chance(5) {
                spoil(&mut rng, address)
            } else {
                address
            }
        })
        .collect()
}

/// Best of `ROUNDS` runs of `check` over all addresses, and how many it accepted.
fn measure(addresses: &[String], check: impl Fn(&str) -> bool) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut accepted = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        accepted = addresses
            .iter()
            .filter(|a| check(black_box(a.as_str())))
            .count();
        best = best.min(start.elapsed());
    }
    (best, accepted)
}

fn rate(addresses: usize, time: Duration) -> f64 {
    addresses as f64 / time.as_secs_f64()
}

fn main() {
    let addresses = generate();
    let ascii = addresses.iter().filter(|a| a.is_ascii()).count();
    println!(
        "{} addresses ({} ASCII), best of {ROUNDS} rounds",
        addresses.len(),
        ascii
    );

    let (ours, ours_valid) = measure(&addresses, |a| syntax::parse(a).is_ok());
    let (theirs, theirs_valid) = measure(&addresses, EmailAddress::is_valid);
    let ours_rate = rate(addresses.len(), ours);
    let theirs_rate = rate(addresses.len(), theirs);
    println!(
        "mailvet_core::syntax::parse       {:>12.0} addresses/s  ({} valid)",
        ours_rate, ours_valid
    );
    println!(
        "email_address::EmailAddress::is_valid {:>8.0} addresses/s  ({} valid)",
        theirs_rate, theirs_valid
    );
    println!(
        "ratio (ours / email_address): {:.2}",
        ours_rate / theirs_rate
    );

    let differing: Vec<&String> = addresses
        .iter()
        .filter(|a| syntax::parse(a).is_ok() != EmailAddress::is_valid(a))
        .collect();
    println!("verdicts differ on {} addresses", differing.len());
    let mut shown = std::collections::BTreeMap::new();
    for address in &differing {
        let ours = match syntax::parse(address) {
            Ok(_) => "valid".to_owned(),
            Err(e) => e.code().to_owned(),
        };
        shown.entry(ours).or_insert_with(|| (*address).clone());
    }
    for (ours, example) in shown {
        let theirs = if EmailAddress::is_valid(&example) {
            "valid"
        } else {
            "invalid"
        };
        println!("  e.g. {example:?}: ours {ours}, email_address {theirs}");
    }
}
