// The project Escrow (contracts/escrow): message and event builders/parsers, signed requests,
// initial data, the Contract class and the TON a caller must attach. Layouts: contracts/scheme.tlb.
import {
    Address,
    beginCell,
    Cell,
    Contract,
    contractAddress,
    ContractProvider,
    Sender,
    SendMode,
    Slice,
    toNano,
} from '@ton/core';
import { sign } from '@ton/crypto';
import { Op, Leg, legQueryId } from './opcodes';
import { expectOp } from './cells';
import {
    buildJettonRecover,
    EvJettonRecovered,
    EvJettonRecoveryFailed,
    parseEvJettonRecovered,
    parseEvJettonRecoveryFailed,
} from './recovery';

export { Leg, legQueryId };

// ------------------------------------------------------------------------------------- network

/**
 * Global ids (config param 19) a signed request can be bound to: a release or close signed for
 * one network is refused (ERR_WRONG_NETWORK) on every other. The LabelMint devnet uses 2026
 * (Rust: `DEVNET_GLOBAL_ID` in the devnet crate).
 */
export const GlobalId = { mainnet: -239, testnet: -3, devnet: 2026 } as const;

/** @ton/sandbox's default config is mainnet's. */
export const SANDBOX_GLOBAL_ID = GlobalId.mainnet;

/** Maximum platform fee (contracts/escrow/storage.tolk MAX_FEE_BPS): 2000 bps = 20%. */
export const MAX_FEE_BPS = 2000;

/** A pending jetton recovery blocks releases and refunds for at most this long (seconds). */
export const RECOVERY_TIMEOUT = 3600;

// ------------------------------------------------------------------------------------------ fees

/**
 * Mirrors of contracts/escrow/fees.tolk (tests/escrow.gas.spec.ts checks they are equal).
 * Gas in gas units, TON in nanoTON.
 */
export const EscrowFeeParams = {
    gasDeposit: 6000n,
    gasReleaseTon: 17000n,
    gasReleaseJetton: 19000n,
    gasClose: 10500n,
    gasRefundTon: 14500n,
    gasRefundJetton: 14500n,
    gasDeploy: 6500n,
    gasRecover: 10000n,
    minStorageReserve: toNano('0.02'),
    discoveryTon: toNano('0.02'),
    jettonTransferTon: toNano('0.05'),
    vaultNotifyTon: toNano('0.02'),
    recoveryNotifyTon: toNano('0.01'),
} as const;

/**
 * TON to attach (nanoTON), in one place. Each covers the escrow's on-chain requirement (gas and
 * forward fees at the default basechain config, plus up to MIN_STORAGE_RESERVE of storage
 * deficit) with headroom; whatever is not spent comes back to the sender (release, close,
 * refund) or stays as the escrow's gas float (deploy, deposit, top-up).
 */
export const EscrowAttach = {
    /** escrow_deploy: float for storage (~0.026 TON a year) plus TEP-89 discovery for jettons. */
    deploy: toNano('0.1'),
    /** escrow_deposit: attach `amount + deposit` (the contract needs amount + gas + event fee). */
    deposit: toNano('0.01'),
    /** escrow_release on a TON escrow (the amount and fee come from the escrow). */
    releaseTon: toNano('0.04'),
    /** escrow_release on a jetton escrow (two jetton transfers + the vault's notification). */
    releaseJetton: toNano('0.16'),
    /** escrow_close. */
    close: toNano('0.03'),
    /**
     * jetton_recover: gas, the self-transfer (JETTON_TRANSFER_TON + RECOVERY_NOTIFY_TON + its
     * forward fee); the wallet returns the excess to the sender.
     */
    recover: toNano('0.1'),
    /** escrow_refund on a TON escrow. */
    refundTon: toNano('0.04'),
    /** escrow_refund on a jetton escrow. */
    refundJetton: toNano('0.09'),
    /**
     * The one default forward_ton_amount of a jetton deposit (wallets, scripts, the API and CLI;
     * Rust: `labelmint_abi::escrow::JETTON_DEPOSIT_FORWARD_TON`). It must pay the escrow's
     * handling of the notification (~0.0025 TON for its own jetton) AND, for a jetton of another
     * kind, the return transfer through the escrow's foreign wallet, which needs
     * FOREIGN_RETURN_MIN_FORWARD_TEST_USD for the test USD (~0.0106 TON for USDT, measured by the
     * review): below it the foreign jettons stay stuck in the escrow's foreign wallet. 0.04 TON is
     * over twice the test USD's minimum, room for a rise in gas prices. What the escrow does not
     * spend stays as its float.
     */
    jettonDepositForward: toNano('0.04'),
} as const;

