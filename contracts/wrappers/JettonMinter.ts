// Test USD jetton minter (contracts/jetton/minter.tolk): storage, metadata, the minter's messages
// (labelmint_mint, labelmint_change_admin, USDT's call_to, TEP-89 provide/take_wallet_address) and
// the Contract class. 6 decimals; metadata off-chain (TEP-64).
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
} from '@ton/core';
import { Op } from './opcodes';
import { expectOp } from './cells';
import { buildInternalTransfer, buildSetStatus, jettonWalletAddress } from './JettonWallet';

/** Decimals of the test USD (written in the off-chain metadata JSON, as for USDT). */
export const TEST_USD_DECIMALS = 6;
/** One test USD in base units. */
export const TEST_USD = 1_000_000n;
/**
 * TEP-64 off-chain metadata URL. The JSON names the token:
 * { "name": "LabelMint Test USD", "symbol": "tUSD", "decimals": "6", "description": "...test stand-in for USDT" }
 */
export const TEST_USD_METADATA_URL = 'https://labelmint.dev/jetton/labelmint-test-usd.json';

/** TEP-64 off-chain content: 0x01 followed by the URL as a snake string. */
export function offchainContentCell(url: string): Cell {
    return beginCell().storeUint(0x01, 8).storeStringTail(url).endCell();
}

/** The URL of an off-chain content cell (throws on on-chain / semi-chain content). */
export function parseOffchainContent(content: Cell): string {
    const s = content.beginParse();
    const tag = s.loadUint(8);
    if (tag !== 0x01) throw new Error(`expected off-chain content (0x01), got 0x${tag.toString(16)}`);
    return s.loadStringTail();
}

// ------------------------------------------------------------------ storage

/** jetton_minter_storage$_ total_supply:Coins admin:MsgAddress wallet_code:^Cell content:^Cell */
export interface JettonMinterConfig {
    totalSupply?: bigint;
    admin: Address | null;
    walletCode: Cell;
    content: Cell;
}

export function jettonMinterConfigToCell(c: JettonMinterConfig): Cell {
    return beginCell()
        .storeCoins(c.totalSupply ?? 0n)
        .storeAddress(c.admin)
        .storeRef(c.walletCode)
        .storeRef(c.content)
        .endCell();
}

export function parseJettonMinterStorage(c: Cell): Required<JettonMinterConfig> {
    const s = c.beginParse();
    return { totalSupply: s.loadCoins(), admin: s.loadMaybeAddress(), walletCode: s.loadRef(), content: s.loadRef() };
}

// ------------------------------------------------------------------ minter messages

// labelmint_mint#3b6a9960 query_id:uint64 to:MsgAddressInt ton_amount:Coins
//     master_msg:^JettonMsg = MinterMsg;
export interface LabelmintMintFields {
    queryId: bigint;
    to: Address;
    tonAmount: bigint;
    masterMsg: Cell;
}

export function buildLabelmintMint(f: LabelmintMintFields): Cell {
    return beginCell()
        .storeUint(Op.labelmint_mint, 32)
        .storeUint(f.queryId, 64)
        .storeAddress(f.to)
        .storeCoins(f.tonAmount)
        .storeRef(f.masterMsg)
        .endCell();
}

export function parseLabelmintMint(c: Cell): LabelmintMintFields {
    const s = c.beginParse();
    expectOp(s, Op.labelmint_mint);
    return { queryId: s.loadUintBig(64), to: s.loadAddress(), tonAmount: s.loadCoins(), masterMsg: s.loadRef() };
}

// labelmint_change_admin#6009fc83 query_id:uint64 new_admin:MsgAddress = MinterMsg;
export interface LabelmintChangeAdminFields {
    queryId: bigint;
    newAdmin: Address | null;
}

export function buildLabelmintChangeAdmin(f: LabelmintChangeAdminFields): Cell {
    return beginCell().storeUint(Op.labelmint_change_admin, 32).storeUint(f.queryId, 64).storeAddress(f.newAdmin).endCell();
}

export function parseLabelmintChangeAdmin(c: Cell): LabelmintChangeAdminFields {
    const s = c.beginParse();
    expectOp(s, Op.labelmint_change_admin);
    return { queryId: s.loadUintBig(64), newAdmin: s.loadMaybeAddress() };
}

// call_to#235caf52 query_id:uint64 to_address:MsgAddressInt ton_amount:Coins
//     master_msg:^JettonMsg = MinterMsg;   (USDT's tag)
export interface CallToFields {
    queryId: bigint;
    toAddress: Address;
    tonAmount: bigint;
    /** set_status, transfer or burn (the minter refuses anything else). */
    masterMsg: Cell;
}

export function buildCallTo(f: CallToFields): Cell {
    return beginCell()
        .storeUint(Op.call_to, 32)
        .storeUint(f.queryId, 64)
        .storeAddress(f.toAddress)
        .storeCoins(f.tonAmount)
        .storeRef(f.masterMsg)
        .endCell();
}

