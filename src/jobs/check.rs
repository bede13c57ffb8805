//! How the engine checks a chunk's addresses: each domain resolved once (a chunk holds few
//! domains: the split groups rows by domain), and at depth `smtp` each domain's addresses sent
//! to the prober in one request (`POST /v1/probe/batch`), where they share SMTP sessions.

use std::collections::BTreeMap;

use futures_util::{StreamExt, stream};
use mailvet_core::lists::Lists;
use mailvet_core::report::{Check, MxSummary, PROBE_BATCH_MAX, Report};
use mailvet_core::verdict::Policy;

use crate::api::{self, Depth, Next};
use crate::config::{Config, ProbeConfig};
use crate::doh::Resolver;
use crate::probe;

/// The addresses of one domain waiting for the prober: each with its place in the chunk.
struct Waiting<'a> {
    mx: Option<Vec<MxSummary>>,
    prober: &'a ProbeConfig,
    checks: Vec<(usize, Check<'a>, String)>,
}

/// The reports of `inputs`, in order.
pub async fn check_inputs(inputs: &[String], depth: Depth, config: &Config) -> Vec<Report> {
    if depth != Depth::Smtp || config.probe.is_none() {
        return api::check_all(inputs, depth, config).await.0;
    }
    let lists = Lists::new();
    let policy = Policy::default();
    let checks: Vec<Check<'_>> = inputs.iter().map(|i| Check::new(i, &lists)).collect();
    let resolver = Resolver::new(&config.doh, config.doh_timeout);
    let routes = api::routes(&checks, &resolver).await;

    let mut reports: Vec<Option<Report>> = (0..inputs.len()).map(|_| None).collect();
    let mut waiting: BTreeMap<String, Waiting<'_>> = BTreeMap::new();
    for (i, check) in checks.into_iter().enumerate() {
        let domain = check.dns_name().map(str::to_owned);
        let route = domain.as_deref().and_then(|d| routes.get(d));
        match api::after_dns(check, route.map(|r| &r.route), depth, config, &policy) {
            Next::Done(report) => reports[i] = Some(report),
            Next::Probe {
                check,
                prober,
                email,
                mx,
            } => {
                // An address to probe has a domain: the core asked DNS about it.
                let key = domain.unwrap_or_default();
                let entry = waiting.entry(key).or_insert_with(|| Waiting {
                    mx,
                    prober,
                    checks: Vec::new(),
                });
                entry.checks.push((i, check, email));
            }
        }
    }

    let mut batches = Vec::new();
    for (domain, mut group) in waiting {
        while !group.checks.is_empty() {
            let rest = group
                .checks
                .split_off(group.checks.len().min(PROBE_BATCH_MAX));
            let batch = std::mem::replace(&mut group.checks, rest);
            batches.push((domain.clone(), group.mx.clone(), group.prober, batch));
        }
    }
    let policy = &policy;
    let done: Vec<Vec<(usize, Report)>> = stream::iter(batches)
        .map(|(domain, mx, prober, batch)| async move {
            let emails: Vec<String> = batch.iter().map(|(_, _, email)| email.clone()).collect();
            let evidence = probe::probe_batch(prober, &domain, emails, mx).await;
            batch
                .into_iter()
                .zip(evidence)
                .map(|((i, check, _), evidence)| (i, check.with_mailbox(evidence).finish(policy)))
                .collect()
        })
        .buffer_unordered(api::PROBES_AT_ONCE)
        .collect()
        .await;
    for (i, report) in done.into_iter().flatten() {
        reports[i] = Some(report);
    }
    reports
        .into_iter()
        .zip(inputs)
        .map(|(report, input)| {
            // Every check ended above; one that did not would be a bug here, reported as not
            // completed rather than dropped.
            report.unwrap_or_else(|| Check::new(input, &lists).not_completed().finish(policy))
        })
        .collect()
}
