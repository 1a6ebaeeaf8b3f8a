//! TonConnect's `sendTransaction` request, as the dApp passes it to the wallet
//! (TonConnect spec, requests-responses.md: `valid_until`, `network`, `from`, `messages[]` with
//! `address`, `amount`, `stateInit`, `payload`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use tycho_types::boc::Boc;
use utoipa::ToSchema;

use crate::escrow::Funding;

/// How long a `sendTransaction` request stays signable (the wallet refuses it after).
pub const VALID_FOR_SECS: u64 = 300;

/// A TonConnect `sendTransaction` request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SendTransaction {
    /// Unix seconds after which the wallet must not sign it.
    #[schema(example = 1_796_083_500)]
    pub valid_until: u64,
    /// The network's global id as a string (`-239` mainnet, `-3` testnet, `2026` the devnet).
    #[schema(example = "2026")]
    pub network: String,
    /// The wallet that must sign (raw form).
    #[schema(example = "0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8")]
    pub from: String,
    /// The messages, in order.
    pub messages: Vec<TonConnectMessage>,
}

/// One message of a `sendTransaction` request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TonConnectMessage {
    /// The destination, user-friendly: non-bounceable when the message deploys (carries a
    /// `stateInit`), bounceable otherwise; testnet flag on testnet and the devnet.
    #[schema(example = "0QCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqPvC")]
    pub address: String,
    /// nanoTON attached, as a decimal string.
    #[schema(example = "12610000000")]
    pub amount: String,
    /// The StateInit to deploy with (standard base64 BOC).
    #[serde(rename = "stateInit", skip_serializing_if = "Option::is_none", default)]
    pub state_init: Option<String>,
    /// The body (standard base64 BOC).
    #[schema(example = "te6ccgEBAQEAFAAAIxfmj88AAAAAaw4OAFAukO3QCA==")]
    pub payload: String,
}

impl TonConnectMessage {
    /// The message of `f` (testnet flag per `testnet`).
    pub fn of(f: &Funding, testnet: bool) -> TonConnectMessage {
        TonConnectMessage {
            address: labelmint_abi::address::friendly(&f.to, f.bounce, testnet),
            amount: f.amount.to_string(),
            state_init: f
                .state_init
                .as_ref()
                .map(|c| STANDARD.encode(Boc::encode(c))),
            payload: STANDARD.encode(Boc::encode(&f.body)),
        }
    }
}

impl SendTransaction {
    /// A request for `from` (raw) to send `messages` on `global_id`, valid for
    /// [`VALID_FOR_SECS`] from `now`.
    pub fn new(
        now: u64,
        global_id: i32,
        from: String,
        messages: &[Funding],
        testnet: bool,
    ) -> SendTransaction {
        SendTransaction {
            valid_until: now + VALID_FOR_SECS,
            network: global_id.to_string(),
            from,
            messages: messages
                .iter()
                .map(|f| TonConnectMessage::of(f, testnet))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labelmint_abi::Layout as _;
    use labelmint_abi::escrow::EscrowDeposit;

    /// The OpenAPI examples are real: the payload is an `escrow_deposit` of 12.5 TON, the
    /// address a devnet non-bounceable form.
    #[test]
    fn examples_are_real() {
        let body = EscrowDeposit {
            query_id: 1_796_083_200,
            amount: 12_500_000_000,
        }
        .build()
        .expect("body");
        assert_eq!(
            STANDARD.encode(Boc::encode(&body)),
            "te6ccgEBAQEAFAAAIxfmj88AAAAAaw4OAFAukO3QCA=="
        );
        let addr = labelmint_abi::address::parse_raw(
            "0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8",
        )
        .expect("raw");
        assert_eq!(
            labelmint_abi::address::friendly(&addr, false, true),
            "0QCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqPvC"
        );
    }
}
