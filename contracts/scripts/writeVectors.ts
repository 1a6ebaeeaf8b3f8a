// Writes vectors/abi.json: the shared test vectors that cross-check the TypeScript wrappers and
// the Rust ABI crate (abi/, labelmint-abi), so that no layout is typed twice unchecked.
// Run: npm run vectors. tests/vectors.spec.ts fails when the file differs from what this script
// writes now; abi/tests/it (cargo test) checks every vector in both directions.
//
// Every cell is built with the wrappers' exported build* functions (never by hand here). Format:
//
//   { "kind": <TL-B constructor name>, "name": <what the vector exercises>,
//     "fields": <the TL-B fields>, "boc": <hex BOC of the cell>, "hash": <its representation hash> }
//
// fields: TL-B field names (snake_case); integers as decimal strings; addresses raw
// "<wc>:<64 hex>" or null (addr_none); uint256 keys and bits512 signatures as hex; ^Cell as a hex
// BOC; typed refs (^ReleaseRequest, ^VaultParams, ...) as nested objects; a payout item's `next`
// as a nested item or null; a batch request's `items` as an array (the item chain in order);
// forward_payload:(Either Cell ^Cell) as null (empty, left branch), {"ref": boc} or
// {"inline": boc}; take_wallet_address.owner_address absent when the Maybe is absent, null for
// an included addr_none. A payout item's digits are not listed: they are the decimal item_id.
//
// Besides layouts:
//   payout_comment: { fields: { item_id } }: the text comment body of a payout.
//   signed_release_request | signed_close_request | signed_vault_batch_request:
//     { fields: { seed, public_key, request }, boc/hash: the request, signature }, signed with the
//     wrappers' sign helpers (ed25519 over hash(request)); Rust re-signs with the same seed.
//   escrow_address | vault_address | jetton_wallet_address:
//     { fields: the config, code_hash, address }: the wrappers' createFromConfig addresses.
//     escrow fields = escrow_params; vault fields = the deployer's VaultConfig; jetton wallet
//     fields = { owner, minter }.
import { writeFileSync, mkdirSync } from 'fs';
import path from 'path';
import { Address, beginCell, Cell } from '@ton/core';
import { keyPairFromSeed } from '@ton/crypto';
import { loadCode, ROOT } from './compile';
import * as tep74 from '../wrappers/tep74';
import * as JW from '../wrappers/JettonWallet';
import * as JM from '../wrappers/JettonMinter';
import * as E from '../wrappers/Escrow';
import * as V from '../wrappers/PayoutVault';
import * as R from '../wrappers/recovery';

export const VECTORS_FILE = path.join(ROOT, 'vectors', 'abi.json');

type Json = null | boolean | string | Json[] | { [key: string]: Json };

export interface Vector {
    kind: string;
    name: string;
    fields: Json;
    boc: string;
    hash: string;
    signature?: string;
    code_hash?: string;
    address?: string;
}

// ------------------------------------------------------------------------------ JSON conversion

/** A typed ref: the builder gets `cell`, the JSON shows `fields` (plus `extra`). */
class Ref {
    constructor(
        readonly fields: object,
        readonly cell: Cell,
        readonly extra: object = {},
    ) {}
}

function ref<T extends object>(fields: T, build: (f: T) => Cell): Ref {
    return new Ref(fields, build(fields));
}

const MAX_COINS = (1n << 120n) - 1n;
const MAX_U64 = (1n << 64n) - 1n;
const MAX_U32 = 0xffffffff;

function bocHex(c: Cell): string {
    return c.toBoc().toString('hex');
}

function snake(key: string): string {
    return key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}

function isPlain(v: unknown): v is Record<string, unknown> {
    return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

function toJson(v: unknown): Json {
    if (v === null) return null;
    if (v instanceof Ref) return { ...(toJson(v.fields) as object), ...(toJson(v.extra) as object) } as Json;
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'number') {
        if (!Number.isSafeInteger(v)) throw new Error(`not an integer: ${v}`);
        return v.toString();
    }
    if (typeof v === 'boolean' || typeof v === 'string') return v;
    if (Buffer.isBuffer(v)) return v.toString('hex');
    if (v instanceof Address) return v.toRawString();
    if (v instanceof Cell) return bocHex(v);
    if (Array.isArray(v)) return v.map(toJson);
    if (isPlain(v)) {
        const out: { [key: string]: Json } = {};
        for (const [k, x] of Object.entries(v)) {
            if (x === undefined || k === 'forwardPayloadInline') continue;
            if (k === 'forwardPayload') {
                const c = x as Cell | null;
                out.forward_payload = c === null ? null : { [v.forwardPayloadInline ? 'inline' : 'ref']: bocHex(c) };
                continue;
            }
            out[snake(k)] = toJson(x);
        }
        return out;
    }
    throw new Error(`no JSON form for ${String(v)}`);
}

/** The builder input: typed refs replaced by their cells. */
function toInput<T>(v: T): T {
    if (v instanceof Ref) return v.cell as T;
    if (Array.isArray(v)) return v.map(toInput) as T;
    if (isPlain(v)) {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) out[k] = toInput(x);
        return out as T;
    }
    return v;
}

/** JSON with object keys sorted, two-space indent: stable output for review and diffs. */
function stableStringify(v: Json, indent = ''): string {
    const next = indent + '  ';
    if (Array.isArray(v)) {
        if (v.length === 0) return '[]';
        return '[\n' + v.map((x) => next + stableStringify(x, next)).join(',\n') + '\n' + indent + ']';
    }
    if (v !== null && typeof v === 'object') {
        const keys = Object.keys(v).sort();
        if (keys.length === 0) return '{}';
        return '{\n' + keys.map((k) => `${next}${JSON.stringify(k)}: ${stableStringify(v[k], next)}`).join(',\n') + '\n' + indent + '}';
    }
    return JSON.stringify(v);
}

