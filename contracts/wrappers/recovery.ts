// Jetton recovery, shared by the escrow and the vault (contracts/common/recovery.tolk): the
// anyone-may-send request, the forward-payload marker of the self-transfer and the two events.
// Layouts: contracts/scheme.tlb (recovery section).
import { beginCell, Cell, Slice } from '@ton/core';
import { Op } from './opcodes';
import { expectOp } from './cells';

/** jetton_recover#25951450 query_id:uint64 amount:Coins = RecoverMsg; (amount = the claimed extra) */
export interface JettonRecover {
    queryId: bigint;
    amount: bigint;
}

export function buildJettonRecover(m: JettonRecover): Cell {
    return beginCell().storeUint(Op.jetton_recover, 32).storeUint(m.queryId, 64).storeCoins(m.amount).endCell();
}

export function parseJettonRecover(c: Cell): JettonRecover {
    return parseWith(c, Op.jetton_recover, (s) => ({ queryId: s.loadUintBig(64), amount: s.loadCoins() }));
}

/** jetton_recovery#1015e2f5 nonce:uint64 = RecoveryMarker; (the self-transfer's forward payload) */
export interface JettonRecovery {
    nonce: bigint;
}

export function buildJettonRecovery(m: JettonRecovery): Cell {
    return beginCell().storeUint(Op.jetton_recovery, 32).storeUint(m.nonce, 64).endCell();
}

export function parseJettonRecovery(c: Cell): JettonRecovery {
    return parseWith(c, Op.jetton_recovery, (s) => ({ nonce: s.loadUintBig(64) }));
}

/** ev_jetton_recovered#1bd976cd query_id:uint64 amount:Coins booked:Coins = Event; */
export interface EvJettonRecovered {
    /** the recovery's nonce */
    queryId: bigint;
    /** what was booked (0 when the wallet held no more than the books) */
    amount: bigint;
    /** the contract's jetton books after it (escrow: remaining budget; vault: jetton_balance) */
    booked: bigint;
}

export function buildEvJettonRecovered(e: EvJettonRecovered): Cell {
    return beginCell()
        .storeUint(Op.ev_jetton_recovered, 32)
        .storeUint(e.queryId, 64)
        .storeCoins(e.amount)
        .storeCoins(e.booked)
        .endCell();
}

export function parseEvJettonRecovered(c: Cell): EvJettonRecovered {
    return parseWith(c, Op.ev_jetton_recovered, (s) => ({
        queryId: s.loadUintBig(64),
        amount: s.loadCoins(),
        booked: s.loadCoins(),
    }));
}

/** ev_jetton_recovery_failed#6e05cfbc query_id:uint64 = Event; (the own wallet refused) */
export interface EvJettonRecoveryFailed {
    queryId: bigint;
}

export function buildEvJettonRecoveryFailed(e: EvJettonRecoveryFailed): Cell {
    return beginCell().storeUint(Op.ev_jetton_recovery_failed, 32).storeUint(e.queryId, 64).endCell();
}

export function parseEvJettonRecoveryFailed(c: Cell): EvJettonRecoveryFailed {
    return parseWith(c, Op.ev_jetton_recovery_failed, (s) => ({ queryId: s.loadUintBig(64) }));
}

function parseWith<T>(c: Cell, op: number, f: (s: Slice) => T): T {
    const s = c.beginParse();
    expectOp(s, op);
    const v = f(s);
    s.endParse();
    return v;
}
