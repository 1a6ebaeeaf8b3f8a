// PayoutVault: builders/parsers for every vault message, storage layout and event
// (contracts/scheme.tlb, "PayoutVault"), batch signing, and the Contract class.
//
// Naming: build<PascalName>/parse<PascalName> after the TL-B constructor, fields in camelCase
// (the Rust ABI crate's test vectors are built from these functions).
import {
    Address,
    beginCell,
    Builder,
    Cell,
    Contract,
    contractAddress,
    ContractProvider,
    Dictionary,
    Sender,
    SendMode,
    Slice,
    TupleReader,
} from '@ton/core';
import { sign } from '@ton/crypto';
import { Op } from './opcodes';
import { expectOp } from './tep74';

// ------------------------------------------------------------------ limits of the ABI

/** At most this many items per batch (250 payouts + 1 event <= 255 actions). */
export const MAX_BATCH_ITEMS = 250;
/** item_id is written as 1..17 decimal digits, so it must stay below 10^17. */
export const MAX_ITEM_ID_EXCLUSIVE = 10n ** 17n;
/** The text every payout carries: "LabelMint #<item id>". */
export const PAYOUT_COMMENT_PREFIX = 'LabelMint #';

/** The networks' global ids (config param 19); a batch request carries the one it is for. */
export const GlobalId = {
    mainnet: -239,
    testnet: -3,
    /** The local devnet (Rust constant DEVNET_GLOBAL_ID). */
    devnet: 2026,
} as const;

/** The global id (config param 19) of a blockchain config (the params dictionary's root cell). */
export function configGlobalId(config: Cell): number {
    const params = Dictionary.loadDirect(Dictionary.Keys.Int(32), Dictionary.Values.Cell(), config);
    const p19 = params.get(19);
    if (!p19) throw new Error('config param 19 (global id) missing');
    return p19.beginParse().loadInt(32);
}

/** The default admin_delay: 48 hours between proposing and applying a power-raising change. */
export const DEFAULT_ADMIN_DELAY = 172_800;

/**
 * Mirrors of contracts/vault/fees.tolk (tests/vault.gas.spec.ts fails when they drift): the
 * batch's gas cap and the sizes its forward fees are computed for.
 */
export const VaultFees = {
    gasBatchBase: 30_000,
    gasPerTonItem: 2_300,
    gasPerJettonItem: 3_000,
    gasPerJettonItemByRef: 3_500,
    jettonBodyMaxBits: 1023,
    commentMaxBits: 256,
    /** TON a batch must leave on the vault (storage float). */
    minTonReserve: 100_000_000n,
    /** Jetton vault: bounds of `attach`. */
    minAttach: 10_000_000n,
    maxAttach: 200_000_000n,
    /** A transfer body keeps the comment inline while bytes(total) + bytes(forward_ton) <= 15. */
    maxInlineAmountBytes: 15,
} as const;

/** Basechain gas and forward prices of a blockchain config (params 21 and 25). */
export interface BasechainPrices {
    flatGasLimit: bigint;
    flatGasPrice: bigint;
    /** nanoTON per gas unit, times 2^16. */
    gasPrice: bigint;
    lumpPrice: bigint;
    /** nanoTON per bit / cell, times 2^16. */
    bitPrice: bigint;
    cellPrice: bigint;
}

export function basechainPrices(config: Cell): BasechainPrices {
    const params = Dictionary.loadDirect(Dictionary.Keys.Int(32), Dictionary.Values.Cell(), config);
    const gas = params.get(21)?.beginParse();
    const fwd = params.get(25)?.beginParse();
    if (!gas || !fwd) throw new Error('config params 21 / 25 missing');
    let flatGasLimit = 0n;
    let flatGasPrice = 0n;
    let tag = gas.loadUint(8);
    if (tag === 0xd1) {
        flatGasLimit = gas.loadUintBig(64);
        flatGasPrice = gas.loadUintBig(64);
        tag = gas.loadUint(8);
    }
    if (tag !== 0xdd && tag !== 0xde) throw new Error(`config param 21: unknown tag ${tag}`);
    const gasPrice = gas.loadUintBig(64);
    if (fwd.loadUint(8) !== 0xea) throw new Error('config param 25: not msg_forward_prices');
    return { flatGasLimit, flatGasPrice, gasPrice, lumpPrice: fwd.loadUintBig(64), bitPrice: fwd.loadUintBig(64), cellPrice: fwd.loadUintBig(64) };
}

/** GETGASFEE. */
export function gasFee(p: BasechainPrices, gas: bigint): bigint {
    if (gas <= p.flatGasLimit) return p.flatGasPrice;
    return p.flatGasPrice + (p.gasPrice * (gas - p.flatGasLimit) + 0xffffn) / 65536n;
}

/** GETFORWARDFEE (bits and cells beyond the message's root cell). */
export function forwardFee(p: BasechainPrices, bits: bigint, cells: bigint): bigint {
    return p.lumpPrice + (p.bitPrice * bits + p.cellPrice * cells + 0xffffn) / 65536n;
}

function coinsBytes(x: bigint): number {
    return x === 0n ? 0 : Math.ceil(x.toString(2).length / 8);
}

/** Whether a jetton batch puts the comment in its own cell (payouts.tolk, commentByRef). */
export function commentByRef(total: bigint, forwardTon: bigint): boolean {
    return coinsBytes(total) + coinsBytes(forwardTon) > VaultFees.maxInlineAmountBytes;
}

/** The compute-phase gas cap of a batch (fees.tolk, batchGasLimit). */
export function batchGasLimit(count: number, jetton?: { byRef: boolean }): bigint {
    const perItem = !jetton ? VaultFees.gasPerTonItem : jetton.byRef ? VaultFees.gasPerJettonItemByRef : VaultFees.gasPerJettonItem;
    return BigInt(VaultFees.gasBatchBase + count * perItem);
}

/**
 * The TON balance a batch needs at `prices` besides its total (TON vault), or in all (jetton
 * vault: count * attach included): the vault's ERR_INSUFFICIENT_TON bound, as in batch.tolk.
 */
