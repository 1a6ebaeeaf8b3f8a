//! Chains built with tycho-types for the proof checks' unit tests: a validator set, a
//! masterchain zero state with its config, key and ordinary masterchain blocks, signatures,
//! and Merkle proofs in the shapes a TON liteserver sends.

use std::collections::HashSet;
use std::num::NonZeroU16;

use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder, HashBytes, Lazy};
use tycho_types::dict::{AugDict, Dict};
use tycho_types::merkle::{FilterAction, MerkleFilter, MerkleProof, MerkleUpdate};
use tycho_types::models::{
    Account, AccountState, Block, BlockExtra, BlockId, BlockInfo, BlockRef, BlockchainConfig,
    CurrencyCollection, DepthBalanceInfo, IntAddr, McBlockExtra, McStateExtra, OptionalAccount,
    ShardAccount, ShardAccounts, ShardIdent, ShardStateUnsplit, StdAddr, StorageInfo,
    ValidatorDescription, ValidatorInfo, ValidatorSet, ValueFlow,
};

use super::block_link::{BlockLinkData, SignatureSetData};
use super::signatures::{
    mc_validator_subset, node_id_short, signing_payload, validator_set_hash_short,
};

/// Validators with their signing keys.
pub(crate) struct Validators {
    pub(crate) keys: Vec<SigningKey>,
    pub(crate) list: Vec<ValidatorDescription>,
}

impl Validators {
    pub(crate) fn new(weights: &[u64]) -> Self {
        Self::seeded(weights, 0)
    }

    pub(crate) fn seeded(weights: &[u64], seed: u8) -> Self {
        let mut keys = Vec::new();
        let mut list = Vec::new();
        let mut prev = 0;
        for (i, w) in weights.iter().enumerate() {
            let mut secret = [seed.wrapping_add(1); 32];
            secret[0] = u8::try_from(i).unwrap_or(0);
            let k = SigningKey::from_bytes(&secret);
            list.push(ValidatorDescription {
                public_key: HashBytes(k.verifying_key().to_bytes()),
                weight: *w,
                adnl_addr: None,
                mc_seqno_since: 0,
                prev_total_weight: prev,
            });
            prev += w;
            keys.push(k);
        }
        Self { keys, list }
    }

    pub(crate) fn sign(&self, i: usize, root: &[u8; 32], file: &[u8; 32]) -> ([u8; 32], [u8; 64]) {
        (
            node_id_short(&self.list[i].public_key.0),
            self.keys[i].sign(&signing_payload(root, file)).to_bytes(),
        )
    }

    pub(crate) fn config(&self) -> BlockchainConfig {
        let total: u64 = self.list.iter().map(|v| v.weight).sum();
        let vset = ValidatorSet {
            utime_since: 0,
            utime_until: u32::MAX,
            main: NonZeroU16::new(u16::try_from(self.list.len()).unwrap_or(1))
                .unwrap_or(NonZeroU16::MIN),
            total_weight: total,
            list: self.list.clone(),
        };
        let mut c = BlockchainConfig::new_empty(HashBytes([0x55; 32]));
        c.set::<tycho_types::models::ConfigParam34>(&vset)
            .expect("param 34");
        c.set::<tycho_types::models::ConfigParam28>(&no_shuffle())
            .expect("param 28");
        c
    }
}

fn no_shuffle() -> tycho_types::models::CatchainConfig {
    tycho_types::models::CatchainConfig {
        isolate_mc_validators: false,
        shuffle_mc_validators: false,
        mc_catchain_lifetime: 250,
        shard_catchain_lifetime: 250,
        shard_validators_lifetime: 1000,
        shard_validators_num: 7,
    }
}

fn id_of(seqno: u32, root: &Cell) -> BlockId {
    let boc = Boc::encode(root);
    BlockId {
        shard: ShardIdent::MASTERCHAIN,
        seqno,
        root_hash: *root.repr_hash(),
        file_hash: HashBytes(Sha256::digest(&boc).into()),
    }
}