// ------------------------------------------------------------------------------------ fixtures

const addr = (wc: number, byte: number) => Address.parseRaw(`${wc}:${byte.toString(16).padStart(2, '0').repeat(32)}`);
const A = addr(0, 0x11);
const B = addr(0, 0x22);
const C = addr(0, 0x33);
const MC = addr(-1, 0x44); // a masterchain address, to exercise workchain -1
const MAX_ADDR = Address.parseRaw(`0:${'ff'.repeat(32)}`);
const KEY = Buffer.alloc(32, 0xab);
const SIG = Buffer.alloc(64, 0xcd);
const payload = tep74.commentBody('thanks for the labels');
const nested = beginCell().storeUint(7, 8).storeRef(beginCell().storeUint(9, 16).endCell()).endCell();
const content = JM.offchainContentCell(JM.TEST_USD_METADATA_URL);

function seedKeys(byte: number) {
    const seed = Buffer.alloc(32, byte);
    return { seed, ...keyPairFromSeed(seed) };
}

// --------------------------------------------------------------------------------- vector kinds

interface Kind<T> {
    build: (f: T) => Cell;
    /** The wrapper's parser: build(parse(cell)) must give the cell back. */
    parse?: (c: Cell) => T;
}

const vectors: Vector[] = [];

function layout<T>(kind: string, k: Kind<T>, cases: Record<string, T>, extra?: (cell: Cell) => object): void {
    for (const [name, fields] of Object.entries(cases)) {
        const input = toInput(fields);
        const cell = k.build(input);
        if (k.parse && !k.build(k.parse(cell)).equals(cell)) {
            throw new Error(`${kind}/${name}: build(parse(cell)) != cell`);
        }
        const json = toJson(fields) as { [key: string]: Json };
        vectors.push({
            kind,
            name,
            fields: extra ? { ...json, ...(toJson(extra(cell)) as object) } : json,
            boc: bocHex(cell),
            hash: cell.hash().toString('hex'),
        });
    }
}

// ----------------------------------------------------------------------------------- jetton

