//! The devnet's validator set: ed25519 keys derived from a public phrase, the config params
//! that publish them (34 `cur_validators`, 28 `catchain_config`), and the signatures every
//! masterchain block gets from them (TON's rules: `labelmint_abi::proof`).
//!
//! Validator `i` of a phrase has the seed `sha256("labelmint-devnet/" + phrase + "/validator/" + i)`
//! ([`crate::config::seed_from_phrase`]); each has weight [`VALIDATOR_WEIGHT`]. The phrase is
//! public: a devnet's signatures prove the chain was not altered after it was served, not that
//! anyone trustworthy made it.

use ed25519_dalek::{Signer, SigningKey};
use labelmint_abi::proof::{mc_validator_subset, node_id_short, signing_payload};
use tycho_types::cell::HashBytes;
use tycho_types::dict::Dict;
use tycho_types::models::{
    BlockSignature, BlockSignatures, BlockchainConfigParams, CatchainConfig, Signature,
    ValidatorBaseInfo, ValidatorDescription, ValidatorSet,
};

use crate::config::seed_from_phrase;
use crate::error::{Error, Result};

/// The phrase the validator keys come from by default.
pub const DEFAULT_VALIDATOR_PHRASE: &str = "labelmint devnet validators";
/// Validators in the default set (more than 2/3 of them must sign: 3 of 4).
pub const DEFAULT_VALIDATOR_COUNT: u16 = 4;
/// Each validator's weight.
pub const VALIDATOR_WEIGHT: u64 = 1_000_000;
/// How long a validator set is declared valid (`utime_until - utime_since`): ten years.
pub const VALIDATOR_SET_LIFETIME: u32 = 10 * 365 * 24 * 3600;

/// The devnet's catchain config (param 28): masterchain sessions of 250 s as on mainnet, no
/// shuffling (the masterchain subset is the set in order).
pub const CATCHAIN_CONFIG: CatchainConfig = CatchainConfig {
    isolate_mc_validators: false,
    shuffle_mc_validators: false,
    mc_catchain_lifetime: 250,
    shard_catchain_lifetime: 250,
    shard_validators_lifetime: 1000,
    shard_validators_num: DEFAULT_VALIDATOR_COUNT as u32,
};

/// The validators' keys.
#[derive(Clone)]
pub struct ValidatorKeys {
    phrase: String,
    keys: Vec<SigningKey>,
}

impl std::fmt::Debug for ValidatorKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorKeys")
            .field("phrase", &self.phrase)
            .field("count", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl Default for ValidatorKeys {
    fn default() -> Self {
        Self::from_phrase(DEFAULT_VALIDATOR_PHRASE, DEFAULT_VALIDATOR_COUNT)
    }
}

/// A validator as `validators.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublishedValidator {
    /// ed25519 public key, hex.
    pub public_key: String,
    /// Short node id (sha256 of the boxed `pub.ed25519` key), hex: what signatures name.
    pub node_id_short: String,
    /// Weight.
    pub weight: u64,
}

impl ValidatorKeys {
    /// `count` validators from `phrase` (at least one).
    pub fn from_phrase(phrase: &str, count: u16) -> Self {
        let keys = (0..count.max(1))
            .map(|i| SigningKey::from_bytes(&seed_from_phrase(&format!("{phrase}/validator/{i}"))))
            .collect();
        Self {
            phrase: phrase.to_owned(),
            keys,
        }
    }

    /// The phrase.
    pub fn phrase(&self) -> &str {
        &self.phrase
    }

    /// The public keys in set order.
    pub fn public_keys(&self) -> Vec<[u8; 32]> {
        self.keys
            .iter()
            .map(|k| k.verifying_key().to_bytes())
            .collect()
    }

    /// What `validators.json` publishes.
    pub fn published(&self) -> Vec<PublishedValidator> {
        self.public_keys()
            .iter()
            .map(|k| PublishedValidator {
                public_key: hex::encode(k),
                node_id_short: hex::encode(node_id_short(k)),
                weight: VALIDATOR_WEIGHT,
            })
            .collect()
    }

    /// The validator set (param 34) valid from `utime_since`; every validator is a
    /// masterchain validator. The ADNL address of each is its short node id.
    pub fn validator_set(&self, utime_since: u32) -> Result<ValidatorSet> {
        let mut total = 0u64;
        let list = self
            .public_keys()
            .iter()
            .map(|k| {
                let d = ValidatorDescription {
                    public_key: HashBytes(*k),
                    weight: VALIDATOR_WEIGHT,
                    adnl_addr: Some(HashBytes(node_id_short(k))),
                    mc_seqno_since: 0,
                    prev_total_weight: total,
                };
                total += VALIDATOR_WEIGHT;
                d
            })
            .collect::<Vec<_>>();
        let main = std::num::NonZeroU16::new(list.len() as u16).ok_or_else(|| Error::Config {
            reason: "empty validator set".into(),
        })?;
        Ok(ValidatorSet {
            utime_since,
            utime_until: utime_since.saturating_add(VALIDATOR_SET_LIFETIME),
            main,
            total_weight: total,
            list,
        })
    }

    /// Writes the set into `params`: param 34 (current set) and 28 (catchain config); the
    /// previous, next and temporary sets of the shipped mainnet config (32, 33, 35, 36, 37)
    /// are removed.
    pub fn install(&self, params: &mut BlockchainConfigParams, utime_since: u32) -> Result<()> {
        let err = |e: tycho_types::error::Error| Error::Config {
            reason: format!("installing the validator set: {e}"),
        };
        let set = self.validator_set(utime_since)?;
        let cell = tycho_types::cell::CellBuilder::build_from(&set).map_err(err)?;
        params.set_raw(34, cell).map_err(err)?;
        let cc = tycho_types::cell::CellBuilder::build_from(CATCHAIN_CONFIG).map_err(err)?;
        params.set_raw(28, cc).map_err(err)?;
        for id in [32u32, 33, 35, 36, 37] {
            params.remove(id).map_err(err)?;
        }
        Ok(())
    }

    /// Signs a masterchain block with every key of `set`'s masterchain subset for `cc_seqno`
    /// that this set of keys holds. `validator_list_hash_short` is the block header's.
    pub fn sign(
        &self,
        set: &ValidatorSet,
        cc_config: &CatchainConfig,
        cc_seqno: u32,
        validator_list_hash_short: u32,
        root_hash: &HashBytes,
        file_hash: &HashBytes,
    ) -> Result<BlockSignatures> {
        let subset = mc_validator_subset(set, cc_config, cc_seqno).map_err(|e| Error::Config {
            reason: e.to_string(),
        })?;
        let payload = signing_payload(&root_hash.0, &file_hash.0);
        let mut signatures = Dict::<u16, BlockSignature>::new();
        let mut count = 0u32;
        let mut weight = 0u64;
        for v in &subset {
            let Some(key) = self
                .keys
                .iter()
                .find(|k| k.verifying_key().to_bytes() == v.public_key.0)
            else {
                continue;
            };
            let sig = key.sign(&payload).to_bytes();
            signatures
                .set(
                    count as u16,
                    BlockSignature {
                        node_id_short: HashBytes(node_id_short(&v.public_key.0)),
                        signature: Signature(sig),
                    },
                )
                .map_err(|e| Error::Config {
                    reason: format!("signature dictionary: {e}"),
                })?;
            count += 1;
            weight += v.weight;
        }
        Ok(BlockSignatures {
            validator_info: ValidatorBaseInfo {
                validator_list_hash_short,
                catchain_seqno: cc_seqno,
            },
            signature_count: count,
            total_weight: weight,
            signatures,
        })
    }
}
