//! A vault's persistent data: signer key, replay state, rolling limit, params and stats, and
//! the deployer's config that fixes its address.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tycho_types::cell::{Cell, CellBuilder, CellFamily, CellSlice, Store};
use tycho_types::dict::Dict;
use tycho_types::models::StdAddr;

use crate::codec;
use crate::error::{Error, Result};
use crate::json;
use crate::layout::Layout;
use crate::vault::AdminAction;

/// The default `admin_delay`: 48 hours between proposing and applying a power-raising change.
pub const DEFAULT_ADMIN_DELAY: u32 = 172_800;

/// TL-B (a pending admin change; the 8-bit prefix is its [`AdminAction`]):
/// `admin_change_limits$00000011 window_len:uint32 window_limit:Coins = AdminChange;`
/// `admin_change_signer$00000100 signer_key:uint256 = AdminChange;`
/// `admin_change_admin$00000101 new_admin:MsgAddressInt = AdminChange;`
///
/// JSON: `{"kind": "<constructor>", ...fields}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AdminChange {
    /// New rolling-limit settings (a shorter window or a higher limit).
    AdminChangeLimits {
        /// Window length, seconds.
        #[serde(with = "json::dec")]
        window_len: u32,
        /// Window limit.
        #[serde(with = "json::dec")]
        window_limit: u128,
    },
    /// A new signer key.
    AdminChangeSigner {
        /// The new signer's ed25519 public key.
        #[serde(with = "json::bytes")]
        signer_key: [u8; 32],
    },
    /// A new admin.
    AdminChangeAdmin {
        /// The new admin.
        #[serde(with = "json::addr")]
        new_admin: StdAddr,
    },
}

impl AdminChange {
    /// The `ev_admin_change` action this change applies as (also its 8-bit prefix).
    pub fn action(&self) -> AdminAction {
        match self {
            AdminChange::AdminChangeLimits { .. } => AdminAction::SetLimits,
            AdminChange::AdminChangeSigner { .. } => AdminAction::SetSigner,
            AdminChange::AdminChangeAdmin { .. } => AdminAction::SetAdmin,
        }
    }

    pub(crate) fn store(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u8(self.action() as u8)?;
        match self {
            AdminChange::AdminChangeLimits {
                window_len,
                window_limit,
            } => {
                b.store_u32(*window_len)?;
                codec::store_coins(b, *window_limit)
            }
            AdminChange::AdminChangeSigner { signer_key } => codec::store_u256(b, signer_key),
            AdminChange::AdminChangeAdmin { new_admin } => codec::store_addr(b, new_admin),
        }
    }

    pub(crate) fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        let prefix = s.load_u8()?;
        Ok(match AdminAction::try_from(prefix) {
            Ok(AdminAction::SetLimits) => AdminChange::AdminChangeLimits {
                window_len: s.load_u32()?,
                window_limit: codec::load_coins(s)?,
            },
            Ok(AdminAction::SetSigner) => AdminChange::AdminChangeSigner {
                signer_key: codec::load_u256(s)?,
            },
            Ok(AdminAction::SetAdmin) => AdminChange::AdminChangeAdmin {
                new_admin: codec::load_addr(s)?,
            },
            _ => {
                return Err(Error::InvalidValue {
                    field: "change",
                    value: prefix.into(),
                });
            }
        })
    }
}

/// TL-B: `vault_pending_change$_ query_id:uint64 apply_after:uint32 change:AdminChange
/// = VaultPendingChange;`
///
/// The admin change waiting for its delay (at most one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultPendingChange {
    /// The proposal's query id (carried by its proposed / applied / cancelled events).
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// `vault_apply_change` is accepted from this time on (proposal time + admin_delay).
    #[serde(with = "json::dec")]
    pub apply_after: u32,
    /// What it changes.
    pub change: AdminChange,
}

impl Layout for VaultPendingChange {
    const NAME: &'static str = "vault_pending_change";
    const OPCODE: Option<u32> = None;

    fn store(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        b.store_u32(self.apply_after)?;
        self.change.store(b)
    }

    fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            apply_after: s.load_u32()?,
            change: AdminChange::load(s)?,
        })
    }
}

/// TL-B: `vault_params$_ admin:MsgAddressInt jetton_master:MsgAddress jetton_wallet:MsgAddress
/// vault_id:uint32 admin_delay:uint32 pending:(Maybe ^VaultPendingChange) = VaultParams;`
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
    /// Seconds a power-raising admin change waits between proposal and apply.
    #[serde(with = "json::dec")]
    pub admin_delay: u32,
    /// The admin change waiting for its delay, if any.
    pub pending: Option<VaultPendingChange>,
}

impl Layout for VaultParams {
    const NAME: &'static str = "vault_params";
    const OPCODE: Option<u32> = None;