function jetton(): void {
    layout<JW.TransferFields>(
        'transfer',
        {
            build: JW.buildTransfer,
            parse: JW.parseTransfer,
        },
        {
            zero: {
                queryId: 0n,
                amount: 0n,
                destination: A,
                responseDestination: null,
                customPayload: null,
                forwardTonAmount: 0n,
                forwardPayload: null,
            },
            ref_payload: {
                queryId: 42n,
                amount: 25_000_000n,
                destination: B,
                responseDestination: A,
                customPayload: null,
                forwardTonAmount: 20_000_000n,
                forwardPayload: payload,
            },
            inline_payload: {
                queryId: 43n,
                amount: 1n,
                destination: B,
                responseDestination: A,
                customPayload: null,
                forwardTonAmount: 1n,
                forwardPayload: beginCell().storeUint(0, 32).storeStringTail('hi').endCell(),
                forwardPayloadInline: true,
            },
            max: {
                queryId: MAX_U64,
                amount: MAX_COINS,
                destination: MAX_ADDR,
                responseDestination: MC,
                customPayload: nested,
                forwardTonAmount: MAX_COINS,
                forwardPayload: nested,
            },
        },
    );

    layout<JW.InternalTransferFields>(
        'internal_transfer',
        {
            build: JW.buildInternalTransfer,
            parse: JW.parseInternalTransfer,
        },
        {
            mint: { queryId: 1n, amount: 1_000_000n, from: null, responseAddress: A, forwardTonAmount: 0n, forwardPayload: null },
            max_ref_payload: {
                queryId: MAX_U64,
                amount: MAX_COINS,
                from: A,
                responseAddress: null,
                forwardTonAmount: MAX_COINS,
                forwardPayload: payload,
            },
            inline_payload: {
                queryId: 5n,
                amount: 5n,
                from: B,
                responseAddress: C,
                forwardTonAmount: 1n,
                forwardPayload: nested,
                forwardPayloadInline: true,
            },
        },
    );

    layout<JW.TransferNotificationFields>(
        'transfer_notification',
        {
            build: JW.buildTransferNotification,
            parse: JW.parseTransferNotification,
        },
        {
            deposit: { queryId: 9n, amount: 100_000_000n, sender: A, forwardPayload: null },
            addr_none_sender: { queryId: 0n, amount: 0n, sender: null, forwardPayload: null },
            ref_payload: { queryId: MAX_U64, amount: MAX_COINS, sender: MC, forwardPayload: payload },
            inline_payload: { queryId: 3n, amount: 3n, sender: B, forwardPayload: payload, forwardPayloadInline: true },
        },
    );

    layout<JW.ExcessesFields>(
        'excesses',
        { build: JW.buildExcesses, parse: JW.parseExcesses },
        { zero: { queryId: 0n }, max: { queryId: MAX_U64 } },
    );

    layout<JW.BurnFields>(
        'burn',
        {
            build: JW.buildBurn,
            parse: JW.parseBurn,
        },
        {
            basic: { queryId: 1n, amount: 5_000_000n, responseDestination: A, customPayload: null },
            max_custom_payload: { queryId: MAX_U64, amount: MAX_COINS, responseDestination: null, customPayload: nested },
        },
    );

    layout<JW.BurnNotificationFields>(
        'burn_notification',
        { build: JW.buildBurnNotification, parse: JW.parseBurnNotification },
        {
            basic: { queryId: 1n, amount: 5_000_000n, sender: A, responseDestination: B },
            addr_none: { queryId: 0n, amount: 0n, sender: null, responseDestination: null },
            max: { queryId: MAX_U64, amount: MAX_COINS, sender: MAX_ADDR, responseDestination: MC },
        },
    );

    layout<JM.ProvideWalletAddressFields>(
        'provide_wallet_address',
        {
            build: JM.buildProvideWalletAddress,
            parse: JM.parseProvideWalletAddress,
        },
        {
            include: { queryId: 7n, ownerAddress: A, includeAddress: true },
            exclude: { queryId: MAX_U64, ownerAddress: MC, includeAddress: false },
            addr_none_owner: { queryId: 0n, ownerAddress: null, includeAddress: true },
        },
    );

    layout<JM.TakeWalletAddressFields>(
        'take_wallet_address',
        {
            build: JM.buildTakeWalletAddress,
            parse: JM.parseTakeWalletAddress,
        },
        {
            without_owner: { queryId: 7n, walletAddress: B },
            with_owner: { queryId: 7n, walletAddress: B, ownerAddress: A },
            owner_addr_none: { queryId: MAX_U64, walletAddress: null, ownerAddress: null },
        },
    );

    const mintMsg = (f: JW.InternalTransferFields) => ref(f, JW.buildInternalTransfer);
    layout<JM.LabelmintMintFields>(
        'labelmint_mint',
        { build: JM.buildLabelmintMint, parse: JM.parseLabelmintMint },
        {
            basic: {
                queryId: 1n,
                to: A,
                tonAmount: 50_000_000n,
                masterMsg: mintMsg({
                    queryId: 1n,
                    amount: 1_000n * JM.TEST_USD,
                    from: null,
                    responseAddress: B,
                    forwardTonAmount: 0n,
                    forwardPayload: null,
                }) as unknown as Cell,
            },
            max: {
                queryId: MAX_U64,
                to: MC,
                tonAmount: MAX_COINS,
                masterMsg: mintMsg({
                    queryId: MAX_U64,
                    amount: MAX_COINS,
                    from: A,
                    responseAddress: null,
                    forwardTonAmount: MAX_COINS,
                    forwardPayload: payload,
                }) as unknown as Cell,
            },
        },
    );

    layout<JM.LabelmintChangeAdminFields>(
        'labelmint_change_admin',
        { build: JM.buildLabelmintChangeAdmin, parse: JM.parseLabelmintChangeAdmin },
        { to_address: { queryId: 1n, newAdmin: A }, drop_admin: { queryId: MAX_U64, newAdmin: null } },
    );

    const setStatus = JW.buildSetStatus({ queryId: 3n, status: JW.WalletStatus.receiveLocked });
    layout<JM.CallToFields>(
        'call_to',
        { build: JM.buildCallTo, parse: JM.parseCallTo },
        {
            lock: { queryId: 3n, toAddress: A, tonAmount: 50_000_000n, masterMsg: setStatus },
            forced_burn: {
                queryId: MAX_U64,
                toAddress: MC,
                tonAmount: MAX_COINS,
                masterMsg: JW.buildBurn({ queryId: MAX_U64, amount: MAX_COINS, responseDestination: B, customPayload: null }),
            },
        },
    );

    layout<JW.SetStatusFields>(
        'set_status',
        { build: JW.buildSetStatus, parse: JW.parseSetStatus },
        {
            unlock: { queryId: 0n, status: JW.WalletStatus.unlocked },
            receive_locked: { queryId: 3n, status: JW.WalletStatus.receiveLocked },
            max: { queryId: MAX_U64, status: 15n },
        },
    );

    layout<Required<JW.JettonWalletConfig>>(
        'jetton_wallet_storage',
        { build: JW.jettonWalletConfigToCell, parse: JW.parseJettonWalletStorage },
        {
            initial: { status: 0n, balance: 0n, owner: A, minter: B },
            max: { status: 15n, balance: MAX_COINS, owner: MC, minter: MAX_ADDR },
        },
    );

    layout<Required<JM.JettonMinterConfig>>(
        'jetton_minter_storage',
        { build: JM.jettonMinterConfigToCell, parse: JM.parseJettonMinterStorage },
        {
            test_usd: { totalSupply: 0n, admin: A, walletCode: loadCode('JettonWallet'), content },
            admin_dropped: { totalSupply: MAX_COINS, admin: null, walletCode: nested, content },
        },
    );
}

// ----------------------------------------------------------------------------------- escrow

const routes: E.EscrowRoutes = { vault: B, treasury: C };
const tonParams: E.EscrowParams = {
    projectId: 1n,
    signerKey: KEY,
    deadline: 1_900_000_000n,
    feeBps: 250n,
    client: A,
    jettonMaster: null,
    routes,
};
const jettonParams: E.EscrowParams = {
    projectId: MAX_U64,
    signerKey: Buffer.alloc(32, 0xff),
    deadline: BigInt(MAX_U32),
    feeBps: 65535n,
    client: MC,
    jettonMaster: MAX_ADDR,
    routes: { vault: A, treasury: A },
};

