//! `dns::parse_response` must never panic on bytes from the network, and a message it accepts
//! must be safe to hand to every helper and to `mail_route`, whose results keep their promises.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailvet_core::dns::{
    Lookup, MailRoute, Message, RData, RecordType, RouteEvidence, follow_up_queries, mail_route,
    normalize_name, parse_response, route::MAX_HOSTS,
};

const TYPES: [RecordType; 8] = [
    RecordType::A,
    RecordType::Ns,
    RecordType::Cname,
    RecordType::Soa,
    RecordType::Mx,
    RecordType::Txt,
    RecordType::Aaaa,
    RecordType::Other(99),
];

fuzz_target!(|data: &[u8]| {
    let Ok(message) = parse_response(data) else {
        return;
    };
    for record in all_records(&message) {
        check_name(&record.name);
        // RFC 2181 §8: the parser turns a TTL with the top bit set into zero.
        assert!(record.ttl < 1 << 31, "ttl {}", record.ttl);
        match &record.data {
            RData::Cname(name) | RData::Ns(name) => check_name(name),
            RData::Mx { exchange, .. } => check_name(exchange),
            RData::Soa(soa) => {
                check_name(&soa.mname);
                check_name(&soa.rname);
            }
            _ => {}
        }
    }
    for question in &message.questions {
        check_name(&question.name);
    }

    assert_eq!(
        message.min_ttl(),
        message.answers.iter().map(|r| r.ttl).min()
    );
    message.negative_ttl();
    let txt = message.txt_strings();
    let txt_records = message
        .answers
        .iter()
        .filter(|r| matches!(r.data, RData::Txt(_)))
        .count();
    assert_eq!(txt.len(), txt_records);

    let mut domains: Vec<String> = message.questions.iter().map(|q| q.name.clone()).collect();
    domains.extend(message.answers.iter().map(|r| r.name.clone()));
    domains.push("example.com".to_owned());
    domains.truncate(8);
    for domain in &domains {
        for rtype in TYPES {
            for record in message.answers_for(domain, rtype) {
                assert_eq!(record.rtype, rtype);
            }
            message.answers_query(message.id, domain, rtype);
        }
        route(domain, &message);
    }
});

fn all_records(message: &Message) -> impl Iterator<Item = &mailvet_core::dns::Record> {
    message
        .answers
        .iter()
        .chain(&message.authorities)
        .chain(&message.additionals)
}

/// Names come out in presentation form: lowercase, no trailing dot, and nothing but letters,
/// digits, `-`, `_`, the dots between labels and `\DDD` escapes.
fn check_name(name: &str) {
    assert_eq!(
        normalize_name(name),
        name,
        "name {name:?} is not normalized"
    );
    assert!(
        name.bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'\\')),
        "name {name:?} has an unescaped octet"
    );
}

/// The message stands in for every answer, in every combination `mail_route` reads.
fn route(domain: &str, message: &Message) {
    follow_up_queries(domain, message);
    let answer = Lookup::Answer(message);
    let evidence = [
        RouteEvidence::mx_only(domain, answer),
        RouteEvidence {
            domain,
            mx: answer,
            a: Some(answer),
            aaaa: Some(answer),
        },
        RouteEvidence {
            domain,
            mx: answer,
            a: Some(Lookup::Failed),
            aaaa: Some(answer),
        },
        RouteEvidence {
            domain,
            mx: answer,
            a: Some(answer),
            aaaa: None,
        },
    ];
    for evidence in &evidence {
        let decision = mail_route(evidence);
        match &decision.route {
            MailRoute::Hosts(hosts) => {
                assert!(hosts.len() <= MAX_HOSTS, "{} hosts", hosts.len());
                for pair in hosts.windows(2) {
                    assert!(
                        (pair[0].preference, &pair[0].host) < (pair[1].preference, &pair[1].host),
                        "hosts out of order: {hosts:?}"
                    );
                }
                for (i, host) in hosts.iter().enumerate() {
                    // RFC 7505 §3: a root exchange is a null MX, never a host. The implicit MX
                    // is the domain itself, which this target also sets to the root.
                    if host.implicit {
                        assert_eq!(host.host, normalize_name(domain));
                    } else {
                        assert!(!host.host.is_empty(), "the root as a host: {hosts:?}");
                    }
                    assert!(
                        hosts[i + 1..].iter().all(|h| h.host != host.host),
                        "host twice: {hosts:?}"
                    );
                }
            }
            MailRoute::DnsFailure(_) => assert_eq!(decision.ttl, None),
            MailRoute::NullMx | MailRoute::NoMailServer | MailRoute::DomainNotFound => {}
        }
        decision.route.code();
        decision.route.to_string();
    }
}
