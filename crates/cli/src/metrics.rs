//! Counters of the prober, written in the Prometheus text exposition format (version 0.0.4) for
//! `GET /metrics`. Nothing here names an address or a domain.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use mailvet_core::report::MailboxEvidence;

/// Upper bounds of the probe duration histogram, in seconds: a quick answer, a slow server, and
/// the deadlines of tarpits.
const BUCKETS: [f64; 12] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0,
];

/// The outcome label of each kind of evidence, in the order of the counters.
const OUTCOMES: [&str; 12] = [
    "deliverable",
    "mailbox_not_found",
    "mailbox_disabled",
    "mailbox_full",
    "too_many_recipients",
    "blocked",
    "temporary_failure",
    "unknown_permanent_failure",
    "unexpected_reply",
    "timeout",
    "unreachable",
    "not_asked",
];

#[derive(Debug, Default)]
pub struct Metrics {
    probes: [AtomicU64; OUTCOMES.len()],
    in_flight: AtomicI64,
    sessions: AtomicU64,
    sessions_open: AtomicI64,
    host_waits: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    duration_micros: AtomicU64,
}

/// Counts a probe as in flight until dropped.
#[derive(Debug)]
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts an SMTP session as open until dropped.
#[derive(Debug)]
pub struct OpenSession<'a>(&'a Metrics);

impl Drop for OpenSession<'_> {
    fn drop(&mut self) {
        self.0.sessions_open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Probes being answered now.
    pub fn probes_in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// A session is ready for MAIL FROM: greeted, EHLO said, STARTTLS done when offered.
    pub fn session_opened(&self) -> OpenSession<'_> {
        self.sessions.fetch_add(1, Ordering::Relaxed);
        self.sessions_open.fetch_add(1, Ordering::Relaxed);
        OpenSession(self)
    }

    /// SMTP sessions opened so far.
    pub fn sessions_total(&self) -> u64 {
        self.sessions.load(Ordering::Relaxed)
    }

    /// A session waited because its MX host had as many sessions as allowed.
    pub fn host_wait(&self) {
        self.host_waits.fetch_add(1, Ordering::Relaxed);
    }

    /// A probe finished with `evidence` after `took`.
    pub fn probed(&self, evidence: &MailboxEvidence, took: Duration) {
        let label = outcome_label(evidence);
        if let Some(i) = OUTCOMES.iter().position(|&o| o == label) {
            self.probes[i].fetch_add(1, Ordering::Relaxed);
        }
        let secs = took.as_secs_f64();
        // Buckets are stored non-cumulatively and summed when written.
        let bucket = BUCKETS.iter().position(|&le| secs <= le);
        if let Some(i) = bucket {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.duration_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str("# HELP mailvet_probes_total Mailbox probes answered, by outcome.\n");
        out.push_str("# TYPE mailvet_probes_total counter\n");
        for (label, count) in OUTCOMES.iter().zip(&self.probes) {
            let _ = writeln!(
                out,
                "mailvet_probes_total{{outcome=\"{label}\"}} {}",
                load(count)
            );
        }
        let gauge = |out: &mut String, name: &str, help: &str, kind: &str, value: String| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            );
        };
        gauge(
            &mut out,
            "mailvet_probes_in_flight",
            "Probes being answered now.",
            "gauge",
            self.in_flight.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "mailvet_smtp_sessions_total",
            "SMTP sessions set up (greeting, EHLO, STARTTLS when offered).",
            "counter",
            load(&self.sessions).to_string(),
        );
        gauge(
            &mut out,
            "mailvet_smtp_sessions_open",
            "SMTP sessions open now.",
            "gauge",
            self.sessions_open.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "mailvet_per_host_limit_waits_total",
            "Sessions that waited because their MX host had all the sessions allowed.",
            "counter",
            load(&self.host_waits).to_string(),
        );
        out.push_str("# HELP mailvet_probe_duration_seconds Time to answer one probe.\n");
        out.push_str("# TYPE mailvet_probe_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (le, count) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += load(count);
            let _ = writeln!(
                out,
                "mailvet_probe_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let total: u64 = self.probes.iter().map(load).sum();
        let _ = writeln!(
            out,
            "mailvet_probe_duration_seconds_bucket{{le=\"+Inf\"}} {total}"
        );
        let sum = load(&self.duration_micros) as f64 / 1e6;
        let _ = writeln!(out, "mailvet_probe_duration_seconds_sum {sum}");
        let _ = writeln!(out, "mailvet_probe_duration_seconds_count {total}");
        out
    }
}

/// The label of a probe's result: the core's outcome code for an answer, else the kind.
pub fn outcome_label(evidence: &MailboxEvidence) -> &'static str {
    match evidence {
        MailboxEvidence::Answered { outcome, .. } => outcome.code(),
        MailboxEvidence::Timeout { .. } => "timeout",
        MailboxEvidence::Unreachable => "unreachable",
        MailboxEvidence::NotAsked { .. } => "not_asked",
    }
}

#[cfg(test)]
mod tests {
    use mailvet_core::smtp::Outcome;

    use super::*;

    #[test]
    fn counts_render_as_prometheus_text() {
        let m = Metrics::default();
        let answered = MailboxEvidence::Answered {
            host: "mx".into(),
            code: 250,
            enhanced: None,
            message: String::new(),
            outcome: Outcome::Deliverable,
            tls: false,
            catch_all: None,
        };
        m.probed(&answered, Duration::from_millis(30));
        m.probed(
            &MailboxEvidence::Timeout { host: None },
            Duration::from_secs(3),
        );
        m.probed(&MailboxEvidence::Unreachable, Duration::from_secs(100));
        let open = m.session_opened();
        let flying = m.in_flight();
        m.host_wait();
        let text = m.render();
        for line in [
            "mailvet_probes_total{outcome=\"deliverable\"} 1",
            "mailvet_probes_total{outcome=\"timeout\"} 1",
            "mailvet_probes_total{outcome=\"unreachable\"} 1",
            "mailvet_probes_total{outcome=\"blocked\"} 0",
            "mailvet_probes_in_flight 1",
            "mailvet_smtp_sessions_total 1",
            "mailvet_smtp_sessions_open 1",
            "mailvet_per_host_limit_waits_total 1",
            "mailvet_probe_duration_seconds_bucket{le=\"0.025\"} 0",
            "mailvet_probe_duration_seconds_bucket{le=\"0.05\"} 1",
            "mailvet_probe_duration_seconds_bucket{le=\"5\"} 2",
            "mailvet_probe_duration_seconds_bucket{le=\"30\"} 2",
            "mailvet_probe_duration_seconds_bucket{le=\"+Inf\"} 3",
            "mailvet_probe_duration_seconds_count 3",
            "mailvet_probe_duration_seconds_sum 103.03",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        drop((open, flying));
        let text = m.render();
        assert!(text.contains("mailvet_smtp_sessions_open 0\n"));
        assert!(text.contains("mailvet_probes_in_flight 0\n"));
        // Every metric has its HELP and TYPE.
        assert_eq!(
            text.matches("# HELP ").count(),
            text.matches("# TYPE ").count()
        );
    }

    #[test]
    fn every_outcome_has_a_counter() {
        for outcome in Outcome::ALL {
            assert!(OUTCOMES.contains(&outcome.code()), "{outcome:?}");
        }
    }
}