    fn store(&self, b: &mut CellBuilder) -> Result<()> {
        codec::store_addr(b, &self.admin)?;
        codec::store_opt_addr(b, self.jetton_master.as_ref())?;
        codec::store_opt_addr(b, self.jetton_wallet.as_ref())?;
        b.store_u32(self.vault_id)?;
        b.store_u32(self.admin_delay)?;
        let pending = self.pending.as_ref().map(Layout::build).transpose()?;
        codec::store_maybe_ref(b, pending.as_ref())
    }

    fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            admin: codec::load_addr(s)?,
            jetton_master: codec::load_opt_addr(s)?,
            jetton_wallet: codec::load_opt_addr(s)?,
            vault_id: s.load_u32()?,
            admin_delay: s.load_u32()?,
            pending: codec::load_maybe_ref(s)?
                .map(|c| VaultPendingChange::parse(&c))
                .transpose()?,
        })
    }
}

/// TL-B: `vault_recovery$_ started_at:uint32 amount:Coins = VaultRecovery;`
///
/// A jetton recovery in flight: when it started and the `A` it asks the own wallet to prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultRecovery {
    /// When `jetton_recover` asked the vault's own wallet.
    #[serde(with = "json::dec")]
    pub started_at: u32,
    /// `A` = jetton_balance then + the claimed extra.
    #[serde(with = "json::dec")]
    pub amount: u128,
}

/// TL-B: `vault_stats$_ funded:Coins paid:Coins bounced:Coins jetton_balance:Coins
/// recovered:Coins recovery_nonce:uint64 recovery:(Maybe VaultRecovery) = VaultStats;`
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
    /// Jetton vault: jettons booked by jetton recoveries.
    #[serde(with = "json::dec")]
    pub recovered: u128,
    /// The last recovery's nonce (`2^63 | n`; 0 before the first).
    #[serde(with = "json::dec")]
    pub recovery_nonce: u64,
    /// The recovery in flight (its nonce is `recovery_nonce`), if any.
    pub recovery: Option<VaultRecovery>,
}

impl Layout for VaultStats {
    const NAME: &'static str = "vault_stats";
    const OPCODE: Option<u32> = None;

    fn store(&self, b: &mut CellBuilder) -> Result<()> {
        codec::store_coins(b, self.funded)?;
        codec::store_coins(b, self.paid)?;
        codec::store_coins(b, self.bounced)?;
        codec::store_coins(b, self.jetton_balance)?;
        codec::store_coins(b, self.recovered)?;
        b.store_u64(self.recovery_nonce)?;
        b.store_bit(self.recovery.is_some())?;
        if let Some(r) = &self.recovery {
            b.store_u32(r.started_at)?;
            codec::store_coins(b, r.amount)?;
        }
        Ok(())
    }

    fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            funded: codec::load_coins(s)?,
            paid: codec::load_coins(s)?,
            bounced: codec::load_coins(s)?,
            jetton_balance: codec::load_coins(s)?,
            recovered: codec::load_coins(s)?,
            recovery_nonce: s.load_u64()?,
            recovery: if s.load_bit()? {
                Some(VaultRecovery {
                    started_at: s.load_u32()?,
                    amount: codec::load_coins(s)?,
                })
            } else {
                None
            },
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
    /// Seconds a power-raising admin change waits ([`DEFAULT_ADMIN_DELAY`] = 48 h; 0 disables
    /// the protection).
    #[serde(with = "json::dec")]
    pub admin_delay: u32,
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
    /// The rolling window's use at `now` (unix seconds), exactly as the vault computes it
    /// (`limits.tolk`: roll the window to contain `now`, then
    /// `ceil(prev_spent * (window_len - elapsed) / window_len) + cur_spent`). A `now` before
    /// `window_start` counts as `window_start`; a zero `window_len` uses `cur_spent` alone.
    pub fn window_used(&self, now: u32) -> u128 {
        let len = u64::from(self.window_len);
        let mut elapsed = u64::from(now.saturating_sub(self.window_start));
        let (mut prev, mut cur) = (self.prev_spent, self.cur_spent);
        if len == 0 {
            return cur;
        }
        if elapsed >= len {
            prev = if elapsed < 2 * len { cur } else { 0 };
            cur = 0;
            elapsed %= len;
        }
        let remaining = u128::from(len - elapsed);
        let len = u128::from(len);
        // prev < 2^120 and remaining <= 2^32: the product may pass u128. Then split
        // prev = q * len + r: ceil(prev * rem / len) = q * rem + ceil(r * rem / len).
        let weighted = match prev.checked_mul(remaining) {
            Some(p) => p.div_ceil(len),
            None => (prev / len) * remaining + ((prev % len) * remaining).div_ceil(len),
        };
        weighted.saturating_add(cur)
    }

