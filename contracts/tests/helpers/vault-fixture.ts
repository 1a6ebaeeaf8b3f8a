// PayoutVault test fixture: deploys TON and jetton vaults with a known signer and admin, builds
// and signs batches, and decodes what a batch sent. Used by tests/vault*.spec.ts.
import { Address, beginCell, Cell, Dictionary, external, Transaction } from '@ton/core';
import { Blockchain, SandboxContract, SendMessageResult, TreasuryContract } from '@ton/sandbox';
import { KeyPair, keyPairFromSeed } from '@ton/crypto';
import { createHash } from 'crypto';
import { freshAddresses } from '../../scripts/world';
import { loadCode } from '../../scripts/compile';
import {
    buildVaultBatchRequest,
    configGlobalId,
    DEFAULT_ADMIN_DELAY,
    parseVaultStorage,
    PayoutItem,
    PayoutVault,
    signBatch,
    VaultBatchRequestInput,
    VaultConfig,
} from '../../wrappers/PayoutVault';
import { eventBodies } from '../../wrappers/events';

export const NOW = 1_800_000_000;
export const TON = 1_000_000_000n;
export const TIMEOUT = 3600;
export const WINDOW_LEN = 86_400;

/** A deterministic key pair per label (signers in tests). */
export function keyPair(label: string): KeyPair {
    return keyPairFromSeed(createHash('sha256').update(`labelmint-vault-test:${label}`).digest());
}

export { freshAddresses } from '../../scripts/world';

export interface VaultEnv {
    blockchain: Blockchain;
    admin: SandboxContract<TreasuryContract>;
    funder: SandboxContract<TreasuryContract>;
    signer: KeyPair;
    vault: SandboxContract<PayoutVault>;
    config: VaultConfig;
    code: Cell;
    /** Signs and sends a batch request built from `req` (vault defaults to this vault). */
    sendBatch(req: Partial<VaultBatchRequestInput> & { items: PayoutItem[] | Cell }, secretKey?: Buffer): Promise<SendMessageResult>;
    /** The signed external body for `req` (without sending). */
    batchBody(req: Partial<VaultBatchRequestInput> & { items: PayoutItem[] | Cell }, secretKey?: Buffer): Cell;
    nextQueryId(): bigint;
    /** The deploying vault_top_up's result (for a jetton vault: includes the discovery). */
    deployResult: SendMessageResult;
}

export interface VaultEnvOptions {
    blockchain?: Blockchain;
    jettonMaster?: Address | null;
    windowLimit?: bigint;
    windowLen?: number;
    timeout?: number;
    vaultId?: number;
    /** TON sent with the deploying vault_top_up. */
    deployValue?: bigint;
    /** Seconds a power-raising admin change waits (default DEFAULT_ADMIN_DELAY, 48 h). */
    adminDelay?: number;
}

export async function createVaultEnv(opts: VaultEnvOptions = {}): Promise<VaultEnv> {
    const blockchain = opts.blockchain ?? (await Blockchain.create());
    if (!opts.blockchain) blockchain.now = NOW;
    const admin = await blockchain.treasury('admin');
    const funder = await blockchain.treasury('funder', { balance: 1_000_000n * TON });
    const signer = keyPair('signer');
    const code = loadCode('PayoutVault');
    const config: VaultConfig = {
        signerKey: signer.publicKey,
        timeout: opts.timeout ?? TIMEOUT,
        windowLen: opts.windowLen ?? WINDOW_LEN,
        windowLimit: opts.windowLimit ?? 100_000n * TON,
        admin: admin.address,
        jettonMaster: opts.jettonMaster ?? null,
        vaultId: opts.vaultId ?? 1,
        adminDelay: opts.adminDelay ?? DEFAULT_ADMIN_DELAY,
    };
    const vault = blockchain.openContract(PayoutVault.createFromConfig(config, code));
    const deployed = await vault.sendDeploy(admin.getSender(), opts.deployValue ?? TON);
    const tx = findTx(deployed.transactions, vault.address);
    if (!tx || !txSucceeded(tx)) throw new Error('vault deployment failed');

    let queryId = 1000n;
    const nextQueryId = () => ++queryId;
    const batchBody: VaultEnv['batchBody'] = (req, secretKey = signer.secretKey) =>
        signBatch(
            buildVaultBatchRequest({
                vault: vault.address,
                // the chain's own global id unless the test says otherwise
                globalId: req.globalId ?? configGlobalId(blockchain.config),
                queryId: req.queryId ?? nextQueryId(),
                createdAt: req.createdAt ?? blockchain.now ?? NOW,
                ...req,
            } as VaultBatchRequestInput),
            secretKey,
        );
    return {
        blockchain,
        admin,
        funder,
        signer,
        vault,
        config,
        code,
        batchBody,
        sendBatch: (req, secretKey) => blockchain.sendMessage(external({ to: vault.address, body: batchBody(req, secretKey) })),
        nextQueryId,
        deployResult: deployed,
    };
}

