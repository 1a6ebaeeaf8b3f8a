//! One transaction with tycho-executor, plus the fixes that make it match TON's emulator.

use tycho_executor::{Executor, ExecutorInspector, ExecutorParams, ParsedConfig, TxError};
use tycho_types::cell::{Cell, Lazy};
use tycho_types::models::{ComputePhase, OwnedMessage, ShardAccount, StdAddr, Transaction, TxInfo};
use tycho_types::num::Tokens;

use crate::error::{Error, Result};

/// A committed transaction and what follows from it.
#[derive(Debug, Clone)]
pub struct Executed {
    /// The transaction cell (after the TON-parity fixes).
    pub transaction: Lazy<Transaction>,
    /// The account's new state (its `last_trans_hash` is the fixed transaction's hash).
    pub new_state: ShardAccount,
    /// Outbound messages, internal and external-out, in creation order.
    pub out_msgs: Vec<Lazy<OwnedMessage>>,
    /// The lowest lt a next transaction of this account may take.
    pub next_lt: u64,
    /// Fees collected.
    pub total_fees: Tokens,
    /// The account's balance after the transaction; `None` if it no longer exists.
    pub balance: Option<tycho_types::models::CurrencyCollection>,
}

/// Why an external message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The compute phase exit code, if the contract ran.
    pub exit_code: Option<i32>,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.exit_code {
            Some(code) => write!(f, "the contract did not accept it (exit code {code})"),
            None => write!(f, "the contract did not accept it (compute phase skipped)"),
        }
    }
}

/// The outcome of running one message.
#[derive(Debug)]
pub enum Outcome {
    /// A transaction was created.
    Committed(Box<Executed>),
    /// An external message was not accepted: no transaction.
    Rejected(Rejection),
}

/// Runs `msg` on `state` at `address` with lt at least `min_lt`.
pub fn execute(
    config: &ParsedConfig,
    params: &ExecutorParams,
    address: &StdAddr,
    is_external: bool,
    msg: Cell,
    state: &ShardAccount,
    min_lt: u64,
) -> Result<Outcome> {
    let mut inspector = ExecutorInspector::default();
    let uncommitted = match Executor::new(params, config)
        .with_min_lt(min_lt)
        .begin_ordinary_ext(address, is_external, msg, state, Some(&mut inspector))
    {
        Ok(tx) => tx,
        Err(TxError::Skipped) => {
            return Ok(Outcome::Rejected(Rejection {
                exit_code: inspector.exit_code,
            }));
        }
        Err(TxError::Fatal(e)) => return Err(Error::executor(format!("{e:#}"))),
    };
    let output = uncommitted
        .commit()
        .map_err(|e| Error::executor(format!("{e:#}")))?;
    let mut new_state = output.new_state;
    let transaction = fix_deploy_flags(output.transaction)?;
    new_state.last_trans_hash = *transaction.repr_hash();
    Ok(Outcome::Committed(Box::new(Executed {
        transaction,
        new_state,
        out_msgs: output.transaction_meta.out_msgs,
        next_lt: output.transaction_meta.next_lt,
        total_fees: output.transaction_meta.total_fees,
        balance: output
            .new_state_meta
            .exists
            .then_some(output.new_state_meta.balance),
    })))
}

/// TON writes `msg_state_used = false` and `account_activated = false` in the compute phase of
/// a deploying transaction where tycho-executor writes `true`; clear them and reserialize.
fn fix_deploy_flags(tx: Lazy<Transaction>) -> Result<Lazy<Transaction>> {
    let mut parsed = tx.load()?;
    let TxInfo::Ordinary(mut info) = parsed.load_info()? else {
        return Ok(tx);
    };
    let ComputePhase::Executed(compute) = &mut info.compute_phase else {
        return Ok(tx);
    };
    if !compute.msg_state_used && !compute.account_activated {
        return Ok(tx);
    }
    compute.msg_state_used = false;
    compute.account_activated = false;
    parsed.info = Lazy::new(&TxInfo::Ordinary(info))?;
    Ok(Lazy::new(&parsed)?)
}