function escrow(): void {
    const queryOnly = { zero: { queryId: 0n }, max: { queryId: MAX_U64 } };
    layout('escrow_deploy', { build: E.buildEscrowDeploy, parse: E.parseEscrowDeploy }, queryOnly);
    layout('escrow_refund', { build: E.buildEscrowRefund, parse: E.parseEscrowRefund }, queryOnly);
    layout(
        'escrow_deposit',
        { build: E.buildEscrowDeposit, parse: E.parseEscrowDeposit },
        { one_ton: { queryId: 1n, amount: 1_000_000_000n }, max: { queryId: MAX_U64, amount: MAX_COINS }, zero: { queryId: 0n, amount: 0n } },
    );

    const release: Record<string, E.ReleaseRequest> = {
        typical: { escrow: A, globalId: E.GlobalId.mainnet, seqno: 0n, validUntil: 1_800_000_600n, amount: 25_000_000n },
        max: { escrow: MAX_ADDR, globalId: 0x7fffffff, seqno: BigInt(MAX_U32), validUntil: BigInt(MAX_U32), amount: MAX_COINS },
        devnet: { escrow: A, globalId: E.GlobalId.devnet, seqno: 1n, validUntil: 1_800_000_600n, amount: 1n },
        min_global_id: { escrow: A, globalId: -0x80000000, seqno: 0n, validUntil: 0n, amount: 0n },
    };
    layout('release_request', { build: E.buildReleaseRequest, parse: E.parseReleaseRequest }, release);
    layout<E.EscrowRelease>(
        'escrow_release',
        { build: E.buildEscrowRelease, parse: E.parseEscrowRelease },
        {
            typical: { queryId: 1n, signature: SIG, request: ref(release.typical, E.buildReleaseRequest) as unknown as Cell },
            max: { queryId: MAX_U64, signature: Buffer.alloc(64, 0xff), request: ref(release.max, E.buildReleaseRequest) as unknown as Cell },
        },
    );

    const close: Record<string, E.CloseRequest> = {
        typical: { escrow: A, globalId: E.GlobalId.mainnet, seqno: 3n, validUntil: 1_800_000_600n },
        max: { escrow: MC, globalId: 0x7fffffff, seqno: BigInt(MAX_U32), validUntil: 0n },
        testnet: { escrow: A, globalId: E.GlobalId.testnet, seqno: 3n, validUntil: 1_800_000_600n },
    };
    layout('close_request', { build: E.buildCloseRequest, parse: E.parseCloseRequest }, close);
    layout<E.EscrowClose>(
        'escrow_close',
        { build: E.buildEscrowClose, parse: E.parseEscrowClose },
        {
            typical: { queryId: 2n, signature: SIG, request: ref(close.typical, E.buildCloseRequest) as unknown as Cell },
            max: { queryId: MAX_U64, signature: Buffer.alloc(64, 0), request: ref(close.max, E.buildCloseRequest) as unknown as Cell },
        },
    );

    const legs = {
        first_release: { queryId: E.legQueryId(E.Leg.vault, 0), projectId: 1n, amount: 25_000_000n },
        max: { queryId: MAX_U64, projectId: MAX_U64, amount: MAX_COINS },
        zero: { queryId: 0n, projectId: 0n, amount: 0n },
    };
    layout('vault_fund', { build: E.buildVaultFund, parse: E.parseVaultFund }, legs);
    layout('platform_fee', { build: E.buildPlatformFee, parse: E.parsePlatformFee }, {
        ...legs,
        first_release: { ...legs.first_release, queryId: E.legQueryId(E.Leg.fee, 0) },
    });
    layout('escrow_refund_payment', { build: E.buildEscrowRefundPayment, parse: E.parseEscrowRefundPayment }, {
        ...legs,
        first_release: { ...legs.first_release, queryId: E.legQueryId(E.Leg.refund, 7) },
    });

    layout('escrow_routes', { build: E.buildEscrowRoutes, parse: E.parseEscrowRoutes }, { typical: routes, same: jettonParams.routes });
    layout('escrow_params', { build: E.buildEscrowParams, parse: E.parseEscrowParams }, { ton: tonParams, jetton_max: jettonParams });
    layout<E.EscrowStorage>('escrow_storage', { build: E.buildEscrowStorage, parse: E.parseEscrowStorage }, {
        initial: {
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
            params: tonParams,
        },
        closed_max: {
            state: 1n,
            seqno: BigInt(MAX_U32),
            deposited: MAX_COINS,
            released: MAX_COINS,
            feesPaid: MAX_COINS,
            refunded: MAX_COINS,
            recovered: MAX_COINS,
            recoveries: BigInt(MAX_U32),
            recoverySince: BigInt(MAX_U32),
            jettonWallet: B,
            params: jettonParams,
        },
        recovery_pending: {
            state: 0n,
            seqno: 2n,
            deposited: 100_000_000n,
            released: 30_000_000n,
            feesPaid: 750_000n,
            refunded: 0n,
            recovered: 30_750_000n,
            recoveries: 2n,
            recoverySince: 1_800_000_000n,
            jettonWallet: B,
            params: jettonParams,
        },
    });

    layout('ev_deposit', { build: E.buildEvDeposit, parse: E.parseEvDeposit }, {
        first: { queryId: 1n, from: A, amount: 1_000_000_000n, deposited: 1_000_000_000n },
        max: { queryId: MAX_U64, from: MC, amount: MAX_COINS, deposited: MAX_COINS },
    });
    layout('ev_release', { build: E.buildEvRelease, parse: E.parseEvRelease }, {
        typical: { seqno: 0n, amount: 25_000_000n, fee: 625_000n, remaining: 974_375_000n },
        max: { seqno: BigInt(MAX_U32), amount: MAX_COINS, fee: MAX_COINS, remaining: 0n },
    });
    layout('ev_release_bounced', { build: E.buildEvReleaseBounced, parse: E.parseEvReleaseBounced }, {
        vault_leg: { queryId: E.legQueryId(E.Leg.vault, 4), amount: 25_000_000n, remaining: 1_000_000_000n },
        max: { queryId: MAX_U64, amount: MAX_COINS, remaining: MAX_COINS },
    });
    layout('ev_refund', { build: E.buildEvRefund, parse: E.parseEvRefund }, {
        typical: { queryId: E.legQueryId(E.Leg.refund, 2), to: A, amount: 5n },
        max: { queryId: MAX_U64, to: MC, amount: MAX_COINS },
    });
    layout('ev_refund_bounced', { build: E.buildEvRefundBounced, parse: E.parseEvRefundBounced }, {
        typical: { queryId: E.legQueryId(E.Leg.refund, 2), amount: 5n },
        zero: { queryId: 0n, amount: 0n },
    });
    layout('ev_closed', { build: E.buildEvClosed, parse: E.parseEvClosed }, {
        signed: { seqno: 3n, remaining: 100n },
        by_deadline: { seqno: E.CLOSED_BY_DEADLINE_SEQNO, remaining: MAX_COINS },
    });
    layout(
        'ev_jetton_wallet_learned',
        { build: E.buildEvJettonWalletLearned, parse: E.parseEvJettonWalletLearned },
        { basechain: { wallet: A }, masterchain: { wallet: MC } },
    );
}