/** Replaces config params of the sandbox (param number -> its cell). */
export function setConfigParams(blockchain: Blockchain, params: Record<number, Cell>): void {
    const dict = Dictionary.loadDirect(Dictionary.Keys.Int(32), Dictionary.Values.Cell(), blockchain.config);
    for (const [k, v] of Object.entries(params)) dict.set(Number(k), v);
    blockchain.setConfig(beginCell().storeDictDirect(dict).endCell());
}

/** Sets config param 19 (the global id GLOBALID returns): -239 mainnet, -3 testnet, 2026 devnet. */
export function setGlobalId(blockchain: Blockchain, globalId: number): void {
    setConfigParams(blockchain, { 19: beginCell().storeInt(globalId, 32).endCell() });
}

/**
 * Multiplies basechain prices in the sandbox config: `fwd` scales the forward prices of param 25
 * (lump, per bit, per cell), `gas` the gas prices of param 21 (flat and per unit).
 */
export function scalePrices(blockchain: Blockchain, by: { fwd?: bigint; gas?: bigint }): void {
    const dict = Dictionary.loadDirect(Dictionary.Keys.Int(32), Dictionary.Values.Cell(), blockchain.config);
    const updates: Record<number, Cell> = {};
    if (by.fwd !== undefined) {
        const s = dict.get(25)!.beginParse();
        const tag = s.loadUint(8);
        const [lump, bit, cell] = [s.loadUintBig(64), s.loadUintBig(64), s.loadUintBig(64)];
        updates[25] = beginCell().storeUint(tag, 8).storeUint(lump * by.fwd, 64).storeUint(bit * by.fwd, 64).storeUint(cell * by.fwd, 64).storeSlice(s).endCell();
    }
    if (by.gas !== undefined) {
        const s = dict.get(21)!.beginParse();
        const b = beginCell();
        let tag = s.loadUint(8);
        if (tag === 0xd1) {
            b.storeUint(tag, 8).storeUint(s.loadUintBig(64), 64).storeUint(s.loadUintBig(64) * by.gas, 64);
            tag = s.loadUint(8);
        }
        b.storeUint(tag, 8).storeUint(s.loadUintBig(64) * by.gas, 64).storeSlice(s);
        updates[21] = b.endCell();
    }
    setConfigParams(blockchain, updates);
}

/** The vault's storage, parsed from its account data. */
export async function vaultStorage(env: { blockchain: Blockchain; vault: { address: Address } }) {
    const state = (await env.blockchain.getContract(env.vault.address)).accountState;
    if (state?.type !== 'active' || !state.state.data) throw new Error('vault not active');
    return parseVaultStorage(state.state.data);
}

/** Payout items with distinct fresh recipients and item ids. */
export function makeItems(n: number, opts: { amount?: (i: number) => bigint; bounceable?: boolean; firstId?: bigint } = {}): PayoutItem[] {
    const dests = freshAddresses(n);
    const first = opts.firstId ?? 1_000_000n;
    return dests.map((dest, i) => ({
        itemId: first + BigInt(i) * 7919n,
        bounceable: opts.bounceable ?? false,
        dest,
        amount: opts.amount ? opts.amount(i) : 1_000_000n + BigInt(i),
    }));
}

export function findTx(txs: Transaction[], on: Address): Transaction | undefined {
    return txs.find((t) => t.inMessage?.info.dest instanceof Address && t.inMessage.info.dest.equals(on));
}

export function txSucceeded(tx: Transaction): boolean {
    const d = tx.description;
    return d.type === 'generic' && d.computePhase.type === 'vm' && d.computePhase.success && !d.aborted;
}

/** The compute-phase exit code of a transaction (undefined if skipped). */
export function exitCodeOf(tx: Transaction): number | undefined {
    const d = tx.description;
    return d.type === 'generic' && d.computePhase.type === 'vm' ? d.computePhase.exitCode : undefined;
}

/** Expects an external to be refused before accept with `code`. */
export async function expectRefused(p: Promise<unknown>, code: number): Promise<void> {
    let err: unknown;
    try {
        await p;
    } catch (e) {
        err = e;
    }
    if (err === undefined) throw new Error(`external was accepted; expected refusal with exit code ${code}`);
    const got = (err as { exitCode?: number }).exitCode;
    if (got !== code) throw new Error(`expected exit code ${code}, got ${got}: ${String(err).slice(0, 400)}`);
}

/** The events the vault emitted in `txs`. */
export function vaultEvents(txs: Transaction[], vault: Address): Cell[] {
    return eventBodies(txs, vault);
}

/** Internal messages `tx` sent (in order). */
export function internalOut(tx: Transaction) {
    return [...tx.outMessages.values()].filter((m) => m.info.type === 'internal');
}

/** Deep copy with Address -> raw string and Buffer -> hex, for toEqual on parsed structs. */
export function plain(v: unknown): unknown {
    if (v instanceof Address) return v.toRawString();
    if (Buffer.isBuffer(v)) return v.toString('hex');
    if (v instanceof Cell) return `cell:${v.hash().toString('hex')}`;
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    return v;
}
