//! Rate limits: a token bucket (GCRA, the `governor` crate) per authenticated caller and one per
//! client IP, checked by the [`enforce`] middleware before any handler runs.
//!
//! ```text
//! request --> /health, /ready, or limits off? -------------------------------> route
//!         --> Authorization verified (auth::authenticate, cached)? -- yes --> caller bucket
//!                                                                 \- no ---> IP bucket
//!             (IP = the peer; the X-Forwarded-For hop left of the trusted proxies only
//!              when the peer is one of `trusted_proxies`; IPv6 by /64)
//!         bucket has a token --> route (RateLimit-Limit, RateLimit-Remaining)
//!         bucket empty       --> 429 problem+json `rate-limited`, Retry-After (s),
//!                                RateLimit-Limit, RateLimit-Remaining: 0, RateLimit-Reset
//! ```
//!
//! Why `governor` and not `tower_governor`: the caller bucket is keyed by the *verified*
//! credential, which only exists after the auth lookup (keying on the unverified bearer text
//! would let anyone drain a victim's bucket by sending its key id with a wrong secret).
//! `tower_governor` keys on the raw request; `governor`'s keyed limiter is the same engine
//! without that constraint, with `retain_recent` to prune idle buckets.
//!
//! Memory: a bucket that has refilled is indistinguishable from a fresh one, so a task drops
//! those every [`RateLimits::prune_every`] ([`Limiter::prune`]); what stays is bounded by the
//! keys active within one refill period.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use ipnet::IpNet;

use crate::auth::{AuthOutcome, Principal};
use crate::problem::ApiError;
use crate::server::AppState;

/// One bucket's shape: `per_second` tokens refill each second, at most `burst` are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Sustained requests per second.
    pub per_second: NonZeroU32,
    /// Requests that may come at once after a quiet period.
    pub burst: NonZeroU32,
}

impl Rate {
    /// `per_second` and `burst` (`None` when either is 0).
    pub fn new(per_second: u32, burst: u32) -> Option<Rate> {
        Some(Rate {
            per_second: NonZeroU32::new(per_second)?,
            burst: NonZeroU32::new(burst)?,
        })
    }

    fn quota(self) -> Quota {
        Quota::per_second(self.per_second).allow_burst(self.burst)
    }
}

/// Default per caller (API key or session): 100 requests/s, bursts of 200.
pub const DEFAULT_PER_CALLER: (u32, u32) = (100, 200);
/// Default per client IP (anonymous or failed credentials): 20 requests/s, bursts of 50.
pub const DEFAULT_PER_IP: (u32, u32) = (20, 50);

/// The rate limit configuration.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// `false`: no limits at all (a private deployment, or a benchmark: say so in its report).
    pub enabled: bool,
    /// Each authenticated caller's bucket.
    pub per_caller: Rate,
    /// Each client IP's bucket (requests without a verified credential).
    pub per_ip: Rate,
    /// API key ids with no limit (a trusted integrator, the benchmark's key).
    pub exempt_keys: Vec<String>,
    /// Peers whose `X-Forwarded-For` is believed (a reverse proxy's addresses). Empty: the
    /// header is ignored and the peer address is the client.
    pub trusted_proxies: Vec<IpNet>,
    /// How often idle buckets are dropped.
    pub prune_every: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            enabled: true,
            per_caller: Rate::new(DEFAULT_PER_CALLER.0, DEFAULT_PER_CALLER.1).unwrap_or(Rate::MIN),
            per_ip: Rate::new(DEFAULT_PER_IP.0, DEFAULT_PER_IP.1).unwrap_or(Rate::MIN),
            exempt_keys: Vec::new(),
            trusted_proxies: Vec::new(),
            prune_every: Duration::from_secs(60),
        }
    }
}