/**
 * Measured by tests/escrow-jetton.spec.ts (binary search, nanoTON): the smallest
 * forward_ton_amount at which a test USD of another master sent to a jetton escrow goes back to
 * its sender. Below it the escrow's return transfer is refused by the foreign wallet (not enough
 * TON) and those jettons stay in the escrow's foreign wallet.
 */
export const FOREIGN_RETURN_MIN_FORWARD_TEST_USD = 19_243_125n;

// ------------------------------------------------------------------------------------ exit codes

/** Escrow exit codes (contracts/escrow/errors.tolk). */
export const EscrowError = {
    unknownOp: 200,
    wrongEscrow: 201,
    badSeqno: 202,
    expired: 203,
    badSignature: 204,
    closed: 205,
    zeroAmount: 206,
    insufficientBudget: 207,
    notEnoughTon: 208,
    notClient: 209,
    refundTooEarly: 210,
    nothingToRefund: 211,
    deadlinePassed: 212,
    notTonEscrow: 213,
    notJettonMaster: 214,
    walletAlreadyKnown: 215,
    jettonWalletUnknown: 216,
    badRequest: 217,
    noWalletAddress: 218,
    wrongNetwork: 219,
    feeTooHigh: 220,
    recoveryPending: 221,
    notJettonEscrow: 222,
    badRecoveryAmount: 223,
} as const;

export const EscrowState = { active: 0, closed: 1 } as const;

/** ev_closed.seqno of a close caused by the client's refund at/after the deadline. */
export const CLOSED_BY_DEADLINE_SEQNO = 0xffffffffn;

// ------------------------------------------------------------------------------ storage / config

export interface EscrowRoutes {
    vault: Address;
    treasury: Address;
}

export function buildEscrowRoutes(r: EscrowRoutes): Cell {
    return beginCell().storeAddress(r.vault).storeAddress(r.treasury).endCell();
}

export function parseEscrowRoutes(c: Cell): EscrowRoutes {
    const s = c.beginParse();
    const r = { vault: s.loadAddress(), treasury: s.loadAddress() };
    s.endParse();
    return r;
}

export interface EscrowParams {
    projectId: bigint;
    signerKey: Buffer;
    deadline: bigint;
    feeBps: bigint;
    client: Address;
    /** null for a TON escrow */
    jettonMaster: Address | null;
    routes: EscrowRoutes;
}

export function buildEscrowParams(p: EscrowParams): Cell {
    return beginCell()
        .storeUint(p.projectId, 64)
        .storeBuffer(key256(p.signerKey))
        .storeUint(p.deadline, 32)
        .storeUint(p.feeBps, 16)
        .storeAddress(p.client)
        .storeAddress(p.jettonMaster)
        .storeRef(buildEscrowRoutes(p.routes))
        .endCell();
}

export function parseEscrowParams(c: Cell): EscrowParams {
    const s = c.beginParse();
    const p = {
        projectId: s.loadUintBig(64),
        signerKey: s.loadBuffer(32),
        deadline: s.loadUintBig(32),
        feeBps: s.loadUintBig(16),
        client: s.loadAddress(),
        jettonMaster: s.loadMaybeAddress(),
        routes: parseEscrowRoutes(s.loadRef()),
    };
    s.endParse();
    return p;
}

export interface EscrowStorage {
    state: bigint;
    seqno: bigint;
    deposited: bigint;
    released: bigint;
    feesPaid: bigint;
    refunded: bigint;
    recovered: bigint;
    /** jetton recoveries started; the pending one's nonce is legQueryId(Leg.recovery, recoveries) */
    recoveries: bigint;
    /** unix time the pending recovery started, 0 = none */
    recoverySince: bigint;
    jettonWallet: Address | null;
    params: EscrowParams;
}

export function buildEscrowStorage(st: EscrowStorage): Cell {
    return beginCell()
        .storeUint(st.state, 8)
        .storeUint(st.seqno, 32)
        .storeCoins(st.deposited)
        .storeCoins(st.released)
        .storeCoins(st.feesPaid)
        .storeCoins(st.refunded)
        .storeCoins(st.recovered)
        .storeUint(st.recoveries, 32)
        .storeUint(st.recoverySince, 32)
        .storeAddress(st.jettonWallet)
        .storeRef(buildEscrowParams(st.params))
        .endCell();
}