// ------------------------------------------------------------------- jetton recovery (shared)

function recovery(): void {
    layout('jetton_recover', { build: R.buildJettonRecover, parse: R.parseJettonRecover }, {
        typical: { queryId: 1n, amount: 30_750_000n },
        max: { queryId: MAX_U64, amount: MAX_COINS },
    });
    layout('jetton_recovery', { build: R.buildJettonRecovery, parse: R.parseJettonRecovery }, {
        first: { nonce: E.legQueryId(E.Leg.recovery, 1) },
        max: { nonce: MAX_U64 },
    });
    layout('ev_jetton_recovered', { build: R.buildEvJettonRecovered, parse: R.parseEvJettonRecovered }, {
        typical: { queryId: E.legQueryId(E.Leg.recovery, 1), amount: 30_750_000n, booked: 100_000_000n },
        nothing: { queryId: E.legQueryId(E.Leg.recovery, 2), amount: 0n, booked: 0n },
        max: { queryId: MAX_U64, amount: MAX_COINS, booked: MAX_COINS },
    });
    layout('ev_jetton_recovery_failed', { build: R.buildEvJettonRecoveryFailed, parse: R.parseEvJettonRecoveryFailed }, {
        typical: { queryId: E.legQueryId(E.Leg.recovery, 3) },
        max: { queryId: MAX_U64 },
    });
}

// ------------------------------------------------------------------------------------ vault

function item(itemId: bigint, amount: bigint, dest: Address = A, bounceable = true): V.PayoutItem {
    return { itemId, bounceable, dest, amount };
}

const ITEM_MAX = V.MAX_ITEM_ID_EXCLUSIVE - 1n; // 17 digits

const batches: Record<string, V.VaultBatchRequestInput & { items: V.PayoutItem[] }> = {
    ton_one_item: { vault: C, globalId: V.GlobalId.mainnet, queryId: 1n, createdAt: 1_800_000_000, items: [item(0n, 1_000_000_000n, A, false)] },
    devnet: { vault: C, globalId: V.GlobalId.devnet, queryId: 2n, createdAt: 1_800_000_000, items: [item(7n, 1n, B, true)] },
    testnet: { vault: C, globalId: V.GlobalId.testnet, queryId: 3n, createdAt: 1_800_000_000, items: [item(8n, 2n, B, true)] },
    jetton_three_items: {
        vault: C,
        globalId: V.GlobalId.mainnet,
        queryId: 0x1234_5678_9abc_def0n,
        createdAt: 1_800_000_000,
        attach: 50_000_000n,
        forwardTon: 1n,
        items: [item(1n, 10n * 1_000_000n, A), item(12_345_678_901n, 1n, B, false), item(ITEM_MAX, 0n, MAX_ADDR)],
    },
    max: {
        vault: MAX_ADDR,
        globalId: -(2 ** 31),
        queryId: MAX_U64,
        createdAt: MAX_U32,
        attach: MAX_COINS,
        forwardTon: MAX_COINS,
        items: [item(ITEM_MAX, MAX_COINS, MC)],
    },
};

/** A batch request as a typed ref: JSON has items as an array plus count and total. */
function batchRef(b: V.VaultBatchRequestInput & { items: V.PayoutItem[] }): Ref {
    const cell = V.buildVaultBatchRequest(b);
    const parsed = V.parseVaultBatchRequest(cell);
    return new Ref(
        { vault: b.vault, globalId: b.globalId, queryId: b.queryId, createdAt: b.createdAt, attach: parsed.attach, forwardTon: parsed.forwardTon, items: b.items },
        cell,
        { count: parsed.count, total: parsed.total },
    );
}

/** A payout item chain as nested items (`next`). */
function chain(items: V.PayoutItem[]): V.PayoutItemFields {
    const [first, ...rest] = items;
    return { ...first, next: rest.length ? (new Ref(chain(rest), V.buildPayoutItems(rest)) as unknown as Cell) : null };
}

