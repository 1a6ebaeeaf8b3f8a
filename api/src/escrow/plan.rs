//! The escrow of one set of parameters, and the messages a wallet sends to deploy and fund it.
//! The TON amounts are those the contracts' README documents ("sender attaches" table).

use labelmint_abi::Layout as _;
use labelmint_abi::escrow::{
    EscrowDeploy, EscrowDeposit, EscrowParams, EscrowRefund, JETTON_DEPOSIT_FORWARD_TON,
};
use labelmint_abi::jetton::{ForwardPayload, JettonTransfer};
use labelmint_abi::state_init::{address_of, escrow_state_init, state_init_cell};
use tycho_types::cell::{Cell, CellFamily as _};
use tycho_types::models::StdAddr;

/// TON attached to the escrow's deploy: it stays as the escrow's gas float (0.1 TON; storage
/// costs ~0.032 TON a year; a jetton escrow spends 0.02 of it on TEP-89).
pub const ESCROW_FLOAT_TON: u128 = 100_000_000;
/// TON attached on top of a TON deposit for the escrow's gas (0.01 TON); what is not spent
/// joins the float.
pub const TON_DEPOSIT_GAS: u128 = 10_000_000;
/// TON for a jetton transfer itself, on top of [`JETTON_DEPOSIT_FORWARD_TON`] (0.1 TON; the
/// excess comes back to the client).
pub const JETTON_TRANSFER_TON: u128 = 100_000_000;
/// TON attached to a TON escrow's `escrow_refund` (0.04; returned to the client).
pub const TON_REFUND_TON: u128 = 40_000_000;
/// TON attached to a jetton escrow's `escrow_refund` (0.09; returned to the client).
pub const JETTON_REFUND_TON: u128 = 90_000_000;

/// One message a wallet sends: TonConnect's `sendTransaction` message, before encoding.
#[derive(Debug, Clone)]
pub struct Funding {
    /// The destination (the escrow, or the client's jetton wallet).
    pub to: StdAddr,
    /// nanoTON attached.
    pub amount: u128,
    /// The body.
    pub body: Cell,
    /// The StateInit to deploy with (only to the escrow).
    pub state_init: Option<Cell>,
    /// Whether the message is bounceable (a message deploying with a StateInit is not: a
    /// failure then leaves the TON in the new account instead of bouncing it off a missing one).
    pub bounce: bool,
}

/// An escrow: its parameters, StateInit and address.
#[derive(Debug, Clone)]
pub struct EscrowPlan {
    /// Its parameters.
    pub params: EscrowParams,
    /// Its StateInit as a cell.
    pub init_cell: Cell,
    /// Its address (workchain 0).
    pub address: StdAddr,
}

impl EscrowPlan {
    /// The escrow of `params` (its fee must be within the contract's cap).
    pub fn new(params: EscrowParams) -> labelmint_abi::Result<EscrowPlan> {
        params.check_fee()?;
        let init = escrow_state_init(&params)?;
        let address = address_of(&init)?;
        let init_cell = state_init_cell(&init)?;
        Ok(EscrowPlan {
            params,
            init_cell,
            address,
        })
    }

    /// Whether it holds a jetton (else TON).
    pub fn is_jetton(&self) -> bool {
        self.params.jetton_master.is_some()
    }

    /// `escrow_deploy` with the StateInit and the float (non-bounceable). A jetton escrow then
    /// asks its master for its own jetton wallet (TEP-89).
    pub fn deploy(&self, query_id: u64) -> labelmint_abi::Result<Funding> {
        Ok(Funding {
            to: self.address.clone(),
            amount: ESCROW_FLOAT_TON,
            body: EscrowDeploy { query_id }.build()?,
            state_init: Some(self.init_cell.clone()),
            bounce: false,
        })
    }

    /// `escrow_deposit` of `amount` nanoTON (TON escrow). `deploy`: the message also carries
    /// the StateInit and the deploy's float (one message deploys and funds, non-bounceable);
    /// else it is bounceable and attaches `amount` + the deposit gas.
    pub fn ton_deposit(
        &self,
        query_id: u64,
        amount: u128,
        deploy: bool,
    ) -> labelmint_abi::Result<Funding> {
        let init = deploy.then_some(&self.init_cell);
        ton_deposit(&self.address, query_id, amount, init)
    }

    /// A jetton `transfer` of `amount` base units from `client_wallet` (the client's jetton
    /// wallet of the escrow's jetton) to the escrow, forwarding
    /// [`JETTON_DEPOSIT_FORWARD_TON`] so the escrow is notified; the excess returns to the
    /// client.
    pub fn jetton_deposit(
        &self,
        query_id: u64,
        amount: u128,
        client_wallet: StdAddr,
    ) -> labelmint_abi::Result<Funding> {
        jetton_deposit(
            &self.address,
            &self.params.client,
            query_id,
            amount,
            client_wallet,
        )
    }

    /// The client's `escrow_refund` (see [`refund`]).
    pub fn refund(&self, query_id: u64) -> labelmint_abi::Result<Funding> {
        refund(&self.address, self.is_jetton(), query_id)
    }
}

/// The client's `escrow_refund` to `escrow` (accepted once the escrow is closed or its
/// deadline has passed; the unreleased remainder and the unspent TON go back to the client;
/// earlier it is refused and, bounceable, the TON comes back).
pub fn refund(escrow: &StdAddr, jetton: bool, query_id: u64) -> labelmint_abi::Result<Funding> {
    Ok(Funding {
        to: escrow.clone(),
        amount: if jetton {
            JETTON_REFUND_TON
        } else {
            TON_REFUND_TON
        },
        body: EscrowRefund { query_id }.build()?,
        state_init: None,
        bounce: true,
    })
}

/// `escrow_deposit` of `amount` nanoTON to the TON escrow `escrow`. With `init` (the escrow's
/// StateInit) the message also deploys it: it carries the deploy's float too and goes
/// non-bounceable; without, it is bounceable and attaches `amount` + the deposit gas.
pub fn ton_deposit(
    escrow: &StdAddr,
    query_id: u64,
    amount: u128,
    init: Option<&Cell>,
) -> labelmint_abi::Result<Funding> {
    let extra = if init.is_some() {
        TON_DEPOSIT_GAS + ESCROW_FLOAT_TON
    } else {
        TON_DEPOSIT_GAS
    };
    Ok(Funding {
        to: escrow.clone(),
        amount: amount.saturating_add(extra),
        body: EscrowDeposit { query_id, amount }.build()?,
        state_init: init.cloned(),
        bounce: init.is_none(),
    })
}

/// A jetton `transfer` of `amount` base units from `client_wallet` (the client's jetton
/// wallet) to `escrow`, forwarding [`JETTON_DEPOSIT_FORWARD_TON`] so the escrow is notified;
/// the excess returns to `client`.
pub fn jetton_deposit(
    escrow: &StdAddr,
    client: &StdAddr,
    query_id: u64,
    amount: u128,
    client_wallet: StdAddr,
) -> labelmint_abi::Result<Funding> {
    let body = JettonTransfer {
        query_id,
        amount,
        destination: Some(escrow.clone()),
        response_destination: Some(client.clone()),
        custom_payload: None,
        forward_ton_amount: JETTON_DEPOSIT_FORWARD_TON,
        forward_payload: ForwardPayload::Inline(Cell::empty_cell()),
    }
    .build()?;
    Ok(Funding {
        to: client_wallet,
        amount: JETTON_TRANSFER_TON + JETTON_DEPOSIT_FORWARD_TON,
        body,
        state_init: None,
        bounce: true,
    })
}
