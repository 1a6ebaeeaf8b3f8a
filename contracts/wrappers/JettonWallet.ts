// Test USD jetton wallet (contracts/jetton/wallet.tolk): storage, TEP-74 message builders and
// parsers in the house naming (build<Constructor> / parse<Constructor>), exit codes, and the
// Contract class. Opcodes come from ./opcodes; the plain TEP-74 helpers in ./tep74 stay the
// shared API for other wrappers.
import {
    Address,
    beginCell,
    Builder,
    Cell,
    Contract,
    contractAddress,
    ContractProvider,
    Sender,
    SendMode,
    Slice,
} from '@ton/core';
import { Op } from './opcodes';
import { expectOp } from './cells';

/** Exit codes of the jetton (contracts/jetton/errors.tolk). */
export const JettonError = {
    notAdmin: 700,
    notOwner: 701,
    notValidWallet: 702,
    insufficientBalance: 703,
    notEnoughTon: 704,
    wrongWorkchain: 705,
    invalidForwardPayload: 706,
    unknownOp: 707,
    invalidMintMessage: 708,
    supplyOverflow: 709,
    notMinter: 710,
    invalidCallMessage: 711,
    /** USDT's error::contract_locked, same code for the same case. */
    contractLocked: 45,
} as const;

/**
 * The wallet's lock nibble (USDT's status), set by the minter's admin with call_to + set_status.
 * Bit 1: the owner cannot transfer or burn; bit 2: incoming internal_transfer is refused (it
 * bounces and the sender's wallet restores its balance).
 */
export const WalletStatus = {
    unlocked: 0n,
    sendLocked: 1n,
    receiveLocked: 2n,
    locked: 3n,
} as const;

/**
 * A library cell (exotic, type 2) referencing `code` by its hash: what USDT's minter stores as
 * wallet code on mainnet (the code itself is published in the masterchain's libraries, config
 * param 45 style; in @ton/sandbox: `blockchain.libs`). Wallet addresses derive from this cell.
 */
export function libraryCell(code: Cell): Cell {
    const bits = beginCell().storeUint(2, 8).storeBuffer(code.hash()).endCell().bits;
    return new Cell({ exotic: true, bits });
}

/** The largest Coins value: 2^120 - 1. */
export const MAX_COINS = (1n << 120n) - 1n;

// ------------------------------------------------------------------ storage

/** jetton_wallet_storage$_ status:uint4 balance:Coins owner:MsgAddressInt minter:MsgAddressInt */
export interface JettonWalletConfig {
    status?: bigint;
    balance?: bigint;
    owner: Address;
    minter: Address;
}

export function jettonWalletConfigToCell(c: JettonWalletConfig): Cell {
    return beginCell()
        .storeUint(c.status ?? 0n, 4)
        .storeCoins(c.balance ?? 0n)
        .storeAddress(c.owner)
        .storeAddress(c.minter)
        .endCell();
}

export function parseJettonWalletStorage(c: Cell): Required<JettonWalletConfig> {
    const s = c.beginParse();
    return { status: s.loadUintBig(4), balance: s.loadCoins(), owner: s.loadAddress(), minter: s.loadAddress() };
}

/** The address of `owner`'s wallet of `minter`: StateInit(code, empty storage) in the basechain. */
export function jettonWalletAddress(owner: Address, minter: Address, walletCode: Cell, workchain = 0): Address {
    return contractAddress(workchain, { code: walletCode, data: jettonWalletConfigToCell({ owner, minter }) });
}

// ------------------------------------------------------------------ forward_payload

/**
 * forward_payload:(Either Cell ^Cell). `forwardPayload` null = left branch, empty. A cell is stored
 * by reference (right branch) unless `forwardPayloadInline` is set, in which case its bits and refs
 * follow the 0 bit (left branch). Parsers set `forwardPayloadInline` when they read a non-empty
 * left branch.
 */
export interface ForwardPayloadFields {
    forwardPayload: Cell | null;
    forwardPayloadInline?: boolean;
}

function storeEitherPayload(b: Builder, f: ForwardPayloadFields): Builder {
    if (!f.forwardPayload) return b.storeBit(0);
    if (f.forwardPayloadInline) return b.storeBit(0).storeSlice(f.forwardPayload.beginParse());
    return b.storeBit(1).storeRef(f.forwardPayload);
}

function loadEitherPayload(s: Slice): ForwardPayloadFields {
    if (s.loadBit()) {
        const ref = s.loadRef();
        s.endParse();
        return { forwardPayload: ref, forwardPayloadInline: false };
    }
    if (s.remainingBits === 0 && s.remainingRefs === 0) return { forwardPayload: null, forwardPayloadInline: false };
    return { forwardPayload: beginCell().storeSlice(s).endCell(), forwardPayloadInline: true };
}

// ------------------------------------------------------------------ TEP-74 messages