export function batchTonRequirement(prices: BasechainPrices, count: number, jetton?: { attach: bigint; total: bigint; forwardTon: bigint }): bigint {
    const n = BigInt(count);
    const eventFwd = forwardFee(prices, BigInt(VaultFees.jettonBodyMaxBits), 1n);
    if (!jetton) {
        return n * forwardFee(prices, 0n, 0n) + eventFwd + gasFee(prices, batchGasLimit(count)) + VaultFees.minTonReserve;
    }
    const byRef = commentByRef(jetton.total, jetton.forwardTon);
    const itemFwd = byRef
        ? forwardFee(prices, BigInt(VaultFees.jettonBodyMaxBits + VaultFees.commentMaxBits), 2n)
        : forwardFee(prices, BigInt(VaultFees.jettonBodyMaxBits), 1n);
    return n * (jetton.attach + itemFwd) + eventFwd + gasFee(prices, batchGasLimit(count, { byRef })) + VaultFees.minTonReserve;
}

/** Admin actions of ev_admin_change. */
export const VaultAdminAction = {
    freeze: 1,
    unfreeze: 2,
    setLimits: 3,
    setSigner: 4,
    setAdmin: 5,
} as const;

/** Exit codes of the vault (contracts/vault/errors.tolk). */
export const VaultError = {
    badSignature: 300,
    wrongVault: 301,
    frozen: 302,
    createdInFuture: 303,
    expired: 304,
    alreadyProcessed: 305,
    badCount: 306,
    zeroTotal: 307,
    windowExceeded: 308,
    insufficientTon: 309,
    jettonWalletUnknown: 310,
    insufficientJettons: 311,
    badAttach: 312,
    forwardExceedsAttach: 313,
    attachOnTonVault: 314,
    countMismatch: 315,
    totalMismatch: 316,
    badDestination: 317,
    wrongNetwork: 318,
    recoveryPending: 319,
    notAdmin: 320,
    zeroWindowLen: 321,
    fundOnJettonVault: 322,
    notJettonMaster: 323,
    unknownOp: 324,
    changePending: 325,
    noPendingChange: 326,
    changeNotDue: 327,
    notJettonVault: 328,
    badRecoveryAmount: 329,
    notEnoughTon: 330,
} as const;

// ------------------------------------------------------------------ payout items

/** One payout: the vault pays `amount` to `dest`; the comment carries `itemId`. */
export interface PayoutItem {
    itemId: bigint;
    /** TON vault: send bounceable (a payout to a missing/failing account comes back). */
    bounceable: boolean;
    dest: Address;
    amount: bigint;
}

/** The decimal digits written for an item id (1..17 ASCII digits). */
export function itemDigits(itemId: bigint): string {
    if (itemId < 0n || itemId >= MAX_ITEM_ID_EXCLUSIVE) {
        throw new Error(`item id ${itemId} out of range [0, 10^17)`);
    }
    return itemId.toString();
}

/** The payout comment of an item: "LabelMint #<digits>". */
export function payoutCommentText(itemId: bigint): string {
    return PAYOUT_COMMENT_PREFIX + itemDigits(itemId);
}

// payout_item$_ item_id:uint64 bounceable:Bool dest:MsgAddressInt amount:Coins
//     digits_len:uint5 digits:(bits (digits_len * 8)) next:(Maybe ^PayoutItem) = PayoutItem;
export interface PayoutItemFields extends PayoutItem {
    /** Defaults to itemId.toString(); only tests write anything else. */
    digits?: string;
    next: Cell | null;
}

export function buildPayoutItem(f: PayoutItemFields): Cell {
    const digits = f.digits ?? itemDigits(f.itemId);
    if (digits.length > 31) throw new Error('digits_len is a uint5');
    return beginCell()
        .storeUint(f.itemId, 64)
        .storeBit(f.bounceable)
        .storeAddress(f.dest)
        .storeCoins(f.amount)
        .storeUint(digits.length, 5)
        .storeBuffer(Buffer.from(digits, 'ascii'))
        .storeMaybeRef(f.next)
        .endCell();
}

export interface ParsedPayoutItem extends PayoutItem {
    digitsLen: number;
    digits: string;
    next: Cell | null;
}

export function parsePayoutItem(c: Cell): ParsedPayoutItem {
    const s = c.beginParse();
    const itemId = s.loadUintBig(64);
    const bounceable = s.loadBit();
    const dest = s.loadAddress();
    const amount = s.loadCoins();
    const digitsLen = s.loadUint(5);
    const digits = s.loadBuffer(digitsLen).toString('ascii');
    const next = s.loadMaybeRef();
    s.endParse();
    return { itemId, bounceable, dest, amount, digitsLen, digits, next };
}

/** The item chain (one item per cell, linked by Maybe ^next), first item at the root. */
export function buildPayoutItems(items: PayoutItem[]): Cell {
    if (items.length === 0) throw new Error('a batch needs at least one item');
    let next: Cell | null = null;
    for (let i = items.length - 1; i >= 0; i--) {
        next = buildPayoutItem({ ...items[i], next });
    }
    return next!;
}

/** Walks an item chain back into items. */
export function parsePayoutItems(first: Cell): ParsedPayoutItem[] {
    const out: ParsedPayoutItem[] = [];
    let c: Cell | null = first;
    while (c) {
        const it = parsePayoutItem(c);
        out.push(it);
        c = it.next;
    }
    return out;
}

// ------------------------------------------------------------------ the batch (external)

// vault_batch_request#2070e2a8 vault:MsgAddressInt global_id:int32 query_id:uint64
//     created_at:uint32 count:uint8 total:Coins attach:Coins forward_ton:Coins
//     items:^PayoutItem = VaultBatchRequest;
export interface VaultBatchRequest {
    vault: Address;
    /** The network the batch is for (GlobalId); the vault refuses any other (ERR_WRONG_NETWORK). */
    globalId: number;
    queryId: bigint;
    createdAt: number;
    count: number;
    total: bigint;
    attach: bigint;
    forwardTon: bigint;
    items: Cell;
}

export type VaultBatchRequestInput = Omit<VaultBatchRequest, 'count' | 'total' | 'items' | 'attach' | 'forwardTon'> & {
    /** Items, or an already built chain (then count and total are required). */
    items: PayoutItem[] | Cell;
    /** Defaults to items.length. */
    count?: number;
    /** Defaults to the sum of the items' amounts. */
    total?: bigint;
    /** TON per jetton transfer (jetton vault); 0 for a TON vault (default). */
    attach?: bigint;
    /** TON forwarded to the worker with each jetton transfer; 0 for a TON vault (default). */
    forwardTon?: bigint;
};