export function parseEscrowStorage(c: Cell): EscrowStorage {
    const s = c.beginParse();
    const st = {
        state: s.loadUintBig(8),
        seqno: s.loadUintBig(32),
        deposited: s.loadCoins(),
        released: s.loadCoins(),
        feesPaid: s.loadCoins(),
        refunded: s.loadCoins(),
        recovered: s.loadCoins(),
        recoveries: s.loadUintBig(32),
        recoverySince: s.loadUintBig(32),
        jettonWallet: s.loadMaybeAddress(),
        params: parseEscrowParams(s.loadRef()),
    };
    s.endParse();
    return st;
}

/** The immutable parameters of an escrow; with the code they fix its address. */
export interface EscrowConfig {
    projectId: bigint;
    /** ed25519 public key of the signer (32 bytes) */
    signerKey: Buffer;
    /** unix time: deposits stop, the client may refund */
    deadline: number | bigint;
    /** platform fee in basis points of each release, paid on top of the amount; at most MAX_FEE_BPS */
    feeBps: number | bigint;
    client: Address;
    /** null (addr_none) for a TON escrow */
    jettonMaster: Address | null;
    vault: Address;
    treasury: Address;
}

/**
 * Initial data: state 0, seqno 0, counters 0, jetton_wallet = addr_none. A fee above
 * MAX_FEE_BPS is not refused here (tests build such escrows): the contract refuses to deploy.
 */
export function escrowConfigToCell(c: EscrowConfig): Cell {
    return buildEscrowStorage({
        state: 0n,
        seqno: 0n,
        deposited: 0n,
        released: 0n,
        feesPaid: 0n,
        refunded: 0n,
        recovered: 0n,
        recoveries: 0n,
        recoverySince: 0n,
        jettonWallet: null,
        params: {
            projectId: c.projectId,
            signerKey: c.signerKey,
            deadline: BigInt(c.deadline),
            feeBps: BigInt(c.feeBps),
            client: c.client,
            jettonMaster: c.jettonMaster,
            routes: { vault: c.vault, treasury: c.treasury },
        },
    });
}

/** The platform fee of a release: floor(amount * fee_bps / 10000). */
export function releaseFee(amount: bigint, feeBps: bigint | number): bigint {
    return (amount * BigInt(feeBps)) / 10000n;
}

// ------------------------------------------------------------------------------------- messages

export interface EscrowDeploy {
    queryId: bigint;
}

export function buildEscrowDeploy(m: EscrowDeploy): Cell {
    return beginCell().storeUint(Op.escrow_deploy, 32).storeUint(m.queryId, 64).endCell();
}

export function parseEscrowDeploy(c: Cell): EscrowDeploy {
    return parseWith(c, Op.escrow_deploy, (s) => ({ queryId: s.loadUintBig(64) }));
}

export interface EscrowDeposit {
    queryId: bigint;
    amount: bigint;
}

export function buildEscrowDeposit(m: EscrowDeposit): Cell {
    return beginCell().storeUint(Op.escrow_deposit, 32).storeUint(m.queryId, 64).storeCoins(m.amount).endCell();
}

export function parseEscrowDeposit(c: Cell): EscrowDeposit {
    return parseWith(c, Op.escrow_deposit, (s) => ({ queryId: s.loadUintBig(64), amount: s.loadCoins() }));
}

export interface ReleaseRequest {
    escrow: Address;
    /** the network's global id (GlobalId); the escrow compares it with its chain's */
    globalId: number;
    seqno: bigint;
    validUntil: bigint;
    amount: bigint;
}

export function buildReleaseRequest(m: ReleaseRequest): Cell {
    return beginCell()
        .storeUint(Op.release_request, 32)
        .storeAddress(m.escrow)
        .storeInt(m.globalId, 32)
        .storeUint(m.seqno, 32)
        .storeUint(m.validUntil, 32)
        .storeCoins(m.amount)
        .endCell();
}

export function parseReleaseRequest(c: Cell): ReleaseRequest {
    return parseWith(c, Op.release_request, (s) => ({
        escrow: s.loadAddress(),
        globalId: s.loadInt(32),
        seqno: s.loadUintBig(32),
        validUntil: s.loadUintBig(32),
        amount: s.loadCoins(),
    }));
}

