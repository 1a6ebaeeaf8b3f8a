//! The running chain shared by the block producer and the liteserver connections.

use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use crate::engine::{Chain, ProducedBlocks};
use crate::error::Result;

/// The chain behind a lock, and a channel announcing each new masterchain seqno.
#[derive(Debug)]
pub struct Node {
    chain: Mutex<Chain>,
    head: watch::Sender<u32>,
}

/// Wall-clock unix time in seconds.
pub fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

impl Node {
    /// Wraps a chain.
    pub fn new(chain: Chain) -> Self {
        let seqno = chain.master.blocks.len().saturating_sub(1) as u32;
        let (head, _) = watch::channel(seqno);
        Self {
            chain: Mutex::new(chain),
            head,
        }
    }

    /// Locks the chain. A panic while the lock was held leaves the chain as it was at the
    /// panic; the devnet keeps serving it.
    pub fn lock(&self) -> MutexGuard<'_, Chain> {
        self.chain.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Chain time: the wall clock, never before the last block.
    pub fn now(&self) -> u32 {
        let last = self.lock().last_master().map(|b| b.gen_utime).unwrap_or(0);
        unix_now().max(last)
    }

    /// Produces the next pair of blocks and announces the new masterchain seqno.
    pub fn produce_block(&self) -> Result<ProducedBlocks> {
        let now = self.now();
        let produced = self.lock().produce_block(now)?;
        self.head.send_replace(produced.master.seqno);
        Ok(produced)
    }

    /// Subscribes to new masterchain seqnos.
    pub fn subscribe(&self) -> watch::Receiver<u32> {
        self.head.subscribe()
    }
}
