//! The sender-health record parsers (SPF, DMARC, DKIM, MTA-STS, TLS-RPT, BIMI) must never panic
//! on any TXT record, and an SPF record that parses must parse the same once more from its
//! terms' text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailvet_core::sender::{bimi, dkim, dmarc, mta_sts, spf, tls_rpt};

fuzz_target!(|text: &[u8]| {
    if spf::record::is_spf(text) {
        if let Ok(record) = spf::record::parse(text) {
            let terms: Vec<&str> = record.terms.iter().map(|(t, _)| t.as_str()).collect();
            let again = format!("v=spf1 {}", terms.join(" "));
            let reparsed = spf::record::parse(again.as_bytes()).expect("its own terms");
            assert_eq!(reparsed, record);
        }
    }
    let _ = dmarc::parse(text);
    let _ = dkim::parse(text);
    let _ = mta_sts::parse_record(text);
    let _ = mta_sts::parse_policy(text);
    let _ = tls_rpt::parse(text);
    let _ = bimi::parse(text);
});