export interface EscrowRelease {
    queryId: bigint;
    /** 64-byte ed25519 signature of hash(request) */
    signature: Buffer;
    /** a release_request cell */
    request: Cell;
}

export function buildEscrowRelease(m: EscrowRelease): Cell {
    return beginCell()
        .storeUint(Op.escrow_release, 32)
        .storeUint(m.queryId, 64)
        .storeBuffer(sig512(m.signature))
        .storeRef(m.request)
        .endCell();
}

export function parseEscrowRelease(c: Cell): EscrowRelease {
    return parseWith(c, Op.escrow_release, (s) => ({
        queryId: s.loadUintBig(64),
        signature: s.loadBuffer(64),
        request: s.loadRef(),
    }));
}

export interface CloseRequest {
    escrow: Address;
    /** the network's global id (GlobalId) */
    globalId: number;
    seqno: bigint;
    validUntil: bigint;
}

export function buildCloseRequest(m: CloseRequest): Cell {
    return beginCell()
        .storeUint(Op.close_request, 32)
        .storeAddress(m.escrow)
        .storeInt(m.globalId, 32)
        .storeUint(m.seqno, 32)
        .storeUint(m.validUntil, 32)
        .endCell();
}

export function parseCloseRequest(c: Cell): CloseRequest {
    return parseWith(c, Op.close_request, (s) => ({
        escrow: s.loadAddress(),
        globalId: s.loadInt(32),
        seqno: s.loadUintBig(32),
        validUntil: s.loadUintBig(32),
    }));
}

export interface EscrowClose {
    queryId: bigint;
    signature: Buffer;
    /** a close_request cell */
    request: Cell;
}

export function buildEscrowClose(m: EscrowClose): Cell {
    return beginCell()
        .storeUint(Op.escrow_close, 32)
        .storeUint(m.queryId, 64)
        .storeBuffer(sig512(m.signature))
        .storeRef(m.request)
        .endCell();
}

export function parseEscrowClose(c: Cell): EscrowClose {
    return parseWith(c, Op.escrow_close, (s) => ({
        queryId: s.loadUintBig(64),
        signature: s.loadBuffer(64),
        request: s.loadRef(),
    }));
}

export interface EscrowRefund {
    queryId: bigint;
}

export function buildEscrowRefund(m: EscrowRefund): Cell {
    return beginCell().storeUint(Op.escrow_refund, 32).storeUint(m.queryId, 64).endCell();
}

export function parseEscrowRefund(c: Cell): EscrowRefund {
    return parseWith(c, Op.escrow_refund, (s) => ({ queryId: s.loadUintBig(64) }));
}

/** vault_fund / platform_fee / escrow_refund_payment share this layout. */
export interface EscrowLeg {
    queryId: bigint;
    projectId: bigint;
    amount: bigint;
}

function buildLeg(op: number, m: EscrowLeg): Cell {
    return beginCell().storeUint(op, 32).storeUint(m.queryId, 64).storeUint(m.projectId, 64).storeCoins(m.amount).endCell();
}

function parseLeg(op: number, c: Cell): EscrowLeg {
    return parseWith(c, op, (s) => ({ queryId: s.loadUintBig(64), projectId: s.loadUintBig(64), amount: s.loadCoins() }));
}

export type VaultFund = EscrowLeg;
export type PlatformFee = EscrowLeg;
export type EscrowRefundPayment = EscrowLeg;

export const buildVaultFund = (m: VaultFund): Cell => buildLeg(Op.vault_fund, m);
export const parseVaultFund = (c: Cell): VaultFund => parseLeg(Op.vault_fund, c);
export const buildPlatformFee = (m: PlatformFee): Cell => buildLeg(Op.platform_fee, m);
export const parsePlatformFee = (c: Cell): PlatformFee => parseLeg(Op.platform_fee, c);
export const buildEscrowRefundPayment = (m: EscrowRefundPayment): Cell => buildLeg(Op.escrow_refund_payment, m);
export const parseEscrowRefundPayment = (c: Cell): EscrowRefundPayment => parseLeg(Op.escrow_refund_payment, c);

/** Splits a leg_query_id into its leg (1 vault, 2 fee, 3 refund) and seqno. */
export function parseLegQueryId(queryId: bigint): { leg: number; seqno: number } {
    return { leg: Number(queryId >> 32n), seqno: Number(queryId & 0xffffffffn) };
}

