//! Persistence: the chain is its blocks. Each masterchain block and the basechain block it
//! registers are appended to `blocks/<seqno>.boc`; the state is rebuilt on open by applying
//! each block's own Merkle state update (starting from the empty cell), exactly as a node
//! replays a shard. Each block file also holds the internal messages still in flight after
//! it, so a block and its queue are written together (one atomic rename): a crash can lose the
//! last block, never deliver a message twice. `chain.json` holds the genesis addresses.
//! Pending externals are a mempool and are not kept.
//!
//! ```text
//! <state dir>/chain.json              genesis addresses, format version
//! <state dir>/blocks/0000000000.boc   roots: [masterchain zero state, basechain zero state]
//! <state dir>/blocks/0000000001.boc   roots: [masterchain block, basechain block,
//!                                             the masterchain block's BlockSignatures,
//!                                             queued msgs...]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tycho_types::boc::Boc;
use tycho_types::boc::de::{BocHeader, Options};
use tycho_types::cell::{Cell, CellFamily, HashBytes};
use tycho_types::models::{Block, BlockSignatures, MsgInfo, ShardStateUnsplit, StdAddr};

use crate::engine::block::zerostate_entry;
use crate::engine::genesis::GenesisAccounts;
use crate::engine::shard::{ShardChain, StoredBlock, TxEntry};
use crate::error::{Error, Result};
use crate::liteapi::convert::multi_root_boc;

/// 2: masterchain states carry McStateExtra and blocks their validator signatures (issue 12).
const FORMAT: u32 = 2;

/// `chain.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainFile {
    format: u32,
    faucet: String,
    jetton_minter: String,
    jetton_admin: String,
}

/// The state folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes via a temporary file and a rename, so a crash leaves the old or the new file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Every root of a BOC, in order.
pub fn decode_roots(bytes: &[u8]) -> Result<Vec<Cell>> {
    let header = BocHeader::decode(bytes, &Options::default()).map_err(Error::bad_boc)?;
    let cells = header
        .finalize(Cell::empty_context())
        .map_err(Error::bad_boc)?;
    header
        .roots()
        .iter()
        .map(|i| cells.get(*i).ok_or_else(|| Error::bad_boc("missing root")))
        .collect()
}

fn parse_addr(s: &str) -> Result<StdAddr> {
    s.parse::<StdAddr>().map_err(|e| Error::Config {
        reason: format!("chain.json address {s}: {e}"),
    })
}

/// What [`Store::load`] recovers.
#[derive(Debug)]
pub struct Loaded {
    /// Genesis addresses.
    pub genesis: GenesisAccounts,
    /// The masterchain.
    pub master: ShardChain,
    /// The basechain.
    pub base: ShardChain,
    /// In-flight internal messages.
    pub queue: BTreeMap<(u64, HashBytes), Cell>,
}