function vault(): void {
    layout<V.PayoutItemFields>('payout_item', { build: V.buildPayoutItem, parse: V.parsePayoutItem }, {
        item_zero: chain([item(0n, 0n)]),
        long_digits: chain([item(ITEM_MAX, MAX_COINS, MC, false)]),
        chain_of_three: chain([item(1n, 1n, A), item(22n, 2n, B, false), item(333n, 3n, C)]),
    });

    for (const [name, b] of Object.entries(batches)) {
        const r = batchRef(b);
        const cell = r.cell;
        if (!V.buildVaultBatchRequest(V.parseVaultBatchRequest(cell)).equals(cell)) {
            throw new Error(`vault_batch_request/${name}: build(parse(cell)) != cell`);
        }
        vectors.push({ kind: 'vault_batch_request', name, fields: toJson(r), boc: bocHex(cell), hash: cell.hash().toString('hex') });
    }

    layout<V.VaultBatch>('vault_batch', { build: V.buildVaultBatch, parse: V.parseVaultBatch }, {
        ton_one_item: { signature: SIG, request: batchRef(batches.ton_one_item) as unknown as Cell },
        jetton_three_items: { signature: Buffer.alloc(64, 0x01), request: batchRef(batches.jetton_three_items) as unknown as Cell },
    });

    const queryOnly = { zero: { queryId: 0n }, max: { queryId: MAX_U64 } };
    layout('vault_top_up', { build: V.buildVaultTopUp, parse: V.parseVaultTopUp }, queryOnly);
    layout('vault_freeze', { build: V.buildVaultFreeze, parse: V.parseVaultFreeze }, queryOnly);
    layout('vault_unfreeze', { build: V.buildVaultUnfreeze, parse: V.parseVaultUnfreeze }, queryOnly);
    layout('vault_set_limits', { build: V.buildVaultSetLimits, parse: V.parseVaultSetLimits }, {
        day: { queryId: 1n, windowLen: 86_400, windowLimit: 10_000n * 1_000_000n },
        max: { queryId: MAX_U64, windowLen: MAX_U32, windowLimit: MAX_COINS },
    });
    layout('vault_set_signer', { build: V.buildVaultSetSigner, parse: V.parseVaultSetSigner }, {
        typical: { queryId: 1n, signerKey: KEY },
        max: { queryId: MAX_U64, signerKey: Buffer.alloc(32, 0xff) },
    });
    layout('vault_set_admin', { build: V.buildVaultSetAdmin, parse: V.parseVaultSetAdmin }, {
        typical: { queryId: 1n, newAdmin: A },
        masterchain: { queryId: MAX_U64, newAdmin: MC },
    });
    layout('vault_apply_change', { build: V.buildVaultApplyChange, parse: V.parseVaultApplyChange }, queryOnly);
    layout('vault_cancel_change', { build: V.buildVaultCancelChange, parse: V.parseVaultCancelChange }, queryOnly);

    const changes: Record<string, V.AdminChange> = {
        limits: { kind: 'admin_change_limits', windowLen: 86_400, windowLimit: 10_000n * 1_000_000n },
        limits_max: { kind: 'admin_change_limits', windowLen: MAX_U32, windowLimit: MAX_COINS },
        signer: { kind: 'admin_change_signer', signerKey: KEY },
        admin: { kind: 'admin_change_admin', newAdmin: MC },
    };
    const pendingOf = (name: string, queryId: bigint, applyAfter: number): V.VaultPendingChange => ({ queryId, applyAfter, change: changes[name] });
    layout('vault_pending_change', { build: V.buildVaultPendingChange, parse: V.parseVaultPendingChange }, {
        limits: pendingOf('limits', 1n, 1_800_172_800),
        limits_max: pendingOf('limits_max', MAX_U64, MAX_U32),
        signer: pendingOf('signer', 2n, 1_800_172_800),
        admin: pendingOf('admin', 3n, 0),
    });
    const pendingSigner = ref(pendingOf('signer', 2n, 1_800_172_800), V.buildVaultPendingChange);

    const tonVaultParams: V.VaultParams = { admin: A, jettonMaster: null, jettonWallet: null, vaultId: 0, adminDelay: V.DEFAULT_ADMIN_DELAY, pending: null };
    const jettonVaultParams: V.VaultParams = {
        admin: MC,
        jettonMaster: B,
        jettonWallet: C,
        vaultId: MAX_U32,
        adminDelay: MAX_U32,
        pending: pendingSigner as unknown as Cell,
    };
    layout('vault_params', { build: V.buildVaultParams, parse: V.parseVaultParams }, { ton: tonVaultParams, jetton: jettonVaultParams });
    const zeroStats: V.VaultStats = V.ZERO_VAULT_STATS;
    const maxStats: V.VaultStats = {
        funded: MAX_COINS,
        paid: MAX_COINS,
        bounced: MAX_COINS,
        jettonBalance: MAX_COINS,
        recovered: MAX_COINS,
        recoveryNonce: MAX_U64,
        recovery: { startedAt: MAX_U32, amount: MAX_COINS },
    };
    const recoveringStats: V.VaultStats = {
        funded: 100_000_000n,
        paid: 40_000_000n,
        bounced: 0n,
        jettonBalance: 60_000_000n,
        recovered: 5_000_000n,
        recoveryNonce: V.recoveryNonce(3n),
        recovery: { startedAt: 1_800_000_000, amount: 70_000_000n },
    };
    layout('vault_stats', { build: V.buildVaultStats, parse: V.parseVaultStats }, { zero: zeroStats, max: maxStats, recovering: recoveringStats });
    layout<V.VaultStorage>('vault_storage', { build: V.buildVaultStorage, parse: V.parseVaultStorage }, {
        initial: {
            signerKey: KEY,
            frozen: false,
            timeout: 3600,
            lastClean: 0,
            queries: [],
            oldQueries: [],
            windowLen: 86_400,
            windowLimit: 1_000_000_000_000n,
            windowStart: 0,
            curSpent: 0n,
            prevSpent: 0n,
            params: ref(tonVaultParams, V.buildVaultParams) as unknown as Cell,
            stats: ref(zeroStats, V.buildVaultStats) as unknown as Cell,
        },
        busy_max: {
            signerKey: Buffer.alloc(32, 0xff),
            frozen: true,
            timeout: MAX_U32,
            lastClean: 1_800_000_000,
            queries: [0n, 1n, 77n, 0x1234_5678_9abc_def0n, MAX_U64],
            oldQueries: [5n],
            windowLen: MAX_U32,
            windowLimit: MAX_COINS,
            windowStart: MAX_U32,
            curSpent: MAX_COINS,
            prevSpent: MAX_COINS,
            params: new Ref(jettonVaultParams, V.buildVaultParams(toInput(jettonVaultParams))) as unknown as Cell,
            stats: ref(maxStats, V.buildVaultStats) as unknown as Cell,
        },
    });

    layout('ev_vault_funded', { build: V.buildEvVaultFunded, parse: V.parseEvVaultFunded }, {
        from_escrow: { queryId: E.legQueryId(E.Leg.vault, 0), projectId: 1n, from: A, amount: 25_000_000n },
        max: { queryId: MAX_U64, projectId: MAX_U64, from: MC, amount: MAX_COINS },
    });
    layout('ev_batch_executed', { build: V.buildEvBatchExecuted, parse: V.parseEvBatchExecuted }, {
        typical: { queryId: 1n, createdAt: 1_800_000_000, count: 3, total: 10_000_001n, windowUsed: 10_000_001n },
        max: { queryId: MAX_U64, createdAt: MAX_U32, count: 250, total: MAX_COINS, windowUsed: MAX_COINS },
    });
    layout('ev_payout_bounced', { build: V.buildEvPayoutBounced, parse: V.parseEvPayoutBounced }, {
        typical: { itemId: 12_345_678_901n, amount: 999_000_000n },
        max: { itemId: MAX_U64, amount: MAX_COINS },
    });
    layout('ev_admin_change', { build: V.buildEvAdminChange, parse: V.parseEvAdminChange }, {
        freeze: {
            queryId: 1n,
            action: V.VaultAdminAction.freeze,
            frozen: true,
            windowLen: 86_400,
            windowLimit: 1_000n,
            signerKey: KEY,
            admin: A,
        },
        set_admin_max: {
            queryId: MAX_U64,
            action: V.VaultAdminAction.setAdmin,
            frozen: false,
            windowLen: MAX_U32,
            windowLimit: MAX_COINS,
            signerKey: Buffer.alloc(32, 0xff),
            admin: MC,
        },
    });
    layout('ev_admin_change_proposed', { build: V.buildEvAdminChangeProposed, parse: V.parseEvAdminChangeProposed }, {
        limits: { queryId: 1n, applyAfter: 1_800_172_800, change: changes.limits },
        signer: { queryId: 2n, applyAfter: 1_800_172_800, change: changes.signer },
        admin_max: { queryId: MAX_U64, applyAfter: MAX_U32, change: changes.admin },
    });
    layout('ev_admin_change_cancelled', { build: V.buildEvAdminChangeCancelled, parse: V.parseEvAdminChangeCancelled }, {
        signer: { queryId: 2n, change: changes.signer },
        limits_max: { queryId: MAX_U64, change: changes.limits_max },
    });
    // the shared recovery messages as the vault uses them (nonce = 2^63 | n)
    layout('jetton_recover', { build: R.buildJettonRecover, parse: R.parseJettonRecover }, {
        vault_claim: { queryId: 5n, amount: 3_000_000n },
        vault_one_unit: { queryId: 0n, amount: 1n },
    });
    layout('jetton_recovery', { build: R.buildJettonRecovery, parse: R.parseJettonRecovery }, {
        vault_first: { nonce: V.recoveryNonce(1n) },
        vault_last: { nonce: MAX_U64 },
    });
    layout('ev_jetton_recovered', { build: R.buildEvJettonRecovered, parse: R.parseEvJettonRecovered }, {
        vault_first: { queryId: V.recoveryNonce(1n), amount: 3_000_000n, booked: 63_000_000n },
        vault_nothing: { queryId: V.recoveryNonce(2n), amount: 0n, booked: 63_000_000n },
    });
    layout('ev_jetton_recovery_failed', { build: R.buildEvJettonRecoveryFailed, parse: R.parseEvJettonRecoveryFailed }, {
        vault_first: { queryId: V.recoveryNonce(1n) },
        vault_last: { queryId: MAX_U64 },
    });
    layout('ev_gas_topped_up', { build: V.buildEvGasToppedUp, parse: V.parseEvGasToppedUp }, {
        typical: { queryId: 0n, from: A, amount: 1_000_000_000n },
        max: { queryId: MAX_U64, from: MC, amount: MAX_COINS },
    });
}