// ------------------------------------------------------------------------------- signed requests

export interface SignedRequest {
    request: Cell;
    signature: Buffer;
}

/** Builds a release_request and signs hash(request) with the signer's ed25519 secret key. */
export function signRelease(fields: ReleaseRequest, secretKey: Buffer): SignedRequest {
    const request = buildReleaseRequest(fields);
    return { request, signature: sign(request.hash(), secretKey) };
}

/** Builds a close_request and signs hash(request) with the signer's ed25519 secret key. */
export function signClose(fields: CloseRequest, secretKey: Buffer): SignedRequest {
    const request = buildCloseRequest(fields);
    return { request, signature: sign(request.hash(), secretKey) };
}

// --------------------------------------------------------------------------------------- events

export interface EvDeposit {
    queryId: bigint;
    from: Address;
    amount: bigint;
    deposited: bigint;
}

export function buildEvDeposit(e: EvDeposit): Cell {
    return beginCell()
        .storeUint(Op.ev_deposit, 32)
        .storeUint(e.queryId, 64)
        .storeAddress(e.from)
        .storeCoins(e.amount)
        .storeCoins(e.deposited)
        .endCell();
}

export function parseEvDeposit(c: Cell): EvDeposit {
    return parseWith(c, Op.ev_deposit, (s) => ({
        queryId: s.loadUintBig(64),
        from: s.loadAddress(),
        amount: s.loadCoins(),
        deposited: s.loadCoins(),
    }));
}

export interface EvRelease {
    seqno: bigint;
    amount: bigint;
    fee: bigint;
    remaining: bigint;
}

export function buildEvRelease(e: EvRelease): Cell {
    return beginCell()
        .storeUint(Op.ev_release, 32)
        .storeUint(e.seqno, 32)
        .storeCoins(e.amount)
        .storeCoins(e.fee)
        .storeCoins(e.remaining)
        .endCell();
}

export function parseEvRelease(c: Cell): EvRelease {
    return parseWith(c, Op.ev_release, (s) => ({
        seqno: s.loadUintBig(32),
        amount: s.loadCoins(),
        fee: s.loadCoins(),
        remaining: s.loadCoins(),
    }));
}

export interface EvReleaseBounced {
    queryId: bigint;
    amount: bigint;
    remaining: bigint;
}

export function buildEvReleaseBounced(e: EvReleaseBounced): Cell {
    return beginCell()
        .storeUint(Op.ev_release_bounced, 32)
        .storeUint(e.queryId, 64)
        .storeCoins(e.amount)
        .storeCoins(e.remaining)
        .endCell();
}

export function parseEvReleaseBounced(c: Cell): EvReleaseBounced {
    return parseWith(c, Op.ev_release_bounced, (s) => ({
        queryId: s.loadUintBig(64),
        amount: s.loadCoins(),
        remaining: s.loadCoins(),
    }));
}

export interface EvRefund {
    queryId: bigint;
    to: Address;
    amount: bigint;
}

export function buildEvRefund(e: EvRefund): Cell {
    return beginCell().storeUint(Op.ev_refund, 32).storeUint(e.queryId, 64).storeAddress(e.to).storeCoins(e.amount).endCell();
}

export function parseEvRefund(c: Cell): EvRefund {
    return parseWith(c, Op.ev_refund, (s) => ({ queryId: s.loadUintBig(64), to: s.loadAddress(), amount: s.loadCoins() }));
}

export interface EvRefundBounced {
    queryId: bigint;
    amount: bigint;
}

export function buildEvRefundBounced(e: EvRefundBounced): Cell {
    return beginCell().storeUint(Op.ev_refund_bounced, 32).storeUint(e.queryId, 64).storeCoins(e.amount).endCell();
}

export function parseEvRefundBounced(c: Cell): EvRefundBounced {
    return parseWith(c, Op.ev_refund_bounced, (s) => ({ queryId: s.loadUintBig(64), amount: s.loadCoins() }));
}

export interface EvClosed {
    seqno: bigint;
    remaining: bigint;
}

export function buildEvClosed(e: EvClosed): Cell {
    return beginCell().storeUint(Op.ev_closed, 32).storeUint(e.seqno, 32).storeCoins(e.remaining).endCell();
}