export function buildVaultBatchRequest(r: VaultBatchRequestInput): Cell {
    let items: Cell;
    let count = r.count;
    let total = r.total;
    if (r.items instanceof Cell) {
        if (count === undefined || total === undefined) throw new Error('count and total are required with a prebuilt chain');
        items = r.items;
    } else {
        items = buildPayoutItems(r.items);
        count ??= r.items.length;
        total ??= r.items.reduce((a, it) => a + it.amount, 0n);
    }
    return beginCell()
        .storeUint(Op.vault_batch_request, 32)
        .storeAddress(r.vault)
        .storeInt(r.globalId, 32)
        .storeUint(r.queryId, 64)
        .storeUint(r.createdAt, 32)
        .storeUint(count, 8)
        .storeCoins(total)
        .storeCoins(r.attach ?? 0n)
        .storeCoins(r.forwardTon ?? 0n)
        .storeRef(items)
        .endCell();
}

export function parseVaultBatchRequest(c: Cell): VaultBatchRequest {
    const s = c.beginParse();
    expectOp(s, Op.vault_batch_request);
    const r: VaultBatchRequest = {
        vault: s.loadAddress(),
        globalId: s.loadInt(32),
        queryId: s.loadUintBig(64),
        createdAt: s.loadUint(32),
        count: s.loadUint(8),
        total: s.loadCoins(),
        attach: s.loadCoins(),
        forwardTon: s.loadCoins(),
        items: s.loadRef(),
    };
    s.endParse();
    return r;
}

// vault_batch$_ signature:bits512 request:^VaultBatchRequest = VaultExternal;
export interface VaultBatch {
    signature: Buffer;
    request: Cell;
}

export function buildVaultBatch(b: VaultBatch): Cell {
    if (b.signature.length !== 64) throw new Error('signature must be 64 bytes');
    return beginCell().storeBuffer(b.signature).storeRef(b.request).endCell();
}

export function parseVaultBatch(c: Cell): VaultBatch {
    const s = c.beginParse();
    const r = { signature: s.loadBuffer(64), request: s.loadRef() };
    s.endParse();
    return r;
}

/** The external body of a batch: ed25519(secretKey, hash(request)) + ^request. */
export function signBatch(request: Cell, secretKey: Buffer): Cell {
    return buildVaultBatch({ signature: sign(request.hash(), secretKey), request });
}

// ------------------------------------------------------------------ internal messages

// vault_fund#2c4547ea (the escrow's leg 1; also any TON funding of a TON vault): one layout,
// written once in Escrow.ts.
import { buildVaultFund, parseVaultFund, VaultFund } from './Escrow';
export { buildVaultFund, parseVaultFund };
export type { VaultFund };

function buildQueryOnly(op: number, queryId: bigint): Cell {
    return beginCell().storeUint(op, 32).storeUint(queryId, 64).endCell();
}

function parseQueryOnly(op: number, c: Cell): { queryId: bigint } {
    const s = c.beginParse();
    expectOp(s, op);
    return { queryId: s.loadUintBig(64) };
}

// vault_top_up#730b0b0e query_id:uint64 = VaultMsg;
export const buildVaultTopUp = (m: { queryId: bigint }) => buildQueryOnly(Op.vault_top_up, m.queryId);
export const parseVaultTopUp = (c: Cell) => parseQueryOnly(Op.vault_top_up, c);
// vault_freeze#011bc462 query_id:uint64 = VaultAdminMsg;
export const buildVaultFreeze = (m: { queryId: bigint }) => buildQueryOnly(Op.vault_freeze, m.queryId);
export const parseVaultFreeze = (c: Cell) => parseQueryOnly(Op.vault_freeze, c);
// vault_unfreeze#6c772644 query_id:uint64 = VaultAdminMsg;
export const buildVaultUnfreeze = (m: { queryId: bigint }) => buildQueryOnly(Op.vault_unfreeze, m.queryId);
export const parseVaultUnfreeze = (c: Cell) => parseQueryOnly(Op.vault_unfreeze, c);

// vault_set_limits#3c0a471b query_id:uint64 window_len:uint32 window_limit:Coins = VaultAdminMsg;
export interface VaultSetLimits {
    queryId: bigint;
    windowLen: number;
    windowLimit: bigint;
}

export function buildVaultSetLimits(m: VaultSetLimits): Cell {
    return beginCell()
        .storeUint(Op.vault_set_limits, 32)
        .storeUint(m.queryId, 64)
        .storeUint(m.windowLen, 32)
        .storeCoins(m.windowLimit)
        .endCell();
}

export function parseVaultSetLimits(c: Cell): VaultSetLimits {
    const s = c.beginParse();
    expectOp(s, Op.vault_set_limits);
    return { queryId: s.loadUintBig(64), windowLen: s.loadUint(32), windowLimit: s.loadCoins() };
}

// vault_set_signer#00a61232 query_id:uint64 signer_key:uint256 = VaultAdminMsg;
export interface VaultSetSigner {
    queryId: bigint;
    signerKey: Buffer;
}

export function buildVaultSetSigner(m: VaultSetSigner): Cell {
    return beginCell().storeUint(Op.vault_set_signer, 32).storeUint(m.queryId, 64).storeBuffer(key32(m.signerKey)).endCell();
}

export function parseVaultSetSigner(c: Cell): VaultSetSigner {
    const s = c.beginParse();
    expectOp(s, Op.vault_set_signer);
    return { queryId: s.loadUintBig(64), signerKey: s.loadBuffer(32) };
}

// vault_set_admin#143694f2 query_id:uint64 new_admin:MsgAddressInt = VaultAdminMsg;
export interface VaultSetAdmin {
    queryId: bigint;
    newAdmin: Address;
}

export function buildVaultSetAdmin(m: VaultSetAdmin): Cell {
    return beginCell().storeUint(Op.vault_set_admin, 32).storeUint(m.queryId, 64).storeAddress(m.newAdmin).endCell();
}

export function parseVaultSetAdmin(c: Cell): VaultSetAdmin {
    const s = c.beginParse();
    expectOp(s, Op.vault_set_admin);
    return { queryId: s.loadUintBig(64), newAdmin: s.loadAddress() };
}

