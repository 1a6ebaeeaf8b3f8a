//! A vault's persistent data: signer key, replay state, rolling limit, params and stats, and
//! the deployer's config that fixes its address.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tycho_types::cell::{Cell, CellBuilder, CellFamily, CellSlice, Store};
use tycho_types::dict::Dict;
use tycho_types::models::StdAddr;

use crate::codec;
use crate::error::Result;
use crate::json;
use crate::layout::Layout;

/// TL-B: `vault_params$_ admin:MsgAddressInt jetton_master:MsgAddress jetton_wallet:MsgAddress
/// vault_id:uint32 = VaultParams;`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultParams {
    /// Freezes, sets limits, rotates the signer; cannot pay anyone.
    #[serde(with = "json::addr")]
    pub admin: StdAddr,
    /// The jetton master; `None` for a TON vault.
    #[serde(with = "json::opt_addr")]
    pub jetton_master: Option<StdAddr>,
    /// The vault's own jetton wallet once learned; `None` before and for TON.
    #[serde(with = "json::opt_addr")]
    pub jetton_wallet: Option<StdAddr>,
    /// Distinguishes vaults with otherwise equal initial data.
    #[serde(with = "json::dec")]
    pub vault_id: u32,
}

impl Layout for VaultParams {
    const NAME: &'static str = "vault_params";
    const OPCODE: Option<u32> = None;

    fn store(&self, b: &mut CellBuilder) -> Result<()> {
        codec::store_addr(b, &self.admin)?;
        codec::store_opt_addr(b, self.jetton_master.as_ref())?;
        codec::store_opt_addr(b, self.jetton_wallet.as_ref())?;
        Ok(b.store_u32(self.vault_id)?)
    }

    fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            admin: codec::load_addr(s)?,
            jetton_master: codec::load_opt_addr(s)?,
            jetton_wallet: codec::load_opt_addr(s)?,
            vault_id: s.load_u32()?,
        })
    }
}

/// TL-B: `vault_stats$_ funded:Coins paid:Coins bounced:Coins jetton_balance:Coins
/// = VaultStats;`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultStats {
    /// Total received by funding.
    #[serde(with = "json::dec")]
    pub funded: u128,
    /// Total paid out.
    #[serde(with = "json::dec")]
    pub paid: u128,
    /// Total of bounced payouts credited back.
    #[serde(with = "json::dec")]
    pub bounced: u128,
    /// Jetton vault: the jettons it believes its wallet holds.
    #[serde(with = "json::dec")]
    pub jetton_balance: u128,
}

impl Layout for VaultStats {
    const NAME: &'static str = "vault_stats";
    const OPCODE: Option<u32> = None;

    fn store(&self, b: &mut CellBuilder) -> Result<()> {
        codec::store_coins(b, self.funded)?;
        codec::store_coins(b, self.paid)?;
        codec::store_coins(b, self.bounced)?;
        codec::store_coins(b, self.jetton_balance)
    }

    fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            funded: codec::load_coins(s)?,
            paid: codec::load_coins(s)?,
            bounced: codec::load_coins(s)?,
            jetton_balance: codec::load_coins(s)?,
        })
    }
}

/// `HashmapE 64 True`: a set of processed query ids.
pub type QuerySet = Dict<u64, ()>;

/// What a deployer chooses for a new vault; everything else in its initial data starts at
/// zero / empty / addr_none. With the code, it fixes the vault's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// The signer's ed25519 public key.
    #[serde(with = "json::bytes")]
    pub signer_key: [u8; 32],
    /// Seconds a batch's `created_at` stays acceptable.
    #[serde(with = "json::dec")]
    pub timeout: u32,
    /// Rolling window length, seconds.
    #[serde(with = "json::dec")]
    pub window_len: u32,
    /// At most this much may leave per window.
    #[serde(with = "json::dec")]
    pub window_limit: u128,
    /// The admin (cold wallet or multisig).
    #[serde(with = "json::addr")]
    pub admin: StdAddr,
    /// The jetton master; `None` for a TON vault.
    #[serde(with = "json::opt_addr")]
    pub jetton_master: Option<StdAddr>,
    /// Distinguishes vaults with otherwise equal config.
    #[serde(with = "json::dec")]
    pub vault_id: u32,
}