// --------------------------------------------------------------------------- payout comments

/** The text comment a payout carries: tep74.commentBody(payoutCommentText(item_id)). */
function payoutComments(): void {
    for (const [name, itemId] of Object.entries({ zero: 0n, typical: 12_345_678_901n, max_digits: ITEM_MAX })) {
        const cell = tep74.commentBody(V.payoutCommentText(itemId));
        vectors.push({ kind: 'payout_comment', name, fields: { item_id: itemId.toString() }, boc: bocHex(cell), hash: cell.hash().toString('hex') });
    }
}

// --------------------------------------------------------------------------- signed requests

function signed(kind: string, name: string, keyByte: number, request: Ref, signature: (request: Cell, secretKey: Buffer) => Buffer): void {
    const keys = seedKeys(keyByte);
    const sig = signature(request.cell, keys.secretKey);
    vectors.push({
        kind,
        name,
        fields: { seed: keys.seed.toString('hex'), public_key: keys.publicKey.toString('hex'), request: toJson(request) },
        boc: bocHex(request.cell),
        hash: request.cell.hash().toString('hex'),
        signature: sig.toString('hex'),
    });
}

function signedRequests(): void {
    const releases: Record<string, E.ReleaseRequest> = {
        typical: { escrow: A, globalId: E.GlobalId.mainnet, seqno: 5n, validUntil: 1_800_000_600n, amount: 25_000_000n },
        testnet: { escrow: A, globalId: E.GlobalId.testnet, seqno: 5n, validUntil: 1_800_000_600n, amount: 25_000_000n },
        devnet: { escrow: A, globalId: E.GlobalId.devnet, seqno: 5n, validUntil: 1_800_000_600n, amount: 25_000_000n },
    };
    for (const [name, r] of Object.entries(releases)) {
        signed('signed_release_request', name, 0x01, ref(r, E.buildReleaseRequest), (_c, sk) => E.signRelease(r, sk).signature);
    }
    const closes: Record<string, E.CloseRequest> = {
        typical: { escrow: B, globalId: E.GlobalId.mainnet, seqno: 6n, validUntil: 1_800_000_600n },
        devnet: { escrow: B, globalId: E.GlobalId.devnet, seqno: 6n, validUntil: 1_800_000_600n },
    };
    for (const [name, r] of Object.entries(closes)) {
        signed('signed_close_request', name, 0x02, ref(r, E.buildCloseRequest), (_c, sk) => E.signClose(r, sk).signature);
    }
    for (const name of ['jetton_three_items', 'devnet'] as const) {
        signed('signed_vault_batch_request', name, 0x03, batchRef(batches[name]), (c, sk) => V.parseVaultBatch(V.signBatch(c, sk)).signature);
    }
}