// transfer#0f8a7ea5 query_id:uint64 amount:Coins destination:MsgAddress
//     response_destination:MsgAddress custom_payload:(Maybe ^Cell)
//     forward_ton_amount:Coins forward_payload:(Either Cell ^Cell) = JettonMsg;
export interface TransferFields extends ForwardPayloadFields {
    queryId: bigint;
    amount: bigint;
    destination: Address;
    responseDestination: Address | null;
    customPayload: Cell | null;
    forwardTonAmount: bigint;
}

export function buildTransfer(f: TransferFields): Cell {
    const b = beginCell()
        .storeUint(Op.transfer, 32)
        .storeUint(f.queryId, 64)
        .storeCoins(f.amount)
        .storeAddress(f.destination)
        .storeAddress(f.responseDestination)
        .storeMaybeRef(f.customPayload)
        .storeCoins(f.forwardTonAmount);
    return storeEitherPayload(b, f).endCell();
}

export function parseTransfer(c: Cell): TransferFields {
    const s = c.beginParse();
    expectOp(s, Op.transfer);
    return {
        queryId: s.loadUintBig(64),
        amount: s.loadCoins(),
        destination: s.loadAddress(),
        responseDestination: s.loadMaybeAddress(),
        customPayload: s.loadMaybeRef(),
        forwardTonAmount: s.loadCoins(),
        ...loadEitherPayload(s),
    };
}

// internal_transfer#178d4519 query_id:uint64 amount:Coins from:MsgAddress
//     response_address:MsgAddress forward_ton_amount:Coins
//     forward_payload:(Either Cell ^Cell) = JettonMsg;
export interface InternalTransferFields extends ForwardPayloadFields {
    queryId: bigint;
    amount: bigint;
    from: Address | null;
    responseAddress: Address | null;
    forwardTonAmount: bigint;
}

export function buildInternalTransfer(f: InternalTransferFields): Cell {
    const b = beginCell()
        .storeUint(Op.internal_transfer, 32)
        .storeUint(f.queryId, 64)
        .storeCoins(f.amount)
        .storeAddress(f.from)
        .storeAddress(f.responseAddress)
        .storeCoins(f.forwardTonAmount);
    return storeEitherPayload(b, f).endCell();
}

export function parseInternalTransfer(c: Cell): InternalTransferFields {
    const s = c.beginParse();
    expectOp(s, Op.internal_transfer);
    return {
        queryId: s.loadUintBig(64),
        amount: s.loadCoins(),
        from: s.loadMaybeAddress(),
        responseAddress: s.loadMaybeAddress(),
        forwardTonAmount: s.loadCoins(),
        ...loadEitherPayload(s),
    };
}

// transfer_notification#7362d09c query_id:uint64 amount:Coins sender:MsgAddress
//     forward_payload:(Either Cell ^Cell) = JettonMsg;
export interface TransferNotificationFields extends ForwardPayloadFields {
    queryId: bigint;
    amount: bigint;
    sender: Address | null;
}

export function buildTransferNotification(f: TransferNotificationFields): Cell {
    const b = beginCell()
        .storeUint(Op.transfer_notification, 32)
        .storeUint(f.queryId, 64)
        .storeCoins(f.amount)
        .storeAddress(f.sender);
    return storeEitherPayload(b, f).endCell();
}

export function parseTransferNotification(c: Cell): TransferNotificationFields {
    const s = c.beginParse();
    expectOp(s, Op.transfer_notification);
    return { queryId: s.loadUintBig(64), amount: s.loadCoins(), sender: s.loadMaybeAddress(), ...loadEitherPayload(s) };
}

// excesses#d53276db query_id:uint64 = JettonMsg;
export interface ExcessesFields {
    queryId: bigint;
}

export function buildExcesses(f: ExcessesFields): Cell {
    return beginCell().storeUint(Op.excesses, 32).storeUint(f.queryId, 64).endCell();
}

export function parseExcesses(c: Cell): ExcessesFields {
    const s = c.beginParse();
    expectOp(s, Op.excesses);
    return { queryId: s.loadUintBig(64) };
}

// burn#595f07bc query_id:uint64 amount:Coins response_destination:MsgAddress
//     custom_payload:(Maybe ^Cell) = JettonMsg;
export interface BurnFields {
    queryId: bigint;
    amount: bigint;
    responseDestination: Address | null;
    customPayload: Cell | null;
}

export function buildBurn(f: BurnFields): Cell {
    return beginCell()
        .storeUint(Op.burn, 32)
        .storeUint(f.queryId, 64)
        .storeCoins(f.amount)
        .storeAddress(f.responseDestination)
        .storeMaybeRef(f.customPayload)
        .endCell();
}

export function parseBurn(c: Cell): BurnFields {
    const s = c.beginParse();
    expectOp(s, Op.burn);
    return {
        queryId: s.loadUintBig(64),
        amount: s.loadCoins(),
        responseDestination: s.loadMaybeAddress(),
        customPayload: s.loadMaybeRef(),
    };
}

// burn_notification#7bdd97de query_id:uint64 amount:Coins sender:MsgAddress
//     response_destination:MsgAddress = JettonMsg;
export interface BurnNotificationFields {
    queryId: bigint;
    amount: bigint;
    sender: Address | null;
    responseDestination: Address | null;
}

