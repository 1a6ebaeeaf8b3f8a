//! TON's real blockchain config, as @ton/sandbox ships it, made digestible for tycho-executor.
//!
//! `data/ton-config.boc` is the config-params dictionary of @ton/sandbox 0.41.0's
//! `defaultConfig` (see `data/README.md`). tycho-types cannot parse TON's config param 12
//! (workchain descriptions use the `workchain_v2#a7` tag), so the executor's parsed view gets a
//! substitute param 12 (basechain only, basic format) while contracts keep seeing the raw,
//! unmodified config in c7.
//!
//! One param differs from the shipped file: param 19, the global id. The devnet is its own
//! network, [`DEVNET_GLOBAL_ID`], so a request signed for mainnet (-239) or testnet (-3) is
//! refused by contracts on the devnet (they compare the signed `global_id` with TVM's
//! `GLOBALID`), and one signed for the devnet is worthless on a real network.

use tycho_executor::ParsedConfig;
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder, HashBytes};
use tycho_types::dict::Dict;
use tycho_types::models::{
    BlockchainConfig, BlockchainConfigParams, CatchainConfig, ConfigParam34, ValidatorSet,
    WorkchainDescription, WorkchainFormat, WorkchainFormatBasic,
};

use crate::engine::validators::ValidatorKeys;

use crate::error::{Error, Result};

/// The devnet's network id (config param 19). Neither mainnet's -239 nor testnet's -3.
pub const DEVNET_GLOBAL_ID: i32 = 2026;

/// The raw config-params dictionary (a BOC of its root cell).
pub const TON_CONFIG_BOC: &[u8] = include_bytes!("../../data/ton-config.boc");

/// The chain's config: the raw cells contracts see and the executor's parsed view.
pub struct TonConfig {
    /// The shipped config (config address from param 0 + params) with param 19 set to
    /// [`DEVNET_GLOBAL_ID`].
    pub raw: BlockchainConfig,
    /// The executor's view (param 12 substituted, see the module doc; `raw` is the original).
    pub parsed: ParsedConfig,
    /// Param 19.
    pub global_id: i32,
}

impl std::fmt::Debug for TonConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TonConfig")
            .field("global_id", &self.global_id)
            .finish_non_exhaustive()
    }
}

fn config_err(e: impl std::fmt::Display) -> Error {
    Error::Config {
        reason: e.to_string(),
    }
}

impl TonConfig {
    /// Loads the shipped config; `now` selects the storage prices in force.
    pub fn load(now: u32) -> Result<Self> {
        let root = Boc::decode(TON_CONFIG_BOC).map_err(config_err)?;
        let params = BlockchainConfigParams::from_raw(root);
        let address = params
            .get_raw(0)
            .map_err(config_err)?
            .ok_or_else(|| config_err("param 0 (config address) missing"))?
            .load_u256()
            .map_err(config_err)?;
        let mut raw = BlockchainConfig { address, params };
        // `_ global_id:int32 = ConfigParam 19;`
        let mut param19 = CellBuilder::new();
        param19
            .store_u32(DEVNET_GLOBAL_ID as u32)
            .map_err(config_err)?;
        raw.params
            .set_raw(19, param19.build().map_err(config_err)?)
            .map_err(config_err)?;

        Self::from_raw(raw, now)
    }

    /// The shipped config with the devnet's validator set installed (params 34 and 28, see
    /// [`ValidatorKeys::install`]) valid from `now`: the zero state's config.
    pub fn genesis(now: u32, validators: &ValidatorKeys) -> Result<Self> {
        let mut raw = Self::load(now)?.raw;
        validators.install(&mut raw.params, now)?;
        Self::from_raw(raw, now)
    }

    /// The executor's view of a raw config (a masterchain state's `McStateExtra.config`).
    pub fn from_raw(raw: BlockchainConfig, now: u32) -> Result<Self> {
        let global_id = raw
            .params
            .get_raw(19)
            .map_err(config_err)?
            .ok_or_else(|| config_err("param 19 (global id) missing"))?
            .load_u32()
            .map_err(config_err)? as i32;
        let mut substituted = raw.clone();
        substituted
            .params
            .set_workchains(&basechain_only())
            .map_err(config_err)?;
        let mut parsed = ParsedConfig::parse(substituted, now).map_err(config_err)?;
        parsed.raw = raw.clone();
        Ok(Self {
            raw,
            parsed,
            global_id,
        })
    }

    /// The current validator set (param 34).
    pub fn validator_set(&self) -> Result<ValidatorSet> {
        self.raw
            .params
            .get::<ConfigParam34>()
            .map_err(config_err)?
            .ok_or_else(|| config_err("param 34 (current validators) missing"))
    }

    /// The catchain config (param 28).
    pub fn catchain_config(&self) -> Result<CatchainConfig> {
        self.raw.params.get_catchain_config().map_err(config_err)
    }

    /// The raw config-params dictionary root.
    pub fn params_root(&self) -> Cell {
        // A non-empty dictionary always has a root; the shipped one has ~40 params.
        self.raw.params.as_dict().root().clone().unwrap_or_default()
    }
}

fn basechain_only() -> Dict<i32, WorkchainDescription> {
    let mut workchains = Dict::new();
    let desc = WorkchainDescription {
        enabled_since: 0,
        actual_min_split: 0,
        min_split: 0,
        max_split: 0,
        active: true,
        accept_msgs: true,
        zerostate_root_hash: HashBytes::ZERO,
        zerostate_file_hash: HashBytes::ZERO,
        version: 0,
        format: WorkchainFormat::Basic(WorkchainFormatBasic {
            vm_version: 0,
            vm_mode: 0,
        }),
    };
    // Setting one key in an empty dictionary cannot fail for a valid value.
    if let Err(e) = workchains.set(0, desc) {
        tracing::error!(error = %e, "building the substitute workchain dictionary");
    }
    workchains
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_parses_with_the_param_12_substitute() {
        let config = TonConfig::load(1_800_000_000).unwrap();
        assert_eq!(config.global_id, DEVNET_GLOBAL_ID);
        // The executor's unpacked config (what GLOBALID reads) and the raw param agree.
        let raw19 = config
            .raw
            .params
            .get_raw(19)
            .unwrap()
            .unwrap()
            .load_u32()
            .unwrap();
        assert_eq!(raw19 as i32, DEVNET_GLOBAL_ID);
        let parsed19 = config
            .parsed
            .raw
            .params
            .get_raw(19)
            .unwrap()
            .unwrap()
            .load_u32();
        assert_eq!(parsed19.unwrap() as i32, DEVNET_GLOBAL_ID);
        assert!(config.parsed.workchains.contains_key(&0));
        // Contracts see the raw param 12, not the substitute.
        assert_eq!(
            config.parsed.raw.params.get_raw_cell(12).unwrap(),
            config.raw.params.get_raw_cell(12).unwrap()
        );
    }
}