export function parseCallTo(c: Cell): CallToFields {
    const s = c.beginParse();
    expectOp(s, Op.call_to);
    const out = { queryId: s.loadUintBig(64), toAddress: s.loadAddress(), tonAmount: s.loadCoins(), masterMsg: s.loadRef() };
    s.endParse();
    return out;
}

// provide_wallet_address#2c76b973 query_id:uint64 owner_address:MsgAddress
//     include_address:Bool = JettonMsg;
export interface ProvideWalletAddressFields {
    queryId: bigint;
    ownerAddress: Address | null;
    includeAddress: boolean;
}

export function buildProvideWalletAddress(f: ProvideWalletAddressFields): Cell {
    return beginCell()
        .storeUint(Op.provide_wallet_address, 32)
        .storeUint(f.queryId, 64)
        .storeAddress(f.ownerAddress)
        .storeBit(f.includeAddress)
        .endCell();
}

export function parseProvideWalletAddress(c: Cell): ProvideWalletAddressFields {
    const s = c.beginParse();
    expectOp(s, Op.provide_wallet_address);
    return { queryId: s.loadUintBig(64), ownerAddress: s.loadMaybeAddress(), includeAddress: s.loadBit() };
}

// take_wallet_address#d1735400 query_id:uint64 wallet_address:MsgAddress
//     owner_address:(Maybe ^MsgAddress) = JettonMsg;
export interface TakeWalletAddressFields {
    queryId: bigint;
    walletAddress: Address | null;
    /** undefined: the Maybe is absent (include_address was false); null: present, addr_none. */
    ownerAddress?: Address | null;
}

export function buildTakeWalletAddress(f: TakeWalletAddressFields): Cell {
    const owner = f.ownerAddress === undefined ? null : beginCell().storeAddress(f.ownerAddress).endCell();
    return beginCell()
        .storeUint(Op.take_wallet_address, 32)
        .storeUint(f.queryId, 64)
        .storeAddress(f.walletAddress)
        .storeMaybeRef(owner)
        .endCell();
}

export function parseTakeWalletAddress(c: Cell): TakeWalletAddressFields {
    const s = c.beginParse();
    expectOp(s, Op.take_wallet_address);
    const queryId = s.loadUintBig(64);
    const walletAddress = s.loadMaybeAddress();
    const ownerCell = s.loadMaybeRef();
    const out: TakeWalletAddressFields = { queryId, walletAddress };
    if (ownerCell) out.ownerAddress = loadAnyAsMaybe(ownerCell.beginParse());
    return out;
}

function loadAnyAsMaybe(s: Slice): Address | null {
    const a = s.loadAddressAny();
    return a instanceof Address ? a : null;
}

// ------------------------------------------------------------------ contract

export interface JettonData {
    totalSupply: bigint;
    mintable: boolean;
    admin: Address | null;
    content: Cell;
    walletCode: Cell;
}

export interface SendMintOpts {
    to: Address;
    amount: bigint;
    /** TON the new wallet receives (default 0.05 TON). */
    tonAmount?: bigint;
    /** Value of the admin's message (default tonAmount + 0.05 TON). */
    value?: bigint;
    queryId?: bigint;
    /** internal_transfer.from, i.e. transfer_notification.sender (default: the admin). */
    from?: Address | null;
    /** Where the new wallet returns the unused TON (default: the admin). */
    responseAddress?: Address | null;
    forwardTonAmount?: bigint;
    forwardPayload?: Cell | null;
    forwardPayloadInline?: boolean;
}

export const DEFAULT_MINT_TON = 50_000_000n;
export const DEFAULT_MINT_EXTRA = 50_000_000n;
/** TON the minter forwards with a call_to's master_msg (default). */
export const DEFAULT_CALL_TO_TON = 50_000_000n;
/** What the admin attaches beyond ton_amount for the minter's gas and forward fee (default). */
export const DEFAULT_CALL_TO_EXTRA = 50_000_000n;

export class JettonMinter implements Contract {
    constructor(
        readonly address: Address,
        readonly init?: { code: Cell; data: Cell },
    ) {}

    static createFromAddress(address: Address): JettonMinter {
        return new JettonMinter(address);
    }

    static createFromConfig(config: JettonMinterConfig, code: Cell, workchain = 0): JettonMinter {
        const data = jettonMinterConfigToCell(config);
        const init = { code, data };
        return new JettonMinter(contractAddress(workchain, init), init);
    }

    /** The wallet address of `owner`, derived off-chain (must equal get_wallet_address). */
    walletAddressOf(owner: Address, walletCode: Cell): Address {
        return jettonWalletAddress(owner, this.address, walletCode);
    }