/// An account cell (what getAccountState answers) with a balance.
pub(crate) fn account(addr: &[u8; 32], balance: u128, lt: u64) -> Cell {
    let acc = OptionalAccount(Some(Account {
        address: IntAddr::Std(StdAddr::new(0, HashBytes(*addr))),
        storage_stat: StorageInfo::default(),
        last_trans_lt: lt,
        balance: CurrencyCollection::new(balance),
        state: AccountState::Uninit,
    }));
    CellBuilder::build_from(&acc).expect("account")
}

/// A masterchain state with `accounts` ((address, account cell, last tx lt)) and `config`.
pub(crate) fn mc_state(
    seqno: u32,
    config: &BlockchainConfig,
    accounts: &[([u8; 32], Cell, u64)],
) -> Cell {
    let mut dict = ShardAccounts::new();
    for (addr, cell, lt) in accounts {
        let sa = ShardAccount {
            account: Lazy::<OptionalAccount>::from_raw(cell.clone()).expect("lazy"),
            last_trans_hash: HashBytes([0x77; 32]),
            last_trans_lt: *lt,
        };
        dict.set(HashBytes(*addr), DepthBalanceInfo::default(), sa)
            .expect("set account");
    }
    let extra = McStateExtra {
        shards: Default::default(),
        config: config.clone(),
        validator_info: ValidatorInfo {
            validator_list_hash_short: 0,
            catchain_seqno: 0,
            nx_cc_updated: false,
        },
        prev_blocks: AugDict::new(),
        after_key_block: false,
        last_key_block: None,
        block_create_stats: None,
        global_balance: CurrencyCollection::ZERO,
    };
    let state = ShardStateUnsplit {
        shard_ident: ShardIdent::MASTERCHAIN,
        seqno,
        accounts: Lazy::new(&dict).expect("accounts"),
        custom: Some(Lazy::new(&extra).expect("extra")),
        ..Default::default()
    };
    CellBuilder::build_from(&state).expect("state")
}

/// The zero state of a chain validated by `v`, and its id.
pub(crate) fn zero_state(v: &Validators) -> (Cell, BlockId) {
    let s = mc_state(0, &v.config(), &[]);
    let id = id_of(0, &s);
    (s, id)
}

/// A masterchain block `seqno` over states `old -> new`; a key block carries `key_config`.
pub(crate) fn mc_block(
    seqno: u32,
    key_config: Option<&BlockchainConfig>,
    cc_seqno: u32,
    hash_short: u32,
    old: &Cell,
    new: &Cell,
) -> (Cell, BlockId) {
    let mut info = BlockInfo {
        shard: ShardIdent::MASTERCHAIN,
        seqno,
        key_block: key_config.is_some(),
        gen_catchain_seqno: cc_seqno,
        gen_validator_list_hash_short: hash_short,
        gen_utime: 1_700_000_000 + seqno,
        ..Default::default()
    };
    info.set_prev_ref_single(&BlockRef {
        end_lt: 0,
        seqno: seqno.saturating_sub(1),
        root_hash: HashBytes([1; 32]),
        file_hash: HashBytes([2; 32]),
    });
    let update = MerkleUpdate::create(old.as_ref(), new.as_ref(), HashSet::<HashBytes>::new())
        .build()
        .expect("update");
    let mc_extra = McBlockExtra {
        shards: Default::default(),
        fees: AugDict::new(),
        prev_block_signatures: Dict::new(),
        recover_create_msg: None,
        mint_msg: None,
        config: key_config.cloned(),
    };
    let extra = BlockExtra {
        custom: Some(Lazy::new(&mc_extra).expect("mc extra")),
        ..Default::default()
    };
    let block = Block {
        global_id: 42,
        info: Lazy::new(&info).expect("info"),
        value_flow: Lazy::new(&ValueFlow {
            from_prev_block: CurrencyCollection::ZERO,
            to_next_block: CurrencyCollection::ZERO,
            imported: CurrencyCollection::ZERO,
            exported: CurrencyCollection::ZERO,
            fees_collected: CurrencyCollection::ZERO,
            burned: CurrencyCollection::ZERO,
            fees_imported: CurrencyCollection::ZERO,
            recovered: CurrencyCollection::ZERO,
            created: CurrencyCollection::ZERO,
            minted: CurrencyCollection::ZERO,
        })
        .expect("value flow"),
        state_update: Lazy::new(&update).expect("update"),
        out_msg_queue_updates: None,
        extra: Lazy::new(&extra).expect("extra"),
    };
    let root = CellBuilder::build_from(&block).expect("block");
    let id = id_of(seqno, &root);
    (root, id)
}