export function buildBurnNotification(f: BurnNotificationFields): Cell {
    return beginCell()
        .storeUint(Op.burn_notification, 32)
        .storeUint(f.queryId, 64)
        .storeCoins(f.amount)
        .storeAddress(f.sender)
        .storeAddress(f.responseDestination)
        .endCell();
}

export function parseBurnNotification(c: Cell): BurnNotificationFields {
    const s = c.beginParse();
    expectOp(s, Op.burn_notification);
    return {
        queryId: s.loadUintBig(64),
        amount: s.loadCoins(),
        sender: s.loadMaybeAddress(),
        responseDestination: s.loadMaybeAddress(),
    };
}

// set_status#eed236d3 query_id:uint64 status:uint4 = JettonMsg;   (USDT's tag)
export interface SetStatusFields {
    queryId: bigint;
    status: bigint;
}

export function buildSetStatus(f: SetStatusFields): Cell {
    return beginCell().storeUint(Op.set_status, 32).storeUint(f.queryId, 64).storeUint(f.status, 4).endCell();
}

export function parseSetStatus(c: Cell): SetStatusFields {
    const s = c.beginParse();
    expectOp(s, Op.set_status);
    const out = { queryId: s.loadUintBig(64), status: s.loadUintBig(4) };
    s.endParse();
    return out;
}

// ------------------------------------------------------------------ contract

export interface JettonWalletData {
    balance: bigint;
    owner: Address;
    minter: Address;
    walletCode: Cell;
}

export interface SendTransferOpts {
    value: bigint;
    amount: bigint;
    destination: Address;
    responseDestination?: Address | null;
    queryId?: bigint;
    customPayload?: Cell | null;
    forwardTonAmount?: bigint;
    forwardPayload?: Cell | null;
    forwardPayloadInline?: boolean;
}

export class JettonWallet implements Contract {
    constructor(
        readonly address: Address,
        readonly init?: { code: Cell; data: Cell },
    ) {}

    static createFromAddress(address: Address): JettonWallet {
        return new JettonWallet(address);
    }

    static createFromConfig(config: JettonWalletConfig, code: Cell, workchain = 0): JettonWallet {
        const data = jettonWalletConfigToCell(config);
        const init = { code, data };
        return new JettonWallet(contractAddress(workchain, init), init);
    }

    /** transfer from the owner (`via`). responseDestination defaults to the sender. */
    async sendTransfer(provider: ContractProvider, via: Sender, o: SendTransferOpts): Promise<void> {
        await provider.internal(via, {
            value: o.value,
            sendMode: SendMode.PAY_GAS_SEPARATELY,
            body: buildTransfer({
                queryId: o.queryId ?? 0n,
                amount: o.amount,
                destination: o.destination,
                responseDestination: o.responseDestination === undefined ? via.address ?? null : o.responseDestination,
                customPayload: o.customPayload ?? null,
                forwardTonAmount: o.forwardTonAmount ?? 0n,
                forwardPayload: o.forwardPayload ?? null,
                forwardPayloadInline: o.forwardPayloadInline,
            }),
        });
    }

    /** burn from the owner (`via`). responseDestination defaults to the sender. */
    async sendBurn(
        provider: ContractProvider,
        via: Sender,
        o: { value: bigint; amount: bigint; responseDestination?: Address | null; queryId?: bigint; customPayload?: Cell | null },
    ): Promise<void> {
        await provider.internal(via, {
            value: o.value,
            sendMode: SendMode.PAY_GAS_SEPARATELY,
            body: buildBurn({
                queryId: o.queryId ?? 0n,
                amount: o.amount,
                responseDestination: o.responseDestination === undefined ? via.address ?? null : o.responseDestination,
                customPayload: o.customPayload ?? null,
            }),
        });
    }

    /** Any raw body (tests: forged messages, unknown ops, empty top-ups). */
    async sendRaw(provider: ContractProvider, via: Sender, value: bigint, body: Cell, bounce = true): Promise<void> {
        await provider.internal(via, { value, bounce, sendMode: SendMode.PAY_GAS_SEPARATELY, body });
    }

    async getWalletData(provider: ContractProvider): Promise<JettonWalletData> {
        const r = (await provider.get('get_wallet_data', [])).stack;
        return { balance: r.readBigNumber(), owner: r.readAddress(), minter: r.readAddress(), walletCode: r.readCell() };
    }

    /** The jetton balance; 0 for a wallet that is not deployed yet. */
    async getJettonBalance(provider: ContractProvider): Promise<bigint> {
        const state = await provider.getState();
        if (state.state.type !== 'active') return 0n;
        return (await this.getWalletData(provider)).balance;
    }

    /** USDT's lock nibble (see WalletStatus). */
    async getStatus(provider: ContractProvider): Promise<bigint> {
        return (await provider.get('get_status', [])).stack.readBigNumber();
    }

    /** TON balance of the wallet account (nanoTON). */
    async getTonBalance(provider: ContractProvider): Promise<bigint> {
        return (await provider.getState()).balance;
    }
}
