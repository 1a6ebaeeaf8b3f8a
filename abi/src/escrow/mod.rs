//! The project escrow: incoming messages, signed requests, outgoing legs, storage and events.
//!
//! Every outgoing payment of an escrow carries a [`LegQueryId`] (`(leg << 32) | seqno`), so a
//! bounce tells which counter to restore.
//!
//! Split into `messages` (incoming messages, signed requests, outgoing legs and their query
//! ids), `storage` (routes, params, state) and `events`; everything is re-exported here.

mod events;
mod messages;
mod storage;

pub use self::events::*;
pub use self::messages::*;
pub use self::storage::*;