impl Rate {
    /// One request per second, no burst.
    pub const MIN: Rate = Rate {
        per_second: NonZeroU32::MIN,
        burst: NonZeroU32::MIN,
    };
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// What a bucket is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BucketKey {
    /// `key:<key_id>` or `session:<wallet>`.
    Caller(String),
    /// The client's IP (IPv6: its /64).
    Ip(IpAddr),
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not counted (limits off, an exempt key, `/health`, `/ready`).
    Exempt,
    /// Allowed; `remaining` tokens are left of `limit`.
    Allowed {
        /// The bucket's burst.
        limit: u32,
        /// Tokens left.
        remaining: u32,
    },
    /// Refused; the next token comes in `retry_after`.
    Limited {
        /// The bucket's burst.
        limit: u32,
        /// When to retry.
        retry_after: Duration,
    },
}

/// The buckets.
pub struct Limiter {
    config: RateLimits,
    callers: Keyed<String>,
    ips: Keyed<IpAddr>,
    clock: DefaultClock,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("config", &self.config)
            .field("callers", &self.callers.len())
            .field("ips", &self.ips.len())
            .finish()
    }
}

impl Limiter {
    /// Empty buckets for `config`.
    pub fn new(config: RateLimits) -> Limiter {
        Limiter {
            callers: RateLimiter::dashmap(config.per_caller.quota())
                .with_middleware::<StateInformationMiddleware>(),
            ips: RateLimiter::dashmap(config.per_ip.quota())
                .with_middleware::<StateInformationMiddleware>(),
            clock: DefaultClock::default(),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RateLimits {
        &self.config
    }

    /// Takes one token from `key`'s bucket.
    pub fn check(&self, key: &BucketKey) -> Verdict {
        if !self.config.enabled {
            return Verdict::Exempt;
        }
        let (outcome, rate) = match key {
            BucketKey::Caller(c) => (self.callers.check_key(c), self.config.per_caller),
            BucketKey::Ip(ip) => (self.ips.check_key(ip), self.config.per_ip),
        };
        let limit = rate.burst.get();
        match outcome {
            Ok(snapshot) => Verdict::Allowed {
                limit,
                remaining: snapshot.remaining_burst_capacity(),
            },
            Err(not_until) => Verdict::Limited {
                limit,
                retry_after: not_until.wait_time_from(self.clock.now()),
            },
        }
    }

    /// The bucket of a verified caller (`None`: exempt).
    pub fn caller_key(&self, who: &Principal) -> Option<BucketKey> {
        match who {
            Principal::Key { key_id, .. } => {
                if self.config.exempt_keys.iter().any(|k| k == key_id) {
                    None
                } else {
                    Some(BucketKey::Caller(format!("key:{key_id}")))
                }
            }
            Principal::Session { address } => Some(BucketKey::Caller(format!("session:{address}"))),
        }
    }

    /// The client's IP: the peer, or (only when the peer is a trusted proxy) the rightmost
    /// `X-Forwarded-For` entry that is not a trusted proxy. IPv6 is cut to its /64 (one
    /// subscriber's network), so rotating through one's own /64 gains nothing.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        bucket_ip(client_ip(peer, headers, &self.config.trusted_proxies))
    }

    /// Drops the buckets that have refilled (they equal fresh ones) and frees the room.
    pub fn prune(&self) {
        self.callers.retain_recent();
        self.callers.shrink_to_fit();
        self.ips.retain_recent();
        self.ips.shrink_to_fit();
    }

    /// Buckets held now: (callers, IPs).
    pub fn len(&self) -> (usize, usize) {
        (self.callers.len(), self.ips.len())
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.callers.is_empty() && self.ips.is_empty()
    }
}

/// Prunes `limiter` every `prune_every` until the limiter is dropped elsewhere.
pub fn spawn_pruner(limiter: &Arc<Limiter>) {
    let weak = Arc::downgrade(limiter);
    let every = limiter.config.prune_every.max(Duration::from_secs(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(l) = weak.upgrade() else { return };
            l.prune();
        }
    });
}

fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if trusted.is_empty() || !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    // Every X-Forwarded-For header, in order, each a comma list; walk from the right.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // A malformed entry: nothing left of it can be trusted; the last good hop stands.
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

fn bucket_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Routes never limited (probes from a load balancer or an orchestrator).
const EXEMPT_PATHS: [&str; 2] = ["/health", "/ready"];

