//! The payout vault: signed batch requests and their payout items, funding and admin messages,
//! storage and events.
//!
//! Every TON payout carries the text comment `LabelMint #<digits>`, where `<digits>` is the
//! decimal item id ([`payout_comment`]); jetton payouts carry the same comment as the forward
//! payload. Item ids are below 10^17, so the comment plus its opcode is exactly the 256 bits a
//! bounce returns, and a bounced TON payout is identified by parsing it back
//! ([`parse_payout_comment`]).
//!
//! Split into `batch` (payout items, the signed batch request, the external message),
//! `messages` (funding, top-up, admin), `storage` (params, stats, storage, deploy config) and
//! `events`; everything is re-exported here.

mod batch;
mod events;
mod messages;
mod storage;

pub use self::batch::*;
pub use self::events::*;
pub use self::messages::*;
pub use self::storage::*;