impl Store {
    /// A store in `dir` (created if missing).
    pub fn open(dir: &Path) -> Result<Self> {
        let blocks = dir.join("blocks");
        std::fs::create_dir_all(&blocks).map_err(io(&blocks))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn block_path(&self, seqno: u32) -> PathBuf {
        self.dir.join("blocks").join(format!("{seqno:010}.boc"))
    }

    /// Whether the folder already holds a chain.
    pub fn has_chain(&self) -> bool {
        self.dir.join("chain.json").exists() && self.block_path(0).exists()
    }

    /// Records the genesis addresses.
    pub fn save_genesis(&self, genesis: &GenesisAccounts) -> Result<()> {
        let file = ChainFile {
            format: FORMAT,
            faucet: genesis.faucet.to_string(),
            jetton_minter: genesis.jetton_minter.to_string(),
            jetton_admin: genesis.jetton_admin.to_string(),
        };
        let text = serde_json::to_string_pretty(&file).map_err(|e| Error::Config {
            reason: e.to_string(),
        })?;
        write_atomic(&self.dir.join("chain.json"), text.as_bytes())
    }

    /// Appends a masterchain block, its basechain block and the internal messages in flight
    /// after them (for seqno 0: the two zero states).
    pub fn save_blocks(
        &self,
        master: &StoredBlock,
        shard: &StoredBlock,
        queue: &BTreeMap<(u64, HashBytes), Cell>,
    ) -> Result<()> {
        let mut roots = vec![master.root.clone(), shard.root.clone()];
        if let Some(signatures) = &master.signatures {
            roots.push(tycho_types::cell::CellBuilder::build_from(signatures)?);
        }
        roots.extend(queue.values().cloned());
        write_atomic(&self.block_path(master.id.seqno), &multi_root_boc(&roots))
    }

    /// Replays the stored blocks.
    pub fn load(&self) -> Result<Loaded> {
        let path = self.dir.join("chain.json");
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let file: ChainFile = serde_json::from_str(&text).map_err(|e| Error::Config {
            reason: format!("{}: {e}", path.display()),
        })?;
        if file.format != FORMAT {
            return Err(Error::Config {
                reason: format!(
                    "{}: format {} (expected {FORMAT}; a chain from an older devnet cannot be \
                     continued: remove the state folder)",
                    path.display(),
                    file.format
                ),
            });
        }
        let genesis = GenesisAccounts {
            faucet: parse_addr(&file.faucet)?,
            jetton_minter: parse_addr(&file.jetton_minter)?,
            jetton_admin: parse_addr(&file.jetton_admin)?,
        };
        let mut master = ShardChain::new(tycho_types::models::ShardIdent::MASTERCHAIN);
        let mut base = ShardChain::new(tycho_types::models::ShardIdent::BASECHAIN);
        let mut seqno = 0u32;
        let mut queued: Vec<Cell> = Vec::new();
        loop {
            let path = self.block_path(seqno);
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(io(&path)(e)),
            };
            let roots = decode_roots(&bytes)?;
            let [mc_root, shard_root, rest @ ..] = roots.as_slice() else {
                return Err(Error::bad_boc(format!(
                    "{}: expected at least 2 roots",
                    path.display()
                )));
            };
            let (signatures, rest) = match rest {
                [sigs, rest @ ..] if seqno > 0 => (Some(sigs.parse::<BlockSignatures>()?), rest),
                _ => (None, rest),
            };
            queued = rest.to_vec();
            let (mc_block, shard_block) = if seqno == 0 {
                let utime = |c: &Cell| c.parse::<ShardStateUnsplit>().map(|s| s.gen_utime);
                (
                    zerostate_entry(mc_root.clone(), utime(mc_root)?),
                    zerostate_entry(shard_root.clone(), utime(shard_root)?),
                )
            } else {
                let shard_block = replay(&mut base, shard_root, seqno)
                    .map_err(|e| at(&path, "basechain block", e))?;
                let mut mc_block = replay(&mut master, mc_root, shard_block.id.seqno)
                    .map_err(|e| at(&path, "masterchain block", e))?;
                mc_block.signatures = signatures;
                (mc_block, shard_block)
            };
            base.blocks.push(shard_block);
            master.blocks.push(mc_block);
            seqno += 1;
        }
        for shard in [&mut master, &mut base] {
            if let Some(last) = shard.blocks.last() {
                shard.accounts = last
                    .state
                    .parse::<ShardStateUnsplit>()
                    .and_then(|s| s.load_accounts())
                    .map_err(|e| at(&self.dir, "last state", e.into()))?;
            }
        }
        let mut queue = BTreeMap::new();
        for cell in queued {
            if let MsgInfo::Int(i) = cell.parse::<MsgInfo>()? {
                queue.insert((i.created_lt, *cell.repr_hash()), cell);
            }
        }
        Ok(Loaded {
            genesis,
            master,
            base,
            queue,
        })
    }
}

fn at(path: &Path, what: &str, e: Error) -> Error {
    Error::Config {
        reason: format!("{} ({what}): {e}", path.display()),
    }
}

/// Rebuilds a stored block from its cell: state by its Merkle update, transactions from its
/// AccountBlocks, history index.
fn replay(shard: &mut ShardChain, root: &Cell, link_seqno: u32) -> Result<StoredBlock> {
    let block = root.parse::<Block>()?;
    let info = block.load_info()?;
    let prev_state = match shard.blocks.last() {
        Some(b) => b.state.clone(),
        None => Cell::default(),
    };
    let state = block
        .load_state_update()?
        .apply(&prev_state)
        .map_err(|e| Error::Config {
            reason: format!("state update: {e}"),
        })?;
    let extra = block.load_extra()?;
    let mut transactions = Vec::new();
    for entry in extra.account_blocks.load()?.iter() {
        let (account, _, account_block) = entry?;
        for tx in account_block.transactions.iter() {
            let (lt, _, tx) = tx?;
            let cell = tx.inner().clone();
            transactions.push(TxEntry {
                account,
                lt,
                hash: *cell.repr_hash(),
                cell,
            });
        }
    }
    for tx in &transactions {
        shard
            .history
            .entry(tx.account)
            .or_default()
            .insert(tx.lt, (info.seqno, tx.hash, tx.cell.clone()));
    }
    let boc = Boc::encode(root);
    Ok(StoredBlock {
        id: tycho_types::models::BlockId {
            shard: info.shard,
            seqno: info.seqno,
            root_hash: *root.repr_hash(),
            file_hash: Boc::file_hash(&boc),
        },
        root: root.clone(),
        state,
        gen_utime: info.gen_utime,
        start_lt: info.start_lt,
        end_lt: info.end_lt,
        transactions,
        link_seqno,
        zerostate: false,
        signatures: None,
        key_block: info.key_block,
    })
}