/// Middleware: verifies the credential (once, for the handler too), takes a token from the
/// caller's or the IP's bucket, and answers 429 when it is empty.
pub async fn enforce(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    if EXEMPT_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let outcome = crate::auth::authenticate(&parts.headers, &st).await;
    let key = match &outcome {
        AuthOutcome::Verified(who) => st.limiter.caller_key(who),
        _ => {
            let peer = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip())
                .unwrap_or(IpAddr::from([0, 0, 0, 0]));
            Some(BucketKey::Ip(st.limiter.client_ip(peer, &parts.headers)))
        }
    };
    parts.extensions.insert(outcome);
    req = Request::from_parts(parts, body);
    let verdict = match &key {
        Some(k) => st.limiter.check(k),
        None => Verdict::Exempt,
    };
    match verdict {
        Verdict::Exempt => next.run(req).await,
        Verdict::Allowed { limit, remaining } => {
            let mut res = next.run(req).await;
            let h = res.headers_mut();
            h.insert("ratelimit-limit", HeaderValue::from(limit));
            h.insert("ratelimit-remaining", HeaderValue::from(remaining));
            res
        }
        Verdict::Limited { limit, retry_after } => {
            // Whole seconds, rounded up, at least 1 (Retry-After takes no fractions).
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            let secs = secs.max(1);
            let mut res = ApiError::RateLimited {
                retry_after_secs: secs,
                by: match key {
                    Some(BucketKey::Ip(_)) => "client IP",
                    _ => "caller",
                },
            }
            .into_response();
            let h = res.headers_mut();
            h.insert("retry-after", HeaderValue::from(secs));
            h.insert("ratelimit-limit", HeaderValue::from(limit));
            h.insert("ratelimit-remaining", HeaderValue::from(0u32));
            h.insert("ratelimit-reset", HeaderValue::from(secs));
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().filter_map(|n| n.parse().ok()).collect()
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert("x-forwarded-for", v);
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = [10, 0, 0, 1].into();
        let stranger: IpAddr = [203, 0, 113, 9].into();
        let trusted = nets(&["10.0.0.0/8"]);
        let h = xff("198.51.100.7, 10.0.0.5");
        // From the proxy: the rightmost hop that is not a proxy.
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            IpAddr::from([198, 51, 100, 7])
        );
        // From anyone else, or with no trusted proxy configured: the peer.
        assert_eq!(client_ip(stranger, &h, &trusted), stranger);
        assert_eq!(client_ip(proxy, &h, &[]), proxy);
        // A client cannot prepend a fake hop to pass for someone else.
        let h = xff("1.2.3.4, 198.51.100.7");
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            IpAddr::from([198, 51, 100, 7])
        );
        // Garbage stops the walk at the last good hop.
        let h = xff("198.51.100.7, not-an-ip");
        assert_eq!(client_ip(proxy, &h, &trusted), proxy);
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 16]));
        let b: IpAddr = "2001:db8:1:2:bbbb::2"
            .parse()
            .unwrap_or(IpAddr::from([0; 16]));
        assert_eq!(bucket_ip(a), bucket_ip(b));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap_or(IpAddr::from([0; 16]));
        assert_eq!(bucket_ip(mapped), IpAddr::from([192, 0, 2, 1]));
    }

    #[test]
    fn a_bucket_empties_refills_and_is_pruned() {
        let limiter = Limiter::new(RateLimits {
            per_ip: Rate::new(1000, 3).unwrap_or(Rate::MIN),
            ..RateLimits::default()
        });
        let k = BucketKey::Ip([192, 0, 2, 1].into());
        for left in [2, 1, 0] {
            assert_eq!(
                limiter.check(&k),
                Verdict::Allowed {
                    limit: 3,
                    remaining: left
                }
            );
        }
        assert!(matches!(
            limiter.check(&k),
            Verdict::Limited { limit: 3, .. }
        ));
        std::thread::sleep(Duration::from_millis(5));
        assert!(matches!(limiter.check(&k), Verdict::Allowed { .. }));
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(limiter.len(), (0, 1));
        limiter.prune();
        assert!(limiter.is_empty());
    }
}
