//! Every opcode of `contracts/contracts/scheme.tlb`, once.
//!
//! TEP-74 / TEP-89 messages and USDT's `call_to` / `set_status` keep their own tags; every
//! LabelMint tag is `crc32(constructor_name) & 0x7fffffff`. The tests recompute each LabelMint tag
//! from its name and compare the whole table with the `#tag` constructors of scheme.tlb, so a tag
//! here can neither drift from the scheme nor be missing.

// ---- TEP-74 jetton (standard)
/// `transfer#0f8a7ea5`: owner -> own jetton wallet.
pub const TRANSFER: u32 = 0x0f8a_7ea5;
/// `internal_transfer#178d4519`: wallet -> wallet (or minter -> wallet on mint).
pub const INTERNAL_TRANSFER: u32 = 0x178d_4519;
/// `transfer_notification#7362d09c`: wallet -> its owner after an incoming transfer.
pub const TRANSFER_NOTIFICATION: u32 = 0x7362_d09c;
/// `excesses#d53276db`: leftover TON back to the response destination.
pub const EXCESSES: u32 = 0xd532_76db;
/// `burn#595f07bc`: owner -> own jetton wallet.
pub const BURN: u32 = 0x595f_07bc;
/// `burn_notification#7bdd97de`: wallet -> minter.
pub const BURN_NOTIFICATION: u32 = 0x7bdd_97de;

// ---- TEP-89 wallet discovery (standard)
/// `provide_wallet_address#2c76b973`: anyone -> minter.
pub const PROVIDE_WALLET_ADDRESS: u32 = 0x2c76_b973;
/// `take_wallet_address#d1735400`: minter -> asker.
pub const TAKE_WALLET_ADDRESS: u32 = 0xd173_5400;

// ---- test USD minter
/// `labelmint_mint#3b6a9960`: admin -> minter.
pub const LABELMINT_MINT: u32 = 0x3b6a_9960;
/// `labelmint_change_admin#6009fc83`: admin -> minter.
pub const LABELMINT_CHANGE_ADMIN: u32 = 0x6009_fc83;

// ---- USDT's admin operations (stablecoin-contract's tags, not crc32 of the name)
/// `call_to#235caf52`: admin -> minter (set_status, transfer or burn for one wallet).
pub const CALL_TO: u32 = 0x235c_af52;
/// `set_status#eed236d3`: minter -> wallet (the lock nibble).
pub const SET_STATUS: u32 = 0xeed2_36d3;

// ---- escrow: incoming
/// `escrow_deploy#27dd0fac`.
pub const ESCROW_DEPLOY: u32 = 0x27dd_0fac;
/// `escrow_deposit#17e68fcf`.
pub const ESCROW_DEPOSIT: u32 = 0x17e6_8fcf;
/// `release_request#65e2f320` (the signed request, carried by `escrow_release`).
pub const RELEASE_REQUEST: u32 = 0x65e2_f320;
/// `escrow_release#1c7a11eb`.
pub const ESCROW_RELEASE: u32 = 0x1c7a_11eb;
/// `close_request#734ef89e` (the signed request, carried by `escrow_close`).
pub const CLOSE_REQUEST: u32 = 0x734e_f89e;
/// `escrow_close#409e2dec`.
pub const ESCROW_CLOSE: u32 = 0x409e_2dec;
/// `escrow_refund#6eca230e`.
pub const ESCROW_REFUND: u32 = 0x6eca_230e;

// ---- escrow: outgoing TON legs
/// `vault_fund#2c4547ea`: escrow -> vault (leg 1); also the forward payload of jetton leg 1.
pub const VAULT_FUND: u32 = 0x2c45_47ea;
/// `platform_fee#206f96a6`: escrow -> treasury (leg 2).
pub const PLATFORM_FEE: u32 = 0x206f_96a6;
/// `escrow_refund_payment#64cea0bd`: escrow -> client (leg 3).
pub const ESCROW_REFUND_PAYMENT: u32 = 0x64ce_a0bd;

// ---- jetton recovery (escrow and vault)
/// `jetton_recover#25951450`: anyone -> escrow or vault (book what the own wallet holds beyond the books).
pub const JETTON_RECOVER: u32 = 0x2595_1450;
/// `jetton_recovery#1015e2f5`: the forward-payload marker of a recovery's self-transfer.
pub const JETTON_RECOVERY: u32 = 0x1015_e2f5;

