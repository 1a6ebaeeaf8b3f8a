//! Wallet v4r2: the faucet's contract, and a small signer for its external messages.
//!
//! The code BOC is the one @ton/ton 16.3.0 ships (`data/wallet-v4r2.code.boc`, see
//! `data/README.md`); `data/wallet-v4r2.vector.json` holds an address @ton/ton derived, which
//! the tests check against [`WalletV4R2::address`].

use std::sync::LazyLock;

use ed25519_dalek::{Signer, SigningKey};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder, CellFamily, Store};
use tycho_types::models::{StateInit, StdAddr};
use tycho_types::num::Tokens;

use crate::error::{Error, Result};

/// The wallet v4r2 code BOC.
pub const WALLET_V4R2_CODE_BOC: &[u8] = include_bytes!("../data/wallet-v4r2.code.boc");

/// The default wallet id of v4r2 on the basechain (698983191 + workchain).
pub const DEFAULT_WALLET_ID: u32 = 698_983_191;

static CODE: LazyLock<Option<Cell>> = LazyLock::new(|| Boc::decode(WALLET_V4R2_CODE_BOC).ok());

/// The wallet v4r2 code cell.
pub fn wallet_v4r2_code() -> Result<Cell> {
    CODE.clone().ok_or_else(|| Error::BadBoc {
        reason: "embedded wallet v4r2 code".into(),
    })
}

/// One outgoing internal message of a wallet transfer.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// Recipient.
    pub to: StdAddr,
    /// nanoTON attached.
    pub amount: u128,
    /// Bounce flag.
    pub bounce: bool,
    /// Message body (empty cell if none).
    pub body: Option<Cell>,
    /// StateInit to deploy the recipient.
    pub init: Option<StateInit>,
    /// Send mode (3 = pay fees separately, ignore errors).
    pub mode: u8,
}

/// A wallet v4r2 identified by its key pair and wallet id, on the basechain.
#[derive(Debug, Clone)]
pub struct WalletV4R2 {
    key: SigningKey,
    wallet_id: u32,
}

impl WalletV4R2 {
    /// A wallet from a 32-byte ed25519 seed (the secret key).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(&seed),
            wallet_id: DEFAULT_WALLET_ID,
        }
    }

    /// The ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The initial data: `seqno:0 wallet_id public_key plugins:{}`.
    pub fn initial_data(&self) -> Result<Cell> {
        let mut b = CellBuilder::new();
        b.store_u32(0)?;
        b.store_u32(self.wallet_id)?;
        b.store_raw(&self.public_key(), 256)?;
        b.store_bit_zero()?;
        Ok(b.build()?)
    }

    /// The StateInit (code + initial data).
    pub fn state_init(&self) -> Result<StateInit> {
        Ok(labelmint_abi::state_init::state_init(
            wallet_v4r2_code()?,
            self.initial_data()?,
        ))
    }

    /// The basechain address.
    pub fn address(&self) -> Result<StdAddr> {
        Ok(labelmint_abi::state_init::address_of(&self.state_init()?)?)
    }

    /// A signed external message carrying up to four transfers, for `seqno`, valid until
    /// `valid_until`. Attach the StateInit when the wallet is not deployed yet.
    pub fn external_transfer(
        &self,
        seqno: u32,
        valid_until: u32,
        transfers: &[Transfer],
        with_init: bool,
    ) -> Result<Cell> {
        let msgs = transfers
            .iter()
            .map(|t| Ok((t.mode, internal_message(t)?)))
            .collect::<Result<Vec<_>>>()?;
        let body = v4r2_signed_body(&self.key, self.wallet_id, seqno, valid_until, &msgs)?;

        let init = if with_init {
            Some(self.state_init()?)
        } else {
            None
        };
        external_message(&self.address()?, init.as_ref(), body)
    }
}