export function parseEvClosed(c: Cell): EvClosed {
    return parseWith(c, Op.ev_closed, (s) => ({ seqno: s.loadUintBig(32), remaining: s.loadCoins() }));
}

export interface EvJettonWalletLearned {
    wallet: Address;
}

export function buildEvJettonWalletLearned(e: EvJettonWalletLearned): Cell {
    return beginCell().storeUint(Op.ev_jetton_wallet_learned, 32).storeAddress(e.wallet).endCell();
}

export function parseEvJettonWalletLearned(c: Cell): EvJettonWalletLearned {
    return parseWith(c, Op.ev_jetton_wallet_learned, (s) => ({ wallet: s.loadAddress() }));
}

/** Any escrow event, tagged by kind. */
export type EscrowEvent =
    | ({ kind: 'deposit' } & EvDeposit)
    | ({ kind: 'release' } & EvRelease)
    | ({ kind: 'release_bounced' } & EvReleaseBounced)
    | ({ kind: 'refund' } & EvRefund)
    | ({ kind: 'refund_bounced' } & EvRefundBounced)
    | ({ kind: 'closed' } & EvClosed)
    | ({ kind: 'jetton_wallet_learned' } & EvJettonWalletLearned)
    | ({ kind: 'jetton_recovered' } & EvJettonRecovered)
    | ({ kind: 'jetton_recovery_failed' } & EvJettonRecoveryFailed);

/** Decodes an escrow event body; throws on an unknown opcode. */
export function parseEscrowEvent(c: Cell): EscrowEvent {
    const op = c.beginParse().preloadUint(32);
    switch (op) {
        case Op.ev_deposit:
            return { kind: 'deposit', ...parseEvDeposit(c) };
        case Op.ev_release:
            return { kind: 'release', ...parseEvRelease(c) };
        case Op.ev_release_bounced:
            return { kind: 'release_bounced', ...parseEvReleaseBounced(c) };
        case Op.ev_refund:
            return { kind: 'refund', ...parseEvRefund(c) };
        case Op.ev_refund_bounced:
            return { kind: 'refund_bounced', ...parseEvRefundBounced(c) };
        case Op.ev_closed:
            return { kind: 'closed', ...parseEvClosed(c) };
        case Op.ev_jetton_wallet_learned:
            return { kind: 'jetton_wallet_learned', ...parseEvJettonWalletLearned(c) };
        case Op.ev_jetton_recovered:
            return { kind: 'jetton_recovered', ...parseEvJettonRecovered(c) };
        case Op.ev_jetton_recovery_failed:
            return { kind: 'jetton_recovery_failed', ...parseEvJettonRecoveryFailed(c) };
        default:
            throw new Error(`not an escrow event: op 0x${op.toString(16)}`);
    }
}

// ------------------------------------------------------------------------------------- contract

export interface EscrowData {
    state: number;
    seqno: number;
    deposited: bigint;
    released: bigint;
    feesPaid: bigint;
    refunded: bigint;
    recovered: bigint;
    recoveries: number;
    recoverySince: number;
    jettonWallet: Address | null;
    projectId: bigint;
    signerKey: Buffer;
    deadline: number;
    feeBps: number;
    client: Address;
    jettonMaster: Address | null;
    vault: Address;
    treasury: Address;
    budget: bigint;
}

export class Escrow implements Contract {
    constructor(
        readonly address: Address,
        readonly init?: { code: Cell; data: Cell },
    ) {}

    static createFromAddress(address: Address) {
        return new Escrow(address);
    }

    static createFromConfig(config: EscrowConfig, code: Cell, workchain = 0) {
        const data = escrowConfigToCell(config);
        const init = { code, data };
        return new Escrow(contractAddress(workchain, init), init);
    }