// ---- vault
/// `vault_batch_request#2070e2a8` (the signed request, carried by the external `vault_batch`).
pub const VAULT_BATCH_REQUEST: u32 = 0x2070_e2a8;
/// `vault_top_up#730b0b0e`.
pub const VAULT_TOP_UP: u32 = 0x730b_0b0e;
/// `vault_freeze#011bc462` (admin).
pub const VAULT_FREEZE: u32 = 0x011b_c462;
/// `vault_unfreeze#6c772644` (admin).
pub const VAULT_UNFREEZE: u32 = 0x6c77_2644;
/// `vault_set_limits#3c0a471b` (admin).
pub const VAULT_SET_LIMITS: u32 = 0x3c0a_471b;
/// `vault_set_signer#00a61232` (admin).
pub const VAULT_SET_SIGNER: u32 = 0x00a6_1232;
/// `vault_set_admin#143694f2` (admin).
pub const VAULT_SET_ADMIN: u32 = 0x1436_94f2;

// ---- escrow events
/// `ev_deposit#534cbe30`.
pub const EV_DEPOSIT: u32 = 0x534c_be30;
/// `ev_release#58d02014`.
pub const EV_RELEASE: u32 = 0x58d0_2014;
/// `ev_release_bounced#625750ef`.
pub const EV_RELEASE_BOUNCED: u32 = 0x6257_50ef;
/// `ev_refund#25b164f7`.
pub const EV_REFUND: u32 = 0x25b1_64f7;
/// `ev_refund_bounced#1da6db86`.
pub const EV_REFUND_BOUNCED: u32 = 0x1da6_db86;
/// `ev_closed#7a5a3d4b`.
pub const EV_CLOSED: u32 = 0x7a5a_3d4b;
/// `ev_jetton_wallet_learned#189fe399` (escrow and vault).
pub const EV_JETTON_WALLET_LEARNED: u32 = 0x189f_e399;
/// `ev_jetton_recovered#1bd976cd` (escrow and vault).
pub const EV_JETTON_RECOVERED: u32 = 0x1bd9_76cd;
/// `ev_jetton_recovery_failed#6e05cfbc` (escrow and vault).
pub const EV_JETTON_RECOVERY_FAILED: u32 = 0x6e05_cfbc;

// ---- vault events
/// `ev_vault_funded#3e4def1b`.
pub const EV_VAULT_FUNDED: u32 = 0x3e4d_ef1b;
/// `ev_batch_executed#3b5e76c5`.
pub const EV_BATCH_EXECUTED: u32 = 0x3b5e_76c5;
/// `ev_payout_bounced#7d2aa311`.
pub const EV_PAYOUT_BOUNCED: u32 = 0x7d2a_a311;
/// `ev_admin_change#7c77eb8e`.
pub const EV_ADMIN_CHANGE: u32 = 0x7c77_eb8e;
/// `ev_gas_topped_up#56c78fe8`.
pub const EV_GAS_TOPPED_UP: u32 = 0x56c7_8fe8;

/// Tag of a plain text comment body (`0x00000000` + UTF-8).
pub const TEXT_COMMENT: u32 = 0;
/// Prefix of a bounced message body (`0xffffffff` + the first 256 bits of the original body).
pub const BOUNCED: u32 = 0xffff_ffff;