/// Prunes the subtrees whose hashes are listed, keeps everything else.
struct Prune(HashSet<HashBytes>);

impl MerkleFilter for Prune {
    fn check(&self, cell: &HashBytes) -> FilterAction {
        if self.0.contains(cell) {
            FilterAction::Skip
        } else {
            FilterAction::Include
        }
    }
}

fn proof_boc(root: &Cell, prune: HashSet<HashBytes>) -> Vec<u8> {
    let proof: MerkleProof = MerkleProof::create(root.as_ref(), Prune(prune))
        .build()
        .expect("proof");
    Boc::encode(CellBuilder::build_from(&proof).expect("proof cell"))
}

fn refs_of(cell: &Cell, which: &[u8]) -> Vec<HashBytes> {
    which
        .iter()
        .filter_map(|i| cell.reference(*i).map(|c| *c.repr_hash()))
        .collect()
}

/// A header proof of a block: the info and the state update's hashes; value flow, both sides
/// of the state update and the extra pruned.
pub(crate) fn header_proof(block: &Cell) -> Vec<u8> {
    let upd = block.reference_cloned(2).expect("update");
    let mut prune: HashSet<HashBytes> = refs_of(block, &[1, 3]).into_iter().collect();
    prune.extend(refs_of(&upd, &[0, 1]));
    proof_boc(block, prune)
}

/// A key block's config proof: header plus `McBlockExtra` with its config.
pub(crate) fn key_block_proof(block: &Cell) -> Vec<u8> {
    let upd = block.reference_cloned(2).expect("update");
    let extra = block.reference_cloned(3).expect("extra");
    let mut prune: HashSet<HashBytes> = refs_of(block, &[1]).into_iter().collect();
    prune.extend(refs_of(&upd, &[0, 1]));
    prune.extend(refs_of(&extra, &[0, 1, 2]));
    proof_boc(block, prune)
}

/// A zero state's config proof: the accounts and the message queue pruned.
pub(crate) fn state_proof(state: &Cell) -> Vec<u8> {
    proof_boc(state, refs_of(state, &[0, 1]).into_iter().collect())
}

/// A forward link `from -> to` signed by validators `signers` of `v`.
pub(crate) fn link(
    v: &Validators,
    signers: &[usize],
    from: (&Cell, BlockId),
    to: (&Cell, BlockId),
    to_key: bool,
) -> BlockLinkData {
    let config_proof = if from.1.seqno == 0 {
        state_proof(from.0)
    } else {
        key_block_proof(from.0)
    };
    let hash_short = hash_short(v);
    BlockLinkData::Forward {
        to_key_block: to_key,
        from: from.1,
        to: to.1,
        dest_proof: header_proof(to.0),
        config_proof,
        signatures: SignatureSetData {
            validator_set_hash: hash_short,
            catchain_seqno: 0,
            signatures: signers
                .iter()
                .map(|&i| v.sign(i, &to.1.root_hash.0, &to.1.file_hash.0))
                .collect(),
        },
    }
}

/// The short hash of `v`'s masterchain subset at catchain seqno 0.
pub(crate) fn hash_short(v: &Validators) -> u32 {
    let cfg = v.config();
    let vset = cfg.get_current_validator_set().expect("param 34");
    let subset = mc_validator_subset(&vset, &no_shuffle(), 0).expect("subset");
    validator_set_hash_short(&subset, 0)
}
