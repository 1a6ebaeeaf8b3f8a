//! Webhooks: per-client endpoints receive their projects' events as signed HTTP POSTs,
//! retried with exponential backoff for 24 hours, each carrying an event id to de-duplicate.
//!
//! ```text
//!  indexer --> events --outbox (one tx: cursor FOR UPDATE, events after it, one delivery per
//!                       (endpoint, event) ON CONFLICT DO NOTHING, cursor moved)
//!                              |
//!                              v
//!   api_webhook_deliveries (pending, next_attempt_ms) --claim (FOR UPDATE SKIP LOCKED, push
//!   next_attempt past a lease) --> POST url (SSRF-guarded resolver, rustls, timeout)
//!        2xx --> delivered (never sent again)
//!        else --> attempt logged; next = backoff (30 s doubling, cap 4 h, +0..20 % jitter)
//!                 or `failed` when that is past created + 24 h
//! ```
//!
//! - Body (`application/json`): `{"event_id", "type", "created_at", "project_id", "data"}`:
//!   `type` is the event's TL-B constructor (`ev_deposit`, `ev_release`, `ev_refund`,
//!   `ev_closed`, `ev_batch_executed`, `ev_payout_bounced`, ...) or `webhook_test`, `data` the
//!   same object as `GET /v1/projects/{id}/events` lists, `created_at` the event's chain time
//!   (RFC 3339). The bytes are fixed when the delivery is made: every attempt sends the same.
//! - Headers: `LabelMint-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
//!   `LabelMint-Event-Id`, `LabelMint-Delivery-Attempt` ([`sign`]).
//! - Whose events: an endpoint owned by client wallet W gets the events of W's projects (the
//!   escrow's, a vault funding for one of them, a batch or a bounced payout item paying
//!   their earnings); an admin's endpoint (no owner) gets every project's. An endpoint gets
//!   the events indexed after it was made.
//! - Exactly once per (endpoint, event) as a delivery; at least once as an HTTP request (a
//!   worker that dies after sending and before recording sends again after its lease): the
//!   receiver de-duplicates by `event_id`. Once a 2xx is recorded it is never sent again.
//! - Several API processes may run workers: claims use `FOR UPDATE SKIP LOCKED`.
//! - Time comes from a [`Clock`]; tests move it to check the schedule.

mod backoff;
mod clock;
pub mod deliver;
pub mod outbox;
pub mod sign;
pub mod ssrf;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

pub use backoff::Backoff;
pub use clock::{Clock, SystemClock};
pub use sign::SealKey;

/// Webhook settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The key that seals signing secrets at rest. `None`: the webhook routes answer 503
    /// `webhooks-unavailable` and nothing is delivered.
    pub key: Option<SealKey>,
    /// Run the delivery worker in this process (the outbox and the sending).
    pub deliver: bool,
    /// Accept URLs that resolve to loopback, private or link-local addresses (tests and
    /// `make up` only: it lets anyone with a client key make the server call inside hosts).
    pub allow_private: bool,
    /// How long one attempt may take (connect, TLS, answer).
    pub timeout: Duration,
    /// How often the worker looks for new events and due deliveries.
    pub poll: Duration,
    /// Deliveries one worker sends at once.
    pub concurrency: usize,
    /// The retry schedule.
    pub backoff: Backoff,
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
}

impl Default for WebhookConfig {
    /// No key (webhooks off), the worker on, public targets only, 10 s per attempt, poll
    /// every 500 ms, 16 at once, the default [`Backoff`], the system clock.
    fn default() -> WebhookConfig {
        WebhookConfig {
            key: None,
            deliver: true,
            allow_private: false,
            timeout: Duration::from_secs(10),
            poll: Duration::from_millis(500),
            concurrency: 16,
            backoff: Backoff::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// RFC 3339 (UTC, seconds) of unix milliseconds.
pub fn rfc3339_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(super::rfc3339_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(super::rfc3339_ms(1_796_256_000_999), "2026-12-03T00:00:00Z");
        assert_eq!(super::rfc3339_ms(-1_000), "1969-12-31T23:59:59Z");
    }
}