/// Every constructor tag of scheme.tlb with its TL-B constructor name, in scheme order.
pub const ALL: &[(&str, u32)] = &[
    ("transfer", TRANSFER),
    ("internal_transfer", INTERNAL_TRANSFER),
    ("transfer_notification", TRANSFER_NOTIFICATION),
    ("excesses", EXCESSES),
    ("burn", BURN),
    ("burn_notification", BURN_NOTIFICATION),
    ("provide_wallet_address", PROVIDE_WALLET_ADDRESS),
    ("take_wallet_address", TAKE_WALLET_ADDRESS),
    ("labelmint_mint", LABELMINT_MINT),
    ("labelmint_change_admin", LABELMINT_CHANGE_ADMIN),
    ("call_to", CALL_TO),
    ("set_status", SET_STATUS),
    ("escrow_deploy", ESCROW_DEPLOY),
    ("escrow_deposit", ESCROW_DEPOSIT),
    ("release_request", RELEASE_REQUEST),
    ("escrow_release", ESCROW_RELEASE),
    ("close_request", CLOSE_REQUEST),
    ("escrow_close", ESCROW_CLOSE),
    ("escrow_refund", ESCROW_REFUND),
    ("vault_fund", VAULT_FUND),
    ("platform_fee", PLATFORM_FEE),
    ("escrow_refund_payment", ESCROW_REFUND_PAYMENT),
    ("ev_deposit", EV_DEPOSIT),
    ("ev_release", EV_RELEASE),
    ("ev_release_bounced", EV_RELEASE_BOUNCED),
    ("ev_refund", EV_REFUND),
    ("ev_refund_bounced", EV_REFUND_BOUNCED),
    ("ev_closed", EV_CLOSED),
    ("ev_jetton_wallet_learned", EV_JETTON_WALLET_LEARNED),
    ("jetton_recover", JETTON_RECOVER),
    ("jetton_recovery", JETTON_RECOVERY),
    ("ev_jetton_recovered", EV_JETTON_RECOVERED),
    ("ev_jetton_recovery_failed", EV_JETTON_RECOVERY_FAILED),
    ("vault_batch_request", VAULT_BATCH_REQUEST),
    ("vault_top_up", VAULT_TOP_UP),
    ("vault_freeze", VAULT_FREEZE),
    ("vault_unfreeze", VAULT_UNFREEZE),
    ("vault_set_limits", VAULT_SET_LIMITS),
    ("vault_set_signer", VAULT_SET_SIGNER),
    ("vault_set_admin", VAULT_SET_ADMIN),
    ("ev_vault_funded", EV_VAULT_FUNDED),
    ("ev_batch_executed", EV_BATCH_EXECUTED),
    ("ev_payout_bounced", EV_PAYOUT_BOUNCED),
    ("ev_admin_change", EV_ADMIN_CHANGE),
    ("ev_gas_topped_up", EV_GAS_TOPPED_UP),
];

/// The TL-B constructor name of a tag, if it is one of [`ALL`].
pub fn name_of(opcode: u32) -> Option<&'static str> {
    ALL.iter()
        .find(|(_, op)| *op == opcode)
        .map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const SCHEME: &str = include_str!("../../contracts/contracts/scheme.tlb");

    /// crc32 (IEEE, reflected, as zlib / TL-B tools compute it).
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &byte in data {
            crc ^= byte as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// `name#hex` constructors of scheme.tlb (outside comments).
    fn scheme_tags() -> BTreeMap<String, u32> {
        let mut out = BTreeMap::new();
        for line in SCHEME.lines() {
            let code = line.split("//").next().unwrap_or("");
            for word in code.split_whitespace() {
                if let Some((name, tag)) = word.split_once('#')
                    && !name.is_empty()
                    && let Ok(tag) = u32::from_str_radix(tag, 16)
                {
                    let prev = out.insert(name.to_string(), tag);
                    assert!(
                        prev.is_none() || prev == Some(tag),
                        "{name} has two tags in scheme.tlb"
                    );
                }
            }
        }
        out
    }

    #[test]
    fn table_equals_scheme() {
        let scheme = scheme_tags();
        let ours: BTreeMap<String, u32> = ALL.iter().map(|(n, t)| (n.to_string(), *t)).collect();
        assert_eq!(ours.len(), ALL.len(), "a name appears twice in ALL");
        assert_eq!(ours, scheme);
    }

    #[test]
    fn labelmint_tags_are_crc32_of_names() {
        const STANDARD: &[&str] = &[
            "transfer",
            "internal_transfer",
            "transfer_notification",
            "excesses",
            "burn",
            "burn_notification",
            "provide_wallet_address",
            "take_wallet_address",
            "call_to",
            "set_status",
        ];
        for (name, tag) in ALL {
            if STANDARD.contains(name) {
                continue;
            }
            assert_eq!(
                crc32(name.as_bytes()) & 0x7fff_ffff,
                *tag,
                "{name}: tag is not crc32(name) & 0x7fffffff"
            );
        }
    }

    #[test]
    fn tags_are_unique_except_shared_event() {
        let mut seen = BTreeMap::new();
        for (name, tag) in ALL {
            if let Some(other) = seen.insert(*tag, *name) {
                panic!("{name} and {other} share tag {tag:#010x}");
            }
        }
        assert_eq!(name_of(EV_DEPOSIT), Some("ev_deposit"));
        assert_eq!(name_of(0xdead_beef), None);
    }
}