/// The signed body of a v4r2 external (what a wallet app signs): signature, then wallet id,
/// valid_until, seqno, op 0 and a (mode, ^message) pair per message. `msgs` are internal
/// messages as built cells (a TonConnect request's messages carry StateInits and payloads).
pub fn v4r2_signed_body(
    key: &SigningKey,
    wallet_id: u32,
    seqno: u32,
    valid_until: u32,
    msgs: &[(u8, Cell)],
) -> Result<Cell> {
    let mut unsigned = CellBuilder::new();
    unsigned.store_u32(wallet_id)?;
    unsigned.store_u32(valid_until)?;
    unsigned.store_u32(seqno)?;
    unsigned.store_u8(0)?; // op 0: simple send
    for (mode, m) in msgs {
        unsigned.store_u8(*mode)?;
        unsigned.store_reference(m.clone())?;
    }
    let unsigned = unsigned.build()?;
    let signature = key.sign(unsigned.repr_hash().as_slice()).to_bytes();
    let mut body = CellBuilder::new();
    body.store_raw(&signature, 512)?;
    body.store_slice(unsigned.as_slice()?)?;
    Ok(body.build()?)
}

fn store_init_and_body(b: &mut CellBuilder, init: Option<&StateInit>, body: Cell) -> Result<()> {
    match init {
        Some(init) => {
            b.store_bit_one()?; // Maybe: present
            b.store_bit_one()?; // Either: in a reference
            b.store_reference(CellBuilder::build_from(init)?)?;
        }
        None => b.store_bit_zero()?,
    }
    b.store_bit_one()?; // body in a reference
    b.store_reference(body)?;
    Ok(())
}

/// An internal message as a wallet writes it: src addr_none, no fees, lt/time 0 (the action
/// phase fills them in).
pub fn internal_message(t: &Transfer) -> Result<Cell> {
    let ctx = Cell::empty_context();
    let mut b = CellBuilder::new();
    b.store_bit_zero()?; // int_msg_info$0
    b.store_bit_one()?; // ihr_disabled
    b.store_bit(t.bounce)?;
    b.store_bit_zero()?; // bounced
    b.store_zeros(2)?; // src: addr_none
    t.to.store_into(&mut b, ctx)?;
    let amount = Tokens::new(t.amount);
    amount.store_into(&mut b, ctx)?;
    b.store_bit_zero()?; // no extra currencies
    Tokens::ZERO.store_into(&mut b, ctx)?; // ihr_fee / extra flags
    Tokens::ZERO.store_into(&mut b, ctx)?; // fwd_fee
    b.store_u64(0)?;
    b.store_u32(0)?;
    let body = t.body.clone().unwrap_or_else(Cell::empty_cell);
    store_init_and_body(&mut b, t.init.as_ref(), body)?;
    Ok(b.build()?)
}

/// An external-in message to `to` with an optional StateInit and a body.
pub fn external_message(to: &StdAddr, init: Option<&StateInit>, body: Cell) -> Result<Cell> {
    let ctx = Cell::empty_context();
    let mut b = CellBuilder::new();
    b.store_small_uint(0b10, 2)?; // ext_in_msg_info$10
    b.store_zeros(2)?; // src: addr_none
    to.store_into(&mut b, ctx)?;
    Tokens::ZERO.store_into(&mut b, ctx)?; // import_fee
    store_init_and_body(&mut b, init, body)?;
    Ok(b.build()?)
}

/// Reads `seqno` from a v4r2 wallet's data cell.
pub fn seqno_of(data: &Cell) -> Result<u32> {
    Ok(data.as_slice()?.load_u32()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_matches_ton_ton() {
        let vector: serde_json::Value =
            serde_json::from_str(include_str!("../data/wallet-v4r2.vector.json")).unwrap();
        let key: [u8; 32] = hex::decode(vector["publicKey"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        // Only the public key enters the address: rebuild the data with it.
        let mut b = CellBuilder::new();
        b.store_u32(0).unwrap();
        b.store_u32(DEFAULT_WALLET_ID).unwrap();
        b.store_raw(&key, 256).unwrap();
        b.store_bit_zero().unwrap();
        let init =
            labelmint_abi::state_init::state_init(wallet_v4r2_code().unwrap(), b.build().unwrap());
        let addr = labelmint_abi::state_init::address_of(&init).unwrap();
        assert_eq!(addr.to_string(), vector["address"].as_str().unwrap());
        assert_eq!(
            wallet_v4r2_code().unwrap().repr_hash().to_string(),
            vector["codeHash"].as_str().unwrap()
        );
    }
}