// vault_apply_change#3d5dee05 query_id:uint64 = VaultMsg; (anyone, once the delay is over)
export const buildVaultApplyChange = (m: { queryId: bigint }) => buildQueryOnly(Op.vault_apply_change, m.queryId);
export const parseVaultApplyChange = (c: Cell) => parseQueryOnly(Op.vault_apply_change, c);
// vault_cancel_change#49418297 query_id:uint64 = VaultAdminMsg;
export const buildVaultCancelChange = (m: { queryId: bigint }) => buildQueryOnly(Op.vault_cancel_change, m.queryId);
export const parseVaultCancelChange = (c: Cell) => parseQueryOnly(Op.vault_cancel_change, c);

// ------------------------------------------------------------------ admin changes

// admin_change_limits$00000011 window_len:uint32 window_limit:Coins = AdminChange;
// admin_change_signer$00000100 signer_key:uint256 = AdminChange;
// admin_change_admin$00000101 new_admin:MsgAddressInt = AdminChange;
/** A change that waits for admin_delay; the 8-bit prefix is its ev_admin_change action. */
export type AdminChange =
    | { kind: 'admin_change_limits'; windowLen: number; windowLimit: bigint }
    | { kind: 'admin_change_signer'; signerKey: Buffer }
    | { kind: 'admin_change_admin'; newAdmin: Address };

/** The ev_admin_change action an AdminChange applies as. */
export function adminChangeAction(c: AdminChange): number {
    switch (c.kind) {
        case 'admin_change_limits':
            return VaultAdminAction.setLimits;
        case 'admin_change_signer':
            return VaultAdminAction.setSigner;
        case 'admin_change_admin':
            return VaultAdminAction.setAdmin;
    }
}

export function storeAdminChange(b: Builder, c: AdminChange): Builder {
    b.storeUint(adminChangeAction(c), 8);
    switch (c.kind) {
        case 'admin_change_limits':
            return b.storeUint(c.windowLen, 32).storeCoins(c.windowLimit);
        case 'admin_change_signer':
            return b.storeBuffer(key32(c.signerKey));
        case 'admin_change_admin':
            return b.storeAddress(c.newAdmin);
    }
}

export function loadAdminChange(s: Slice): AdminChange {
    const action = s.loadUint(8);
    switch (action) {
        case VaultAdminAction.setLimits:
            return { kind: 'admin_change_limits', windowLen: s.loadUint(32), windowLimit: s.loadCoins() };
        case VaultAdminAction.setSigner:
            return { kind: 'admin_change_signer', signerKey: s.loadBuffer(32) };
        case VaultAdminAction.setAdmin:
            return { kind: 'admin_change_admin', newAdmin: s.loadAddress() };
        default:
            throw new Error(`not an AdminChange prefix: ${action}`);
    }
}

// vault_pending_change$_ query_id:uint64 apply_after:uint32 change:AdminChange = VaultPendingChange;
export interface VaultPendingChange {
    /** The proposal's query id (carried by its proposed / applied / cancelled events). */
    queryId: bigint;
    /** vault_apply_change is accepted from this time on (proposal time + admin_delay). */
    applyAfter: number;
    change: AdminChange;
}

export function buildVaultPendingChange(p: VaultPendingChange): Cell {
    return storeAdminChange(beginCell().storeUint(p.queryId, 64).storeUint(p.applyAfter, 32), p.change).endCell();
}

export function parseVaultPendingChange(c: Cell): VaultPendingChange {
    const s = c.beginParse();
    const r = { queryId: s.loadUintBig(64), applyAfter: s.loadUint(32), change: loadAdminChange(s) };
    s.endParse();
    return r;
}

// ------------------------------------------------------------------ storage

// vault_params$_ admin:MsgAddressInt jetton_master:MsgAddress jetton_wallet:MsgAddress
//     vault_id:uint32 admin_delay:uint32 pending:(Maybe ^VaultPendingChange) = VaultParams;
export interface VaultParams {
    admin: Address;
    jettonMaster: Address | null;
    jettonWallet: Address | null;
    vaultId: number;
    /** Seconds between proposing and applying a power-raising admin change. */
    adminDelay: number;
    /** ^VaultPendingChange, or null when no change waits. */
    pending: Cell | null;
}

export function buildVaultParams(p: VaultParams): Cell {
    return beginCell()
        .storeAddress(p.admin)
        .storeAddress(p.jettonMaster)
        .storeAddress(p.jettonWallet)
        .storeUint(p.vaultId, 32)
        .storeUint(p.adminDelay, 32)
        .storeMaybeRef(p.pending)
        .endCell();
}

export function parseVaultParams(c: Cell): VaultParams {
    const s = c.beginParse();
    const r = {
        admin: s.loadAddress(),
        jettonMaster: s.loadMaybeAddress(),
        jettonWallet: s.loadMaybeAddress(),
        vaultId: s.loadUint(32),
        adminDelay: s.loadUint(32),
        pending: s.loadMaybeRef(),
    };
    s.endParse();
    return r;
}

// vault_recovery$_ started_at:uint32 amount:Coins = VaultRecovery;
export interface VaultRecovery {
    /** When jetton_recover asked the vault's own wallet. */
    startedAt: number;
    /** A = jetton_balance then + the claimed extra. */
    amount: bigint;
}

// vault_stats$_ funded:Coins paid:Coins bounced:Coins jetton_balance:Coins recovered:Coins
//     recovery_nonce:uint64 recovery:(Maybe VaultRecovery) = VaultStats;
export interface VaultStats {
    funded: bigint;
    paid: bigint;
    bounced: bigint;
    jettonBalance: bigint;
    /** Jettons booked by jetton recoveries. */
    recovered: bigint;
    /** The nonce of the last recovery started (0: none yet). */
    recoveryNonce: bigint;
    /** The recovery in flight (its nonce is recoveryNonce), or null. */
    recovery: VaultRecovery | null;
}

export function buildVaultStats(st: VaultStats): Cell {
    const b = beginCell()
        .storeCoins(st.funded)
        .storeCoins(st.paid)
        .storeCoins(st.bounced)
        .storeCoins(st.jettonBalance)
        .storeCoins(st.recovered)
        .storeUint(st.recoveryNonce, 64)
        .storeBit(st.recovery !== null);
    if (st.recovery) b.storeUint(st.recovery.startedAt, 32).storeCoins(st.recovery.amount);
    return b.endCell();
}

