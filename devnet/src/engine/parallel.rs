//! Running independent work on the execution threads, results in input order.
//!
//! Block production hands this one chain of transactions per account (see `produce`): the
//! accounts of a block are independent except through messages between them, which the
//! producer orders itself, so any split of the accounts over the threads gives the same
//! transactions. The sendMessage dry runs of a batch of externals are independent too.

use std::sync::Mutex;

/// Items a thread takes from the shared queue at a time (one lock per chunk).
const CHUNK: usize = 16;

/// `items.map(f)` on up to `threads` scoped threads; the results are in the order of `items`.
/// One thread (or fewer than two items) runs `f` on the caller's thread. A panic in `f` is
/// resumed on the caller's thread.
pub(super) fn map<T, R, F>(threads: usize, items: Vec<T>, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync,
{
    let workers = threads.min(items.len());
    if workers <= 1 {
        return items.into_iter().map(f).collect();
    }
    let total = items.len();
    let queue = Mutex::new(items.into_iter().enumerate());
    let (queue, f) = (&queue, &f);
    let mut done: Vec<(usize, R)> = Vec::with_capacity(total);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    loop {
                        let chunk: Vec<(usize, T)> = queue
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .by_ref()
                            .take(CHUNK)
                            .collect();
                        if chunk.is_empty() {
                            return out;
                        }
                        out.extend(chunk.into_iter().map(|(i, item)| (i, f(item))));
                    }
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(out) => done.extend(out),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_back_in_input_order_on_any_number_of_threads() {
        let items: Vec<u64> = (0..1_000).collect();
        let expected: Vec<u64> = items.iter().map(|i| i * i + 1).collect();
        for threads in [1, 2, 3, 8] {
            assert_eq!(super::map(threads, items.clone(), |i| i * i + 1), expected);
        }
        assert!(super::map(2, Vec::<u8>::new(), |i| i).is_empty());
    }
}