    private static async send(provider: ContractProvider, via: Sender, value: bigint, body: Cell) {
        await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body });
    }

    /** escrow_deploy (with StateInit on the first message). */
    async sendDeploy(provider: ContractProvider, via: Sender, value: bigint = EscrowAttach.deploy, queryId = 0n) {
        await Escrow.send(provider, via, value, buildEscrowDeploy({ queryId }));
    }

    /** escrow_deposit: `value` defaults to amount + EscrowAttach.deposit. */
    async sendDeposit(provider: ContractProvider, via: Sender, opts: { amount: bigint; value?: bigint; queryId?: bigint }) {
        const value = opts.value ?? opts.amount + EscrowAttach.deposit;
        await Escrow.send(provider, via, value, buildEscrowDeposit({ queryId: opts.queryId ?? 0n, amount: opts.amount }));
    }

    async sendRelease(
        provider: ContractProvider,
        via: Sender,
        opts: SignedRequest & { value?: bigint; queryId?: bigint },
    ) {
        const body = buildEscrowRelease({ queryId: opts.queryId ?? 0n, signature: opts.signature, request: opts.request });
        await Escrow.send(provider, via, opts.value ?? EscrowAttach.releaseTon, body);
    }

    async sendClose(provider: ContractProvider, via: Sender, opts: SignedRequest & { value?: bigint; queryId?: bigint }) {
        const body = buildEscrowClose({ queryId: opts.queryId ?? 0n, signature: opts.signature, request: opts.request });
        await Escrow.send(provider, via, opts.value ?? EscrowAttach.close, body);
    }

    async sendRefund(provider: ContractProvider, via: Sender, opts: { value?: bigint; queryId?: bigint } = {}) {
        await Escrow.send(provider, via, opts.value ?? EscrowAttach.refundTon, buildEscrowRefund({ queryId: opts.queryId ?? 0n }));
    }

    /**
     * jetton_recover (anyone): asks the escrow's own jetton wallet to prove it holds budget +
     * `amount`; the proven extra is booked as `recovered`. The excess TON comes back from the
     * wallet.
     */
    async sendRecover(provider: ContractProvider, via: Sender, opts: { amount: bigint; value?: bigint; queryId?: bigint }) {
        await Escrow.send(provider, via, opts.value ?? EscrowAttach.recover, buildJettonRecover({ queryId: opts.queryId ?? 0n, amount: opts.amount }));
    }

    /** An empty-body message: tops up the gas float (never the budget). */
    async sendTopUp(provider: ContractProvider, via: Sender, value: bigint) {
        await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: Cell.EMPTY });
    }

    /** Any body, for tests of refusals. */
    async sendRaw(provider: ContractProvider, via: Sender, value: bigint, body: Cell) {
        await Escrow.send(provider, via, value, body);
    }

    async getEscrowData(provider: ContractProvider): Promise<EscrowData> {
        const r = (await provider.get('get_escrow_data', [])).stack;
        return {
            state: r.readNumber(),
            seqno: r.readNumber(),
            deposited: r.readBigNumber(),
            released: r.readBigNumber(),
            feesPaid: r.readBigNumber(),
            refunded: r.readBigNumber(),
            recovered: r.readBigNumber(),
            recoveries: r.readNumber(),
            recoverySince: r.readNumber(),
            jettonWallet: r.readAddressOpt(),
            projectId: r.readBigNumber(),
            signerKey: bigintToKey(r.readBigNumber()),
            deadline: r.readNumber(),
            feeBps: r.readNumber(),
            client: r.readAddress(),
            jettonMaster: r.readAddressOpt(),
            vault: r.readAddress(),
            treasury: r.readAddress(),
            budget: r.readBigNumber(),
        };
    }

    async getBudget(provider: ContractProvider): Promise<bigint> {
        return (await provider.get('get_budget', [])).stack.readBigNumber();
    }

    async getSeqno(provider: ContractProvider): Promise<number> {
        return (await provider.get('get_seqno', [])).stack.readNumber();
    }

    async getState(provider: ContractProvider): Promise<number> {
        return (await provider.get('get_state', [])).stack.readNumber();
    }

    async getJettonWallet(provider: ContractProvider): Promise<Address | null> {
        return (await provider.get('get_jetton_wallet', [])).stack.readAddressOpt();
    }

    async getSignerKey(provider: ContractProvider): Promise<Buffer> {
        return bigintToKey((await provider.get('get_signer_key', [])).stack.readBigNumber());
    }
}

// -------------------------------------------------------------------------------------- helpers

function parseWith<T>(c: Cell, op: number, f: (s: Slice) => T): T {
    const s = c.beginParse();
    expectOp(s, op);
    const v = f(s);
    s.endParse();
    return v;
}

function key256(k: Buffer): Buffer {
    if (k.length !== 32) throw new Error(`signer key must be 32 bytes, got ${k.length}`);
    return k;
}

function sig512(sig: Buffer): Buffer {
    if (sig.length !== 64) throw new Error(`signature must be 64 bytes, got ${sig.length}`);
    return sig;
}

function bigintToKey(v: bigint): Buffer {
    return Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
}