export function parseVaultStats(c: Cell): VaultStats {
    const s = c.beginParse();
    const r: VaultStats = {
        funded: s.loadCoins(),
        paid: s.loadCoins(),
        bounced: s.loadCoins(),
        jettonBalance: s.loadCoins(),
        recovered: s.loadCoins(),
        recoveryNonce: s.loadUintBig(64),
        recovery: null,
    };
    if (s.loadBit()) r.recovery = { startedAt: s.loadUint(32), amount: s.loadCoins() };
    s.endParse();
    return r;
}

/**
 * The nonce of the vault's n-th jetton recovery: 2^63 | n. It is also the self-transfer's TEP-74
 * query id; the top bit tells a recovery's bounce from a payout's (item ids are below 10^17).
 */
export function recoveryNonce(n: bigint): bigint {
    return (1n << 63n) | n;
}

/** TON that covers jetton_recover at the default (mainnet) prices, with room: 0.1 TON. */
export const RECOVER_MIN_TON = 100_000_000n;

/** Stats of a new vault: everything 0, no recovery. */
export const ZERO_VAULT_STATS: VaultStats = {
    funded: 0n,
    paid: 0n,
    bounced: 0n,
    jettonBalance: 0n,
    recovered: 0n,
    recoveryNonce: 0n,
    recovery: null,
};

// vault_storage$_ signer_key:uint256 frozen:Bool timeout:uint32 last_clean:uint32
//     queries:(HashmapE 64 True) old_queries:(HashmapE 64 True)
//     window_len:uint32 window_limit:Coins window_start:uint32 cur_spent:Coins prev_spent:Coins
//     params:^VaultParams stats:^VaultStats = VaultStorage;
export interface VaultStorage {
    signerKey: Buffer;
    frozen: boolean;
    timeout: number;
    lastClean: number;
    queries: bigint[];
    oldQueries: bigint[];
    windowLen: number;
    windowLimit: bigint;
    windowStart: number;
    curSpent: bigint;
    prevSpent: bigint;
    params: Cell;
    stats: Cell;
}

const trueValue = {
    serialize: (_src: true, _b: Builder) => {},
    parse: (_s: Slice): true => true,
};

function storeQueryIds(b: Builder, ids: bigint[]) {
    const d = Dictionary.empty(Dictionary.Keys.BigUint(64), trueValue);
    for (const id of ids) d.set(id, true);
    b.storeDict(d);
}

function loadQueryIds(s: Slice): bigint[] {
    return Dictionary.load(Dictionary.Keys.BigUint(64), trueValue, s).keys();
}

export function buildVaultStorage(st: VaultStorage): Cell {
    const b = beginCell().storeBuffer(key32(st.signerKey)).storeBit(st.frozen).storeUint(st.timeout, 32).storeUint(st.lastClean, 32);
    storeQueryIds(b, st.queries);
    storeQueryIds(b, st.oldQueries);
    return b
        .storeUint(st.windowLen, 32)
        .storeCoins(st.windowLimit)
        .storeUint(st.windowStart, 32)
        .storeCoins(st.curSpent)
        .storeCoins(st.prevSpent)
        .storeRef(st.params)
        .storeRef(st.stats)
        .endCell();
}

export function parseVaultStorage(c: Cell): VaultStorage {
    const s = c.beginParse();
    const st: VaultStorage = {
        signerKey: s.loadBuffer(32),
        frozen: s.loadBit(),
        timeout: s.loadUint(32),
        lastClean: s.loadUint(32),
        queries: loadQueryIds(s),
        oldQueries: loadQueryIds(s),
        windowLen: s.loadUint(32),
        windowLimit: s.loadCoins(),
        windowStart: s.loadUint(32),
        curSpent: s.loadCoins(),
        prevSpent: s.loadCoins(),
        params: s.loadRef(),
        stats: s.loadRef(),
    };
    s.endParse();
    return st;
}

/** What a deployer chooses; everything else starts at zero / empty. */
export interface VaultConfig {
    signerKey: Buffer;
    /** Seconds a signed batch stays acceptable after created_at (> 0; e.g. 3600). */
    timeout: number;
    windowLen: number;
    windowLimit: bigint;
    admin: Address;
    /** null for a TON vault. */
    jettonMaster: Address | null;
    /** Distinguishes vaults with otherwise equal config (part of the address). */
    vaultId: number;
    /** Seconds a power-raising admin change waits (DEFAULT_ADMIN_DELAY = 48 h); 0 disables the protection. */
    adminDelay: number;
}

export function vaultConfigToCell(c: VaultConfig): Cell {
    if (c.timeout <= 0) throw new Error('timeout must be > 0');
    if (c.windowLen <= 0) throw new Error('windowLen must be > 0');
    if (!Number.isInteger(c.adminDelay) || c.adminDelay < 0 || c.adminDelay > 0xffffffff) throw new Error('adminDelay must be a uint32');
    return buildVaultStorage({
        signerKey: c.signerKey,
        frozen: false,
        timeout: c.timeout,
        lastClean: 0,
        queries: [],
        oldQueries: [],
        windowLen: c.windowLen,
        windowLimit: c.windowLimit,
        windowStart: 0,
        curSpent: 0n,
        prevSpent: 0n,
        params: buildVaultParams({ admin: c.admin, jettonMaster: c.jettonMaster, jettonWallet: null, vaultId: c.vaultId, adminDelay: c.adminDelay, pending: null }),
        stats: buildVaultStats(ZERO_VAULT_STATS),
    });
}

// ------------------------------------------------------------------ events

// ev_vault_funded#3e4def1b query_id:uint64 project_id:uint64 from:MsgAddressInt amount:Coins
export interface EvVaultFunded {
    queryId: bigint;
    projectId: bigint;
    from: Address;
    amount: bigint;
}

export function buildEvVaultFunded(e: EvVaultFunded): Cell {
    return beginCell()
        .storeUint(Op.ev_vault_funded, 32)
        .storeUint(e.queryId, 64)
        .storeUint(e.projectId, 64)
        .storeAddress(e.from)
        .storeCoins(e.amount)
        .endCell();
}

