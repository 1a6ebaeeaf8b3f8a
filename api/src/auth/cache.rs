//! Verified credentials, kept briefly so that a busy caller costs one key or session lookup
//! per [`CredentialCache::ttl`], not one per request.
//!
//! Only successes are kept (a wrong secret is looked up every time and is rate limited by IP).
//! Revoking or rotating a key and logging out drop the entry on this instance at once; other
//! replicas notice within the TTL (default [`DEFAULT_TTL`]), which is the price of the cache.
//! A session entry never outlives the session's own expiry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::Principal;

/// How long a verified credential is believed without asking the database again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);

/// Entries kept at most; past that the table is emptied (a flood of distinct valid
/// credentials is not a thing a cache needs to survive gracefully).
pub const MAX_ENTRIES: usize = 100_000;

/// What a cached credential is: a key (its id and the secret's hash) or a session (its hash).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CacheKey {
    /// `lmk_<key_id>_<secret>`.
    Key(String, [u8; 32]),
    /// `lms_<secret>`.
    Session([u8; 32]),
}

/// The cache (one short lock per lookup).
#[derive(Debug)]
pub struct CredentialCache {
    ttl: Duration,
    map: Mutex<HashMap<CacheKey, (Principal, Instant)>>,
}

impl CredentialCache {
    /// A cache keeping entries `ttl` (zero: keeps nothing).
    pub fn new(ttl: Duration) -> CredentialCache {
        CredentialCache {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// How long entries are kept.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, (Principal, Instant)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live entry for `key`.
    pub fn get(&self, key: &CacheKey) -> Option<Principal> {
        if self.ttl.is_zero() {
            return None;
        }
        let now = Instant::now();
        let mut map = self.lock();
        match map.get(key) {
            Some((p, until)) if *until > now => Some(p.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps `who` for `key` until the TTL or `not_after`, whichever comes first.
    pub fn put(&self, key: CacheKey, who: Principal, not_after: Option<Instant>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut until = Instant::now() + self.ttl;
        if let Some(n) = not_after {
            until = until.min(n);
        }
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (who, until));
    }

    /// Drops every entry of API key `key_id` (rotated or revoked).
    pub fn forget_key(&self, key_id: &str) {
        self.lock()
            .retain(|k, _| !matches!(k, CacheKey::Key(id, _) if id == key_id));
    }

    /// Drops a session (logged out).
    pub fn forget_session(&self, sha256: &[u8; 32]) {
        self.lock().remove(&CacheKey::Session(*sha256));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_live_for_the_ttl_and_are_forgotten_on_demand() {
        let c = CredentialCache::new(Duration::from_millis(30));
        let who = Principal::Session {
            address: "0:ab".into(),
        };
        let k = CacheKey::Session([7; 32]);
        c.put(k.clone(), who.clone(), None);
        assert_eq!(c.get(&k), Some(who.clone()));
        c.forget_session(&[7; 32]);
        assert_eq!(c.get(&k), None);
        c.put(k.clone(), who.clone(), None);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get(&k), None, "expired");
        // A session's own expiry wins over the TTL.
        c.put(k.clone(), who, Some(Instant::now()));
        assert_eq!(c.get(&k), None);
        let off = CredentialCache::new(Duration::ZERO);
        off.put(
            CacheKey::Key("a".into(), [1; 32]),
            Principal::Session {
                address: "x".into(),
            },
            None,
        );
        assert_eq!(off.get(&CacheKey::Key("a".into(), [1; 32])), None);
    }
}