    /// What the window still allows at `now`: `window_limit - used`, at least 0.
    pub fn window_available(&self, now: u32) -> u128 {
        self.window_limit.saturating_sub(self.window_used(now))
    }

    /// The initial data: not frozen, last_clean 0, empty query sets, window_start 0, nothing
    /// spent, zero stats and no recovery, jetton_wallet addr_none, no pending admin change.
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
                admin_delay: config.admin_delay,
                pending: None,
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

    /// The vault's `limits.tolk` on paper: window 100 s, limit 1,000, started at 1,000.
    #[test]
    fn window_use_follows_the_contracts_sliding_estimate() {
        let mut s = VaultStorage::initial(VaultConfig {
            signer_key: [3; 32],
            timeout: 3600,
            window_len: 100,
            window_limit: 1_000,
            admin: addr(1),
            jetton_master: None,
            vault_id: 1,
            admin_delay: 0,
        });
        s.window_start = 1_000;
        s.prev_spent = 300;
        s.cur_spent = 200;
        // Inside the window: ceil(300 * (100 - 30) / 100) + 200 = 210 + 200.
        assert_eq!(s.window_used(1_030), 410);
        assert_eq!(s.window_available(1_030), 590);
        // Rounding up: ceil(300 * 67 / 100) = ceil(201) = 201; ceil(300 * 1 / 100) = 3.
        assert_eq!(s.window_used(1_033), 401);
        assert_eq!(s.window_used(1_099), 203);
        // Next window: cur becomes prev: ceil(200 * (100 - 20) / 100) = 160.
        assert_eq!(s.window_used(1_120), 160);
        // Two windows later nothing counts.
        assert_eq!(s.window_used(1_250), 0);
        assert_eq!(s.window_available(1_250), 1_000);
        // A time before the window's start counts as its start: 300 + 200.
        assert_eq!(s.window_used(900), 500);
        // Over the limit: nothing available, never negative.
        s.cur_spent = 5_000;
        assert_eq!(s.window_available(1_030), 0);
        // Amounts near 2^120 do not overflow and still round up.
        s.prev_spent = (1u128 << 120) - 1;
        s.cur_spent = 0;
        s.window_len = u32::MAX;
        s.window_start = 0;
        let used = s.window_used(1);
        let exact = ((1u128 << 120) - 1) / u128::from(u32::MAX) * u128::from(u32::MAX - 1);
        assert!(used >= exact && used < (1u128 << 120), "{used}");
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
            admin_delay: DEFAULT_ADMIN_DELAY,
        });
        assert_eq!(s.params.jetton_wallet, None);
        s.queries.set(5, ()).unwrap();
        s.queries.set(u64::MAX, ()).unwrap();
        s.old_queries.set(1, ()).unwrap();
        s.params.pending = Some(VaultPendingChange {
            query_id: 4,
            apply_after: 1_800_172_800,
            change: AdminChange::AdminChangeSigner {
                signer_key: [9; 32],
            },
        });
        s.stats.recovery_nonce = (1 << 63) | 2;
        s.stats.recovery = Some(VaultRecovery {
            started_at: 1_800_000_000,
            amount: 77,
        });
        let parsed = VaultStorage::parse(&s.build().unwrap()).unwrap();
        assert_eq!(parsed, s);
        let json = serde_json::to_value(&parsed).unwrap();
        assert_eq!(
            json["queries"],
            serde_json::json!(["5", "18446744073709551615"])
        );
        assert_eq!(
            json["params"]["pending"]["change"]["kind"],
            "admin_change_signer"
        );
        assert_eq!(serde_json::from_value::<VaultStorage>(json).unwrap(), s);
    }

    #[test]
    fn admin_change_prefix_is_the_action_and_unknown_ones_are_errors() {
        for change in [
            AdminChange::AdminChangeLimits {
                window_len: 1,
                window_limit: 2,
            },
            AdminChange::AdminChangeSigner {
                signer_key: [1; 32],
            },
            AdminChange::AdminChangeAdmin { new_admin: addr(3) },
        ] {
            let p = VaultPendingChange {
                query_id: 1,
                apply_after: 2,
                change: change.clone(),
            };
            let cell = p.build().unwrap();
            let mut s = codec::open(cell.as_ref()).unwrap();
            s.skip_first(96, 0).unwrap();
            assert_eq!(s.load_u8().unwrap(), change.action() as u8);
            assert_eq!(VaultPendingChange::parse(&cell).unwrap(), p);
        }
        let bad = codec::build_with(|b| {
            b.store_u64(1)?;
            b.store_u32(2)?;
            Ok(b.store_u8(1)?)
        })
        .unwrap();
        assert_eq!(
            VaultPendingChange::parse(&bad),
            Err(Error::InvalidValue {
                field: "change",
                value: 1
            })
        );
    }
}