export function parseEvVaultFunded(c: Cell): EvVaultFunded {
    const s = c.beginParse();
    expectOp(s, Op.ev_vault_funded);
    return { queryId: s.loadUintBig(64), projectId: s.loadUintBig(64), from: s.loadAddress(), amount: s.loadCoins() };
}

// ev_batch_executed#3b5e76c5 query_id:uint64 created_at:uint32 count:uint8 total:Coins
//     window_used:Coins
export interface EvBatchExecuted {
    queryId: bigint;
    createdAt: number;
    count: number;
    total: bigint;
    windowUsed: bigint;
}

export function buildEvBatchExecuted(e: EvBatchExecuted): Cell {
    return beginCell()
        .storeUint(Op.ev_batch_executed, 32)
        .storeUint(e.queryId, 64)
        .storeUint(e.createdAt, 32)
        .storeUint(e.count, 8)
        .storeCoins(e.total)
        .storeCoins(e.windowUsed)
        .endCell();
}

export function parseEvBatchExecuted(c: Cell): EvBatchExecuted {
    const s = c.beginParse();
    expectOp(s, Op.ev_batch_executed);
    return {
        queryId: s.loadUintBig(64),
        createdAt: s.loadUint(32),
        count: s.loadUint(8),
        total: s.loadCoins(),
        windowUsed: s.loadCoins(),
    };
}

// ev_payout_bounced#7d2aa311 item_id:uint64 amount:Coins
export interface EvPayoutBounced {
    itemId: bigint;
    amount: bigint;
}

export function buildEvPayoutBounced(e: EvPayoutBounced): Cell {
    return beginCell().storeUint(Op.ev_payout_bounced, 32).storeUint(e.itemId, 64).storeCoins(e.amount).endCell();
}

export function parseEvPayoutBounced(c: Cell): EvPayoutBounced {
    const s = c.beginParse();
    expectOp(s, Op.ev_payout_bounced);
    return { itemId: s.loadUintBig(64), amount: s.loadCoins() };
}

// ev_admin_change#7c77eb8e query_id:uint64 action:uint8 frozen:Bool window_len:uint32
//     window_limit:Coins signer_key:uint256 admin:MsgAddressInt
export interface EvAdminChange {
    queryId: bigint;
    action: number;
    frozen: boolean;
    windowLen: number;
    windowLimit: bigint;
    signerKey: Buffer;
    admin: Address;
}

export function buildEvAdminChange(e: EvAdminChange): Cell {
    return beginCell()
        .storeUint(Op.ev_admin_change, 32)
        .storeUint(e.queryId, 64)
        .storeUint(e.action, 8)
        .storeBit(e.frozen)
        .storeUint(e.windowLen, 32)
        .storeCoins(e.windowLimit)
        .storeBuffer(key32(e.signerKey))
        .storeAddress(e.admin)
        .endCell();
}

export function parseEvAdminChange(c: Cell): EvAdminChange {
    const s = c.beginParse();
    expectOp(s, Op.ev_admin_change);
    return {
        queryId: s.loadUintBig(64),
        action: s.loadUint(8),
        frozen: s.loadBit(),
        windowLen: s.loadUint(32),
        windowLimit: s.loadCoins(),
        signerKey: s.loadBuffer(32),
        admin: s.loadAddress(),
    };
}

// ev_admin_change_proposed#40204909 query_id:uint64 apply_after:uint32 change:AdminChange
export interface EvAdminChangeProposed {
    queryId: bigint;
    applyAfter: number;
    change: AdminChange;
}

export function buildEvAdminChangeProposed(e: EvAdminChangeProposed): Cell {
    return storeAdminChange(beginCell().storeUint(Op.ev_admin_change_proposed, 32).storeUint(e.queryId, 64).storeUint(e.applyAfter, 32), e.change).endCell();
}

export function parseEvAdminChangeProposed(c: Cell): EvAdminChangeProposed {
    const s = c.beginParse();
    expectOp(s, Op.ev_admin_change_proposed);
    const r = { queryId: s.loadUintBig(64), applyAfter: s.loadUint(32), change: loadAdminChange(s) };
    s.endParse();
    return r;
}

// ev_admin_change_cancelled#718db47a query_id:uint64 change:AdminChange
export interface EvAdminChangeCancelled {
    queryId: bigint;
    change: AdminChange;
}

export function buildEvAdminChangeCancelled(e: EvAdminChangeCancelled): Cell {
    return storeAdminChange(beginCell().storeUint(Op.ev_admin_change_cancelled, 32).storeUint(e.queryId, 64), e.change).endCell();
}

export function parseEvAdminChangeCancelled(c: Cell): EvAdminChangeCancelled {
    const s = c.beginParse();
    expectOp(s, Op.ev_admin_change_cancelled);
    const r = { queryId: s.loadUintBig(64), change: loadAdminChange(s) };
    s.endParse();
    return r;
}

// ev_gas_topped_up#56c78fe8 query_id:uint64 from:MsgAddressInt amount:Coins
export interface EvGasToppedUp {
    queryId: bigint;
    from: Address;
    amount: bigint;
}

export function buildEvGasToppedUp(e: EvGasToppedUp): Cell {
    return beginCell().storeUint(Op.ev_gas_topped_up, 32).storeUint(e.queryId, 64).storeAddress(e.from).storeCoins(e.amount).endCell();
}

export function parseEvGasToppedUp(c: Cell): EvGasToppedUp {
    const s = c.beginParse();
    expectOp(s, Op.ev_gas_topped_up);
    return { queryId: s.loadUintBig(64), from: s.loadAddress(), amount: s.loadCoins() };
}

// The jetton recovery messages and events are shared with the escrow: wrappers/recovery.ts.
import {
    buildJettonRecover,
    EvJettonRecovered,
    EvJettonRecoveryFailed,
    parseEvJettonRecovered,
    parseEvJettonRecoveryFailed,
} from './recovery';

// ev_jetton_wallet_learned#189fe399: the same event as the escrow's, written once in Escrow.ts.
import { buildEvJettonWalletLearned, parseEvJettonWalletLearned, EvJettonWalletLearned } from './Escrow';
export { buildEvJettonWalletLearned, parseEvJettonWalletLearned };
export type { EvJettonWalletLearned };

