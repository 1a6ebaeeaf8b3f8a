//! [`StreamKey`]: an event's place in commit order, and the `id:` of SSE events and the
//! `event_id` of webhooks.

use std::fmt;

/// An indexed event's place: `(mc_seqno, lt, tx_hash, msg_idx)`. The indexer commits one
/// masterchain block per transaction, in order, so these keys only grow in commit order; the
/// pair `(tx_hash, msg_idx)` is the event's primary key, so each key names one event.
///
/// Text form (`Display`, [`StreamKey::parse`]): `<mc_seqno>-<lt>-<tx_hash hex>-<msg_idx>`,
/// e.g. `1-1020-0101…01-0`. Clients treat it as opaque.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamKey {
    /// The masterchain block that committed the transaction.
    pub mc_seqno: i64,
    /// The transaction's logical time.
    pub lt: i64,
    /// The transaction's hash.
    pub tx_hash: [u8; 32],
    /// The out message's index.
    pub msg_idx: i32,
}

impl StreamKey {
    /// Before every event.
    pub const ZERO: StreamKey = StreamKey {
        mc_seqno: -1,
        lt: -1,
        tx_hash: [0; 32],
        msg_idx: -1,
    };

    /// From a row's columns (`None` when the hash is not 32 bytes: not an indexer row).
    pub fn from_row(mc_seqno: i64, lt: i64, tx_hash: &[u8], msg_idx: i32) -> Option<StreamKey> {
        Some(StreamKey {
            mc_seqno,
            lt,
            tx_hash: tx_hash.try_into().ok()?,
            msg_idx,
        })
    }

    /// Parses the text form (`None`: not an id this API made).
    pub fn parse(s: &str) -> Option<StreamKey> {
        if s.len() > 128 {
            return None;
        }
        let mut it = s.split('-');
        let mc_seqno = it.next()?.parse::<i64>().ok()?;
        let lt = it.next()?.parse::<i64>().ok()?;
        let hash = it.next()?;
        let msg_idx = it.next()?.parse::<i32>().ok()?;
        if it.next().is_some() || hash.len() != 64 {
            return None;
        }
        let mut tx_hash = [0u8; 32];
        hex::decode_to_slice(hash, &mut tx_hash).ok()?;
        Some(StreamKey {
            mc_seqno,
            lt,
            tx_hash,
            msg_idx,
        })
    }
}

impl fmt::Display for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{}-{}",
            self.mc_seqno,
            self.lt,
            hex::encode(self.tx_hash),
            self.msg_idx
        )
    }
}

#[cfg(test)]
mod tests {
    use super::StreamKey;

    #[test]
    fn text_form_round_trips_and_orders_like_commit_order() {
        let a = StreamKey {
            mc_seqno: 7,
            lt: 1_020,
            tx_hash: [0xab; 32],
            msg_idx: 1,
        };
        assert_eq!(StreamKey::parse(&a.to_string()), Some(a.clone()));
        let later_block = StreamKey {
            mc_seqno: 8,
            lt: 5,
            ..a.clone()
        };
        assert!(later_block > a && a > StreamKey::ZERO);
        for bad in [
            "",
            "1-2-3-4",
            "1-2-zz-0",
            &format!("1-2-{}-0-9", "00".repeat(32)),
            &format!("x-2-{}-0", "00".repeat(32)),
            &"9".repeat(200),
        ] {
            assert_eq!(StreamKey::parse(bad), None, "{bad}");
        }
    }
}
