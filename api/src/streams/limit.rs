//! [`Limiter`]: at most N open streams per caller; a [`Permit`] gives its place back on drop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Open streams per caller id.
#[derive(Debug)]
pub struct Limiter {
    max: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream of a caller (released on drop).
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<Limiter>,
    caller: String,
}

impl Limiter {
    /// At most `max` streams per caller.
    pub fn new(max: usize) -> Limiter {
        Limiter {
            max,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A permit for `caller`, or `None` when it has `max` streams open.
    pub fn acquire(self: &Arc<Self>, caller: &str) -> Option<Permit> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(caller.to_owned()).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Permit {
            limiter: self.clone(),
            caller: caller.to_owned(),
        })
    }

    /// Streams open in all.
    pub fn total(&self) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.values().sum()
    }

    /// Streams `caller` has open.
    pub fn open(&self, caller: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(caller).copied().unwrap_or(0)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.limiter.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.caller) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Limiter;

    #[test]
    fn permits_are_capped_per_caller_and_given_back_on_drop() {
        let l = Arc::new(Limiter::new(2));
        let a = l.acquire("a").expect("1st");
        let _b = l.acquire("a").expect("2nd");
        assert!(l.acquire("a").is_none());
        let _other = l.acquire("b").expect("another caller");
        drop(a);
        assert_eq!(l.open("a"), 1);
        assert!(l.acquire("a").is_some());
    }
}