/** Any vault event, tagged by its TL-B constructor name. */
export type VaultEvent =
    | ({ kind: 'ev_vault_funded' } & EvVaultFunded)
    | ({ kind: 'ev_batch_executed' } & EvBatchExecuted)
    | ({ kind: 'ev_payout_bounced' } & EvPayoutBounced)
    | ({ kind: 'ev_admin_change' } & EvAdminChange)
    | ({ kind: 'ev_admin_change_proposed' } & EvAdminChangeProposed)
    | ({ kind: 'ev_admin_change_cancelled' } & EvAdminChangeCancelled)
    | ({ kind: 'ev_gas_topped_up' } & EvGasToppedUp)
    | ({ kind: 'ev_jetton_wallet_learned' } & EvJettonWalletLearned)
    | ({ kind: 'ev_jetton_recovered' } & EvJettonRecovered)
    | ({ kind: 'ev_jetton_recovery_failed' } & EvJettonRecoveryFailed);

export function parseVaultEvent(c: Cell): VaultEvent {
    const op = c.beginParse().preloadUint(32);
    switch (op) {
        case Op.ev_vault_funded:
            return { kind: 'ev_vault_funded', ...parseEvVaultFunded(c) };
        case Op.ev_batch_executed:
            return { kind: 'ev_batch_executed', ...parseEvBatchExecuted(c) };
        case Op.ev_payout_bounced:
            return { kind: 'ev_payout_bounced', ...parseEvPayoutBounced(c) };
        case Op.ev_admin_change:
            return { kind: 'ev_admin_change', ...parseEvAdminChange(c) };
        case Op.ev_admin_change_proposed:
            return { kind: 'ev_admin_change_proposed', ...parseEvAdminChangeProposed(c) };
        case Op.ev_admin_change_cancelled:
            return { kind: 'ev_admin_change_cancelled', ...parseEvAdminChangeCancelled(c) };
        case Op.ev_gas_topped_up:
            return { kind: 'ev_gas_topped_up', ...parseEvGasToppedUp(c) };
        case Op.ev_jetton_wallet_learned:
            return { kind: 'ev_jetton_wallet_learned', ...parseEvJettonWalletLearned(c) };
        case Op.ev_jetton_recovered:
            return { kind: 'ev_jetton_recovered', ...parseEvJettonRecovered(c) };
        case Op.ev_jetton_recovery_failed:
            return { kind: 'ev_jetton_recovery_failed', ...parseEvJettonRecoveryFailed(c) };
        default:
            throw new Error(`not a vault event: op 0x${op.toString(16)}`);
    }
}

// ------------------------------------------------------------------ get-method replies

export interface VaultData {
    signerKey: Buffer;
    frozen: boolean;
    timeout: number;
    lastClean: number;
    windowLen: number;
    windowLimit: bigint;
    windowStart: number;
    curSpent: bigint;
    prevSpent: bigint;
    admin: Address;
    jettonMaster: Address | null;
    jettonWallet: Address | null;
    vaultId: number;
    funded: bigint;
    paid: bigint;
    bounced: bigint;
    jettonBalance: bigint;
    adminDelay: number;
    recovered: bigint;
    /** The last jetton recovery's nonce (0: none yet). */
    recoveryNonce: bigint;
    /** The recovery in flight, or null. */
    recovery: VaultRecovery | null;
}

/** get_pending_change: the admin change waiting for its delay, or null. */
export interface PendingChangeState {
    queryId: bigint;
    applyAfter: number;
    change: AdminChange;
}

export interface WindowUsage {
    windowLen: number;
    windowLimit: bigint;
    used: bigint;
    available: bigint;
    windowStart: number;
}

/**
 * is_processed's answer about one batch (query id + created_at):
 * - `processed`: the query id is remembered: the vault accepted the batch (whether it paid is
 *   told by its ev_batch_executed; a signer bug burns an id without paying);
 * - `not_processed`: not remembered, and the replay dicts cover created_at: not accepted as of
 *   now; it still may be while created_at > validCreatedAfter;
 * - `unknown`: not remembered, but created_at is older than the dicts' memory (rememberedSince):
 *   the dicts rotated past it; the getter cannot tell.
 * Only the indexer's view of the vault's transactions, in chain time, decides that a batch did not
 * land; this getter is one node's view at one moment.
 */
export type ProcessedStateName = 'not_processed' | 'processed' | 'unknown';

export interface ProcessedState {
    state: ProcessedStateName;
    /** now - timeout: a request is acceptable only while validCreatedAfter < created_at <= now. */
    validCreatedAfter: number;
    /** last_clean - timeout after rotation: every query id accepted since then is remembered. */
    rememberedSince: number;
}

const PROCESSED_STATES: ProcessedStateName[] = ['not_processed', 'processed', 'unknown'];

function key32(k: Buffer): Buffer {
    if (k.length !== 32) throw new Error('an ed25519 public key is 32 bytes');
    return k;
}

function keyFromInt(v: bigint): Buffer {
    return Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
}

function readAddressOpt(r: TupleReader): Address | null {
    return r.readAddressOpt();
}

// ------------------------------------------------------------------ the contract

export class PayoutVault implements Contract {
    constructor(
        readonly address: Address,
        readonly init?: { code: Cell; data: Cell },
    ) {}

    static createFromAddress(address: Address) {
        return new PayoutVault(address);
    }

    static createFromConfig(config: VaultConfig, code: Cell, workchain = 0) {
        const data = vaultConfigToCell(config);
        const init = { code, data };
        return new PayoutVault(contractAddress(workchain, init), init);
    }

    /** Deploys with a vault_top_up (the value becomes gas float; a jetton vault starts TEP-89). */
    async sendDeploy(provider: ContractProvider, via: Sender, value: bigint, queryId = 0n) {
        await provider.internal(via, {
            value,
            sendMode: SendMode.PAY_GAS_SEPARATELY,
            body: buildVaultTopUp({ queryId }),
        });
    }