/// TL-B: `vault_storage$_ signer_key:uint256 frozen:Bool timeout:uint32 last_clean:uint32
/// queries:(HashmapE 64 True) old_queries:(HashmapE 64 True) window_len:uint32
/// window_limit:Coins window_start:uint32 cur_spent:Coins prev_spent:Coins
/// params:^VaultParams stats:^VaultStats = VaultStorage;`
///
/// JSON: `queries` / `old_queries` are sorted arrays of decimal query ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultStorage {
    /// The signer's ed25519 public key.
    #[serde(with = "json::bytes")]
    pub signer_key: [u8; 32],
    /// Frozen by the admin: no batches.
    pub frozen: bool,
    /// Seconds a batch's `created_at` stays acceptable.
    #[serde(with = "json::dec")]
    pub timeout: u32,
    /// When `queries` last rotated into `old_queries`.
    #[serde(with = "json::dec")]
    pub last_clean: u32,
    /// Query ids processed since `last_clean`.
    #[serde(with = "query_set")]
    pub queries: QuerySet,
    /// Query ids processed in the rotation before.
    #[serde(with = "query_set")]
    pub old_queries: QuerySet,
    /// Rolling window length, seconds.
    #[serde(with = "json::dec")]
    pub window_len: u32,
    /// At most this much may leave per window.
    #[serde(with = "json::dec")]
    pub window_limit: u128,
    /// Start of the current window.
    #[serde(with = "json::dec")]
    pub window_start: u32,
    /// Spent in the current window.
    #[serde(with = "json::dec")]
    pub cur_spent: u128,
    /// Spent in the previous window.
    #[serde(with = "json::dec")]
    pub prev_spent: u128,
    /// Admin, jetton master and wallet, vault id.
    pub params: VaultParams,
    /// Running totals.
    pub stats: VaultStats,
}

impl VaultStorage {
    /// The initial data: not frozen, last_clean 0, empty query sets, window_start 0, nothing
    /// spent, zero stats, jetton_wallet addr_none.
    pub fn initial(config: VaultConfig) -> Self {
        Self {
            signer_key: config.signer_key,
            frozen: false,
            timeout: config.timeout,
            last_clean: 0,
            queries: QuerySet::new(),
            old_queries: QuerySet::new(),
            window_len: config.window_len,
            window_limit: config.window_limit,
            window_start: 0,
            cur_spent: 0,
            prev_spent: 0,
            params: VaultParams {
                admin: config.admin,
                jetton_master: config.jetton_master,
                jetton_wallet: None,
                vault_id: config.vault_id,
            },
            stats: VaultStats::default(),
        }
    }
}

impl Layout for VaultStorage {
    const NAME: &'static str = "vault_storage";
    const OPCODE: Option<u32> = None;

    fn store(&self, b: &mut CellBuilder) -> Result<()> {
        let ctx = Cell::empty_context();
        codec::store_u256(b, &self.signer_key)?;
        b.store_bit(self.frozen)?;
        b.store_u32(self.timeout)?;
        b.store_u32(self.last_clean)?;
        self.queries.store_into(b, ctx)?;
        self.old_queries.store_into(b, ctx)?;
        b.store_u32(self.window_len)?;
        codec::store_coins(b, self.window_limit)?;
        b.store_u32(self.window_start)?;
        codec::store_coins(b, self.cur_spent)?;
        codec::store_coins(b, self.prev_spent)?;
        b.store_reference(self.params.build()?)?;
        Ok(b.store_reference(self.stats.build()?)?)
    }

    fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            signer_key: codec::load_u256(s)?,
            frozen: s.load_bit()?,
            timeout: s.load_u32()?,
            last_clean: s.load_u32()?,
            queries: QuerySet::from_raw(codec::load_maybe_ref(s)?),
            old_queries: QuerySet::from_raw(codec::load_maybe_ref(s)?),
            window_len: s.load_u32()?,
            window_limit: codec::load_coins(s)?,
            window_start: s.load_u32()?,
            cur_spent: codec::load_coins(s)?,
            prev_spent: codec::load_coins(s)?,
            params: VaultParams::parse(s.load_reference()?)?,
            stats: VaultStats::parse(s.load_reference()?)?,
        })
    }
}

/// `HashmapE 64 True` as a sorted JSON array of decimal strings.
mod query_set {
    use super::*;
    use serde::de::Error as _;
    use serde::ser::{Error as _, SerializeSeq};

    pub(super) fn serialize<S: Serializer>(
        set: &QuerySet,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for key in set.keys() {
            let key = key.map_err(S::Error::custom)?;
            seq.serialize_element(&key.to_string())?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<QuerySet, D::Error> {
        let mut set = QuerySet::new();
        for key in Vec::<String>::deserialize(d)? {
            let key: u64 = key
                .parse()
                .map_err(|e| D::Error::custom(format!("query id {key:?}: {e}")))?;
            set.set(key, ()).map_err(D::Error::custom)?;
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tycho_types::cell::HashBytes;

    fn addr(b: u8) -> StdAddr {
        StdAddr::new(0, HashBytes([b; 32]))
    }

    #[test]
    fn storage_round_trips_with_queries() {
        let mut s = VaultStorage::initial(VaultConfig {
            signer_key: [3; 32],
            timeout: 3600,
            window_len: 86_400,
            window_limit: 1_000_000,
            admin: addr(1),
            jetton_master: Some(addr(2)),
            vault_id: 9,
        });
        assert_eq!(s.params.jetton_wallet, None);
        s.queries.set(5, ()).unwrap();
        s.queries.set(u64::MAX, ()).unwrap();
        s.old_queries.set(1, ()).unwrap();
        let parsed = VaultStorage::parse(&s.build().unwrap()).unwrap();
        assert_eq!(parsed, s);
        let json = serde_json::to_value(&parsed).unwrap();
        assert_eq!(
            json["queries"],
            serde_json::json!(["5", "18446744073709551615"])
        );
        assert_eq!(serde_json::from_value::<VaultStorage>(json).unwrap(), s);
    }
}
