//! Counters for `/metrics`, in the Prometheus text format: decisions by endpoint, outcome and
//! reason, the latency of checks, token operations by outcome, tenant reloads and answers by
//! status. The hot path only adds to atomics.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::token::CheckReason;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] =
    [0.000_005, 0.00001, 0.000_025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1];

#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    Authorize,
    ForwardAuth,
}

const ENDPOINTS: [&str; 2] = ["authorize", "auth"];

#[derive(Default)]
pub struct Metrics {
    /// By endpoint, then by [`CheckReason`] in the order of [`CheckReason::ALL`].
    decisions: [[AtomicU64; CheckReason::ALL.len()]; ENDPOINTS.len()],
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_nanos: AtomicU64,
    operations: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    reloads_ok: AtomicU64,
    reloads_refused: AtomicU64,
    /// Answers by status code, 100 to 599.
    responses: Vec<AtomicU64>,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics { responses: (100..600).map(|_| AtomicU64::new(0)).collect(), ..Metrics::default() }
    }

    /// A check's answer and how long it took.
    pub fn decision(&self, endpoint: Endpoint, reason: CheckReason, took: Duration) {
        self.decisions[endpoint as usize][reason as usize].fetch_add(1, Relaxed);
        let seconds = took.as_secs_f64();
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.latency_buckets[bucket].fetch_add(1, Relaxed);
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_nanos.fetch_add(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX), Relaxed);
    }

    /// A token operation: `ok` or the rule that refused it.
    pub fn operation(&self, operation: &'static str, outcome: &'static str) {
        *self
            .operations
            .lock()
            .expect("the metrics lock is never poisoned")
            .entry((operation, outcome))
            .or_default() += 1;
    }

    pub fn reload(&self, ok: bool) {
        if ok { &self.reloads_ok } else { &self.reloads_refused }.fetch_add(1, Relaxed);
    }

    pub fn response(&self, status: u16) {
        if let Some(counter) = self.responses.get(usize::from(status).wrapping_sub(100)) {
            counter.fetch_add(1, Relaxed);
        }
    }

    /// The Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        family(
            &mut out,
            "warden_decisions_total",
            "counter",
            "Token checks answered, by endpoint, outcome and reason.",
        );
        for (endpoint, counters) in ENDPOINTS.iter().zip(&self.decisions) {
            for (reason, counter) in CheckReason::ALL.iter().zip(counters) {
                let _ = writeln!(
                    out,
                    "warden_decisions_total{{endpoint=\"{endpoint}\",outcome=\"{}\",reason=\"{reason}\"}} {}",
                    reason.outcome(),
                    counter.load(Relaxed)
                );
            }
        }
        family(&mut out, "warden_check_duration_seconds", "histogram", "Time to check a token and decide, in seconds.");
        let mut cumulative = 0;
        for (bound, counter) in BUCKETS.iter().zip(&self.latency_buckets) {
            cumulative += counter.load(Relaxed);
            let _ = writeln!(out, "warden_check_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(out, "warden_check_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "warden_check_duration_seconds_sum {}", self.latency_nanos.load(Relaxed) as f64 / 1e9);
        let _ = writeln!(out, "warden_check_duration_seconds_count {count}");
        family(
            &mut out,
            "warden_token_operations_total",
            "counter",
            "Token management operations, by outcome (ok or the rule that refused).",
        );
        for ((operation, outcome), count) in self.operations.lock().expect("the metrics lock is never poisoned").iter()
        {
            let _ = writeln!(
                out,
                "warden_token_operations_total{{operation=\"{operation}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        family(
            &mut out,
            "warden_tenant_reloads_total",
            "counter",
            "Tenant reloads, by result (a refused tenant keeps the last good one serving).",
        );
        let _ = writeln!(out, "warden_tenant_reloads_total{{result=\"ok\"}} {}", self.reloads_ok.load(Relaxed));
        let _ =
            writeln!(out, "warden_tenant_reloads_total{{result=\"refused\"}} {}", self.reloads_refused.load(Relaxed));
        family(&mut out, "warden_http_responses_total", "counter", "HTTP answers, by status code.");
        for (code, counter) in (100..600).zip(&self.responses) {
            let count = counter.load(Relaxed);
            if count > 0 {
                let _ = writeln!(out, "warden_http_responses_total{{code=\"{code}\"}} {count}");
            }
        }
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}