    async sendTopUp(provider: ContractProvider, via: Sender, value: bigint, queryId = 0n) {
        await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: buildVaultTopUp({ queryId }) });
    }

    /** vault_fund (TON vault): the whole attached value is credited. */
    async sendFund(provider: ContractProvider, via: Sender, value: bigint, m: { queryId?: bigint; projectId: bigint }) {
        await provider.internal(via, {
            value,
            sendMode: SendMode.PAY_GAS_SEPARATELY,
            body: buildVaultFund({ queryId: m.queryId ?? 0n, projectId: m.projectId, amount: value }),
        });
    }

    /** A signed batch, as built by signBatch. */
    async sendBatch(provider: ContractProvider, body: Cell) {
        await provider.external(body);
    }

    async sendFreeze(provider: ContractProvider, via: Sender, value: bigint, queryId = 0n) {
        await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: buildVaultFreeze({ queryId }) });
    }

    async sendUnfreeze(provider: ContractProvider, via: Sender, value: bigint, queryId = 0n) {
        await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: buildVaultUnfreeze({ queryId }) });
    }

    async sendSetLimits(provider: ContractProvider, via: Sender, value: bigint, m: { queryId?: bigint; windowLen: number; windowLimit: bigint }) {
        await provider.internal(via, {
            value,
            sendMode: SendMode.PAY_GAS_SEPARATELY,
            body: buildVaultSetLimits({ queryId: m.queryId ?? 0n, windowLen: m.windowLen, windowLimit: m.windowLimit }),
        });
    }

    async sendSetSigner(provider: ContractProvider, via: Sender, value: bigint, m: { queryId?: bigint; signerKey: Buffer }) {
        await provider.internal(via, {
            value,
            sendMode: SendMode.PAY_GAS_SEPARATELY,
            body: buildVaultSetSigner({ queryId: m.queryId ?? 0n, signerKey: m.signerKey }),
        });
    }

    async sendSetAdmin(provider: ContractProvider, via: Sender, value: bigint, m: { queryId?: bigint; newAdmin: Address }) {
        await provider.internal(via, {
            value,
            sendMode: SendMode.PAY_GAS_SEPARATELY,
            body: buildVaultSetAdmin({ queryId: m.queryId ?? 0n, newAdmin: m.newAdmin }),
        });
    }

    /**
     * jetton_recover (jetton vault, anyone): asks the vault's own wallet to prove it holds
     * jetton_balance + `amount`; `value` must cover RECOVER_MIN_TON at the current prices (the
     * wallet returns what is left to the sender).
     */
    async sendRecover(provider: ContractProvider, via: Sender, value: bigint, m: { queryId?: bigint; amount: bigint }) {
        await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: buildJettonRecover({ queryId: m.queryId ?? 0n, amount: m.amount }) });
    }

    /** vault_apply_change: anyone may send it once the pending change is due. */
    async sendApplyChange(provider: ContractProvider, via: Sender, value: bigint, queryId = 0n) {
        await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: buildVaultApplyChange({ queryId }) });
    }

    async sendCancelChange(provider: ContractProvider, via: Sender, value: bigint, queryId = 0n) {
        await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: buildVaultCancelChange({ queryId }) });
    }

    async getVaultData(provider: ContractProvider): Promise<VaultData> {
        const r = (await provider.get('get_vault_data', [])).stack;
        return {
            signerKey: keyFromInt(r.readBigNumber()),
            frozen: r.readBoolean(),
            timeout: r.readNumber(),
            lastClean: r.readNumber(),
            windowLen: r.readNumber(),
            windowLimit: r.readBigNumber(),
            windowStart: r.readNumber(),
            curSpent: r.readBigNumber(),
            prevSpent: r.readBigNumber(),
            admin: r.readAddress(),
            jettonMaster: readAddressOpt(r),
            jettonWallet: readAddressOpt(r),
            vaultId: r.readNumber(),
            funded: r.readBigNumber(),
            paid: r.readBigNumber(),
            bounced: r.readBigNumber(),
            jettonBalance: r.readBigNumber(),
            adminDelay: r.readNumber(),
            recovered: r.readBigNumber(),
            recoveryNonce: r.readBigNumber(),
            recovery: ((startedAt: number, amount: bigint) => (startedAt === 0 ? null : { startedAt, amount }))(r.readNumber(), r.readBigNumber()),
        };
    }

    async getWindowUsage(provider: ContractProvider): Promise<WindowUsage> {
        const r = (await provider.get('get_window_usage', [])).stack;
        return {
            windowLen: r.readNumber(),
            windowLimit: r.readBigNumber(),
            used: r.readBigNumber(),
            available: r.readBigNumber(),
            windowStart: r.readNumber(),
        };
    }

    /** is_processed(query_id, created_at): see ProcessedState. */
    async isProcessed(provider: ContractProvider, queryId: bigint, createdAt: number): Promise<ProcessedState> {
        const r = (
            await provider.get('is_processed', [
                { type: 'int', value: queryId },
                { type: 'int', value: BigInt(createdAt) },
            ])
        ).stack;
        const code = r.readNumber();
        const state = PROCESSED_STATES[code];
        if (!state) throw new Error(`is_processed: unknown state ${code}`);
        return { state, validCreatedAfter: r.readNumber(), rememberedSince: r.readNumber() };
    }

    async getPendingChange(provider: ContractProvider): Promise<PendingChangeState | null> {
        const r = (await provider.get('get_pending_change', [])).stack;
        const action = r.readNumber();
        const queryId = r.readBigNumber();
        const applyAfter = r.readNumber();
        const windowLen = r.readNumber();
        const windowLimit = r.readBigNumber();
        const signerKey = keyFromInt(r.readBigNumber());
        const newAdmin = readAddressOpt(r);
        switch (action) {
            case 0:
                return null;
            case VaultAdminAction.setLimits:
                return { queryId, applyAfter, change: { kind: 'admin_change_limits', windowLen, windowLimit } };
            case VaultAdminAction.setSigner:
                return { queryId, applyAfter, change: { kind: 'admin_change_signer', signerKey } };
            case VaultAdminAction.setAdmin:
                return { queryId, applyAfter, change: { kind: 'admin_change_admin', newAdmin: newAdmin! } };
            default:
                throw new Error(`get_pending_change: unknown action ${action}`);
        }
    }

    async getSignerKey(provider: ContractProvider): Promise<Buffer> {
        return keyFromInt((await provider.get('get_signer_key', [])).stack.readBigNumber());
    }

    async getJettonWallet(provider: ContractProvider): Promise<Address | null> {
        return readAddressOpt((await provider.get('get_jetton_wallet', [])).stack);
    }
}