// ------------------------------------------------------------------------- derived addresses

function derived(kind: string, name: string, fields: unknown, code: Cell, address: Address, data: Cell): void {
    vectors.push({
        kind,
        name,
        fields: toJson(fields),
        boc: bocHex(data),
        hash: data.hash().toString('hex'),
        code_hash: code.hash().toString('hex'),
        address: address.toRawString(),
    });
}

function addresses(): void {
    const escrowCode = loadCode('Escrow');
    for (const [name, p] of Object.entries({ ton: tonParams, jetton: jettonParams })) {
        const config: E.EscrowConfig = { ...p, vault: p.routes.vault, treasury: p.routes.treasury };
        const escrowContract = E.Escrow.createFromConfig(config, escrowCode);
        derived('escrow_address', name, p, escrowCode, escrowContract.address, E.escrowConfigToCell(config));
    }

    const vaultCode = loadCode('PayoutVault');
    const vaultConfigs: Record<string, V.VaultConfig> = {
        ton: { signerKey: KEY, timeout: 3600, windowLen: 86_400, windowLimit: 1_000_000_000_000n, admin: A, jettonMaster: null, vaultId: 0, adminDelay: V.DEFAULT_ADMIN_DELAY },
        jetton: {
            signerKey: Buffer.alloc(32, 0xff),
            timeout: MAX_U32,
            windowLen: MAX_U32,
            windowLimit: MAX_COINS,
            admin: MC,
            jettonMaster: B,
            vaultId: MAX_U32,
            adminDelay: MAX_U32,
        },
    };
    for (const [name, c] of Object.entries(vaultConfigs)) {
        const v = V.PayoutVault.createFromConfig(c, vaultCode);
        derived('vault_address', name, c, vaultCode, v.address, V.vaultConfigToCell(c));
    }

    const walletCode = loadCode('JettonWallet');
    for (const [name, w] of Object.entries({ basechain: { owner: A, minter: B }, masterchain_owner: { owner: MC, minter: MAX_ADDR } })) {
        const wallet = JW.JettonWallet.createFromConfig(w, walletCode);
        if (!wallet.address.equals(JW.jettonWalletAddress(w.owner, w.minter, walletCode))) {
            throw new Error(`jetton_wallet_address/${name}: createFromConfig and jettonWalletAddress disagree`);
        }
        derived('jetton_wallet_address', name, w, walletCode, wallet.address, JW.jettonWalletConfigToCell(w));
    }
}

// ------------------------------------------------------------------------------------ output

/** Every vector, sorted by kind then name, as the text written to vectors/abi.json. */
export function renderVectors(): string {
    vectors.length = 0;
    jetton();
    escrow();
    recovery();
    vault();
    payoutComments();
    signedRequests();
    addresses();
    const seen = new Set<string>();
    for (const v of vectors) {
        const id = `${v.kind}/${v.name}`;
        if (seen.has(id)) throw new Error(`duplicate vector ${id}`);
        seen.add(id);
    }
    const sorted = [...vectors].sort((a, b) => (a.kind === b.kind ? cmp(a.name, b.name) : cmp(a.kind, b.kind)));
    const doc: Json = {
        comment: 'Generated by `npm run vectors` (contracts/scripts/writeVectors.ts): the format is described there. Do not edit.',
        vectors: sorted as unknown as Json,
    };
    return stableStringify(doc) + '\n';
}

function cmp(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

if (require.main === module) {
    const text = renderVectors();
    mkdirSync(path.dirname(VECTORS_FILE), { recursive: true });
    writeFileSync(VECTORS_FILE, text);
    console.log(`wrote ${path.relative(process.cwd(), VECTORS_FILE)} (${vectors.length} vectors)`);
}
