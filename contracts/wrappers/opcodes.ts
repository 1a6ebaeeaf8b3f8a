// Opcodes of every message and event, once for TypeScript. TEP-74/89 and USDT's call_to /
// set_status keep their standard tags; each LabelMint tag is crc32(name) & 0x7fffffff of its TL-B constructor name (contracts/scheme.tlb);
// tests/scheme.spec.ts recomputes them from the scheme and compares.
export const Op = {
    // TEP-74 / TEP-89 (standard)
    transfer: 0x0f8a7ea5,
    internal_transfer: 0x178d4519,
    transfer_notification: 0x7362d09c,
    excesses: 0xd53276db,
    burn: 0x595f07bc,
    burn_notification: 0x7bdd97de,
    provide_wallet_address: 0x2c76b973,
    take_wallet_address: 0xd1735400,
    // test USD minter
    labelmint_mint: 0x3b6a9960,
    labelmint_change_admin: 0x6009fc83,
    // USDT's admin operations (stablecoin-contract's tags, not crc32 of the name)
    call_to: 0x235caf52,
    set_status: 0xeed236d3,
    // escrow
    escrow_deploy: 0x27dd0fac,
    escrow_deposit: 0x17e68fcf,
    release_request: 0x65e2f320,
    escrow_release: 0x1c7a11eb,
    close_request: 0x734ef89e,
    escrow_close: 0x409e2dec,
    escrow_refund: 0x6eca230e,
    vault_fund: 0x2c4547ea,
    platform_fee: 0x206f96a6,
    escrow_refund_payment: 0x64cea0bd,
    // jetton recovery (escrow and vault)
    jetton_recover: 0x25951450,
    jetton_recovery: 0x1015e2f5,
    // vault
    vault_batch_request: 0x2070e2a8,
    vault_top_up: 0x730b0b0e,
    vault_freeze: 0x011bc462,
    vault_unfreeze: 0x6c772644,
    vault_set_limits: 0x3c0a471b,
    vault_set_signer: 0x00a61232,
    vault_set_admin: 0x143694f2,
    vault_apply_change: 0x3d5dee05,
    vault_cancel_change: 0x49418297,
    // events
    ev_deposit: 0x534cbe30,
    ev_release: 0x58d02014,
    ev_release_bounced: 0x625750ef,
    ev_refund: 0x25b164f7,
    ev_refund_bounced: 0x1da6db86,
    ev_closed: 0x7a5a3d4b,
    ev_jetton_wallet_learned: 0x189fe399,
    ev_jetton_recovered: 0x1bd976cd,
    ev_jetton_recovery_failed: 0x6e05cfbc,
    ev_vault_funded: 0x3e4def1b,
    ev_batch_executed: 0x3b5e76c5,
    ev_payout_bounced: 0x7d2aa311,
    ev_admin_change: 0x7c77eb8e,
    ev_admin_change_proposed: 0x40204909,
    ev_admin_change_cancelled: 0x718db47a,
    ev_gas_topped_up: 0x56c78fe8,
} as const;

export type OpName = keyof typeof Op;

/**
 * Escrow payment legs, encoded in the high 32 bits of an outgoing leg's query_id; `recovery` is
 * not a payment but the query id (and nonce) of a jetton recovery's self-transfer.
 */
export const Leg = { vault: 1, fee: 2, refund: 3, recovery: 4 } as const;

export function legQueryId(leg: number, seqno: number): bigint {
    return (BigInt(leg) << 32n) | BigInt(seqno >>> 0);
}