    /** Deploys the minter (empty body = TON top-up). */
    async sendDeploy(provider: ContractProvider, via: Sender, value: bigint): Promise<void> {
        await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: beginCell().endCell() });
    }

    /** labelmint_mint from the admin (`via`). */
    async sendMint(provider: ContractProvider, via: Sender, o: SendMintOpts): Promise<void> {
        const tonAmount = o.tonAmount ?? DEFAULT_MINT_TON;
        const sender = via.address ?? null;
        const masterMsg = buildInternalTransfer({
            queryId: o.queryId ?? 0n,
            amount: o.amount,
            from: o.from === undefined ? sender : o.from,
            responseAddress: o.responseAddress === undefined ? sender : o.responseAddress,
            forwardTonAmount: o.forwardTonAmount ?? 0n,
            forwardPayload: o.forwardPayload ?? null,
            forwardPayloadInline: o.forwardPayloadInline,
        });
        await provider.internal(via, {
            value: o.value ?? tonAmount + DEFAULT_MINT_EXTRA,
            sendMode: SendMode.PAY_GAS_SEPARATELY,
            body: buildLabelmintMint({ queryId: o.queryId ?? 0n, to: o.to, tonAmount, masterMsg }),
        });
    }

    async sendChangeAdmin(
        provider: ContractProvider,
        via: Sender,
        o: { newAdmin: Address | null; value?: bigint; queryId?: bigint },
    ): Promise<void> {
        await provider.internal(via, {
            value: o.value ?? 20_000_000n,
            sendMode: SendMode.PAY_GAS_SEPARATELY,
            body: buildLabelmintChangeAdmin({ queryId: o.queryId ?? 0n, newAdmin: o.newAdmin }),
        });
    }

    /**
     * USDT's call_to from the admin (`via`): the minter sends `masterMsg` (set_status, transfer or
     * burn) with `tonAmount` (default 0.05 TON) to the wallet of `to`.
     */
    async sendCallTo(
        provider: ContractProvider,
        via: Sender,
        o: { to: Address; masterMsg: Cell; tonAmount?: bigint; value?: bigint; queryId?: bigint },
    ): Promise<void> {
        const tonAmount = o.tonAmount ?? DEFAULT_CALL_TO_TON;
        await provider.internal(via, {
            value: o.value ?? tonAmount + DEFAULT_CALL_TO_EXTRA,
            sendMode: SendMode.PAY_GAS_SEPARATELY,
            body: buildCallTo({ queryId: o.queryId ?? 0n, toAddress: o.to, tonAmount, masterMsg: o.masterMsg }),
        });
    }

    /** call_to + set_status: lock (WalletStatus bits) or unlock (0) the wallet of `owner`. */
    async sendSetStatus(
        provider: ContractProvider,
        via: Sender,
        o: { owner: Address; status: bigint; tonAmount?: bigint; value?: bigint; queryId?: bigint },
    ): Promise<void> {
        const queryId = o.queryId ?? 0n;
        await this.sendCallTo(provider, via, {
            to: o.owner,
            masterMsg: buildSetStatus({ queryId, status: o.status }),
            tonAmount: o.tonAmount,
            value: o.value,
            queryId,
        });
    }

    /** TEP-89 provide_wallet_address; the minter answers `via` with take_wallet_address. */
    async sendProvideWalletAddress(
        provider: ContractProvider,
        via: Sender,
        o: { owner: Address | null; includeAddress: boolean; value?: bigint; queryId?: bigint },
    ): Promise<void> {
        await provider.internal(via, {
            value: o.value ?? 20_000_000n,
            sendMode: SendMode.PAY_GAS_SEPARATELY,
            body: buildProvideWalletAddress({ queryId: o.queryId ?? 0n, ownerAddress: o.owner, includeAddress: o.includeAddress }),
        });
    }

    /** Any raw body (tests: forged messages, unknown ops). */
    async sendRaw(provider: ContractProvider, via: Sender, value: bigint, body: Cell, bounce = true): Promise<void> {
        await provider.internal(via, { value, bounce, sendMode: SendMode.PAY_GAS_SEPARATELY, body });
    }

    async getJettonData(provider: ContractProvider): Promise<JettonData> {
        const r = (await provider.get('get_jetton_data', [])).stack;
        return {
            totalSupply: r.readBigNumber(),
            mintable: r.readBoolean(),
            admin: r.readAddressOpt(),
            content: r.readCell(),
            walletCode: r.readCell(),
        };
    }

    async getTotalSupply(provider: ContractProvider): Promise<bigint> {
        return (await this.getJettonData(provider)).totalSupply;
    }

    async getWalletAddress(provider: ContractProvider, owner: Address): Promise<Address> {
        const r = await provider.get('get_wallet_address', [
            { type: 'slice', cell: beginCell().storeAddress(owner).endCell() },
        ]);
        return r.stack.readAddress();
    }
}
