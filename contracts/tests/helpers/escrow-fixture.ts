// Escrow test fixture: a sandbox with a signer key, the parties of a project and helpers to
// deploy escrows, sign requests and decode the events of a run. Used by tests/escrow*.spec.ts
// (and usable by the vault's tests for escrow -> vault flows).
import { Address, beginCell, Cell, Dictionary, Transaction } from '@ton/core';
import { KeyPair, keyPairFromSeed } from '@ton/crypto';
import { Blockchain, SandboxContract, SendMessageResult, TreasuryContract } from '@ton/sandbox';
import { loadCode } from '../../scripts/compile';
import { eventBodies } from '../../wrappers/events';
import {
    Escrow,
    EscrowAttach,
    EscrowConfig,
    EscrowEvent,
    parseEscrowEvent,
    SANDBOX_GLOBAL_ID,
    signClose,
    signRelease,
    SignedRequest,
} from '../../wrappers/Escrow';

export const NOW = 1_800_000_000;
export const DAY = 24 * 3600;

export interface EscrowEnv {
    blockchain: Blockchain;
    code: Cell;
    signer: KeyPair;
    client: SandboxContract<TreasuryContract>;
    relayer: SandboxContract<TreasuryContract>;
    vault: SandboxContract<TreasuryContract>;
    treasury: SandboxContract<TreasuryContract>;
    deployer: SandboxContract<TreasuryContract>;
}

export async function createEscrowEnv(): Promise<EscrowEnv> {
    const blockchain = await Blockchain.create();
    blockchain.now = NOW;
    return {
        blockchain,
        code: loadCode('Escrow'),
        signer: keyPairFromSeed(Buffer.alloc(32, 7)),
        client: await blockchain.treasury('client'),
        relayer: await blockchain.treasury('relayer'),
        vault: await blockchain.treasury('vault'),
        treasury: await blockchain.treasury('treasury'),
        deployer: await blockchain.treasury('deployer'),
    };
}

/** A TON escrow config (project 42, 2.5% fee, deadline in 30 days) with overrides. */
export function escrowConfig(env: EscrowEnv, o: Partial<EscrowConfig> = {}): EscrowConfig {
    return {
        projectId: 42n,
        signerKey: env.signer.publicKey,
        deadline: NOW + 30 * DAY,
        feeBps: 250,
        client: env.client.address,
        jettonMaster: null,
        vault: env.vault.address,
        treasury: env.treasury.address,
        ...o,
    };
}

/** Opens the escrow of `config` and sends escrow_deploy from the deployer. */
export async function deployEscrow(
    env: EscrowEnv,
    config: EscrowConfig,
    value: bigint = EscrowAttach.deploy,
): Promise<{ escrow: SandboxContract<Escrow>; result: SendMessageResult }> {
    const escrow = env.blockchain.openContract(Escrow.createFromConfig(config, env.code));
    const result = await escrow.sendDeploy(env.deployer.getSender(), value);
    return { escrow, result };
}

/** Decoded events emitted by `address` in a run, in order. */
export function escrowEvents(res: { transactions: Transaction[] }, address: Address): EscrowEvent[] {
    return eventBodies(res.transactions, address).map(parseEscrowEvent);
}

export async function balanceOf(blockchain: Blockchain, address: Address): Promise<bigint> {
    return (await blockchain.getContract(address)).balance;
}

/** Options of a signed request; globalId defaults to the sandbox's (mainnet, -239). */
export interface SignOpts {
    seqno?: number;
    validUntil?: number;
    escrowAddress?: Address;
    secretKey?: Buffer;
    globalId?: number;
}

/** A release signed by the env's signer for the escrow's current seqno (unless given). */
export async function signedRelease(
    env: EscrowEnv,
    escrow: SandboxContract<Escrow>,
    amount: bigint,
    o: SignOpts = {},
): Promise<SignedRequest> {
    const seqno = o.seqno ?? (await escrow.getSeqno());
    return signRelease(
        {
            escrow: o.escrowAddress ?? escrow.address,
            globalId: o.globalId ?? SANDBOX_GLOBAL_ID,
            seqno: BigInt(seqno),
            validUntil: BigInt(o.validUntil ?? env.blockchain.now! + 600),
            amount,
        },
        o.secretKey ?? env.signer.secretKey,
    );
}

export async function signedClose(env: EscrowEnv, escrow: SandboxContract<Escrow>, o: SignOpts = {}): Promise<SignedRequest> {
    const seqno = o.seqno ?? (await escrow.getSeqno());
    return signClose(
        {
            escrow: o.escrowAddress ?? escrow.address,
            globalId: o.globalId ?? SANDBOX_GLOBAL_ID,
            seqno: BigInt(seqno),
            validUntil: BigInt(o.validUntil ?? env.blockchain.now! + 600),
        },
        o.secretKey ?? env.signer.secretKey,
    );
}

/**
 * Sets config param 19 (`_ global_id:int32 = ConfigParam 19;`) of the sandbox's config, which
 * TVM's GLOBALID returns: -239 mainnet (the default), -3 testnet, 2026 the LabelMint devnet.
 */
export function setGlobalId(blockchain: Blockchain, globalId: number): void {
    const params = Dictionary.loadDirect(Dictionary.Keys.Int(32), Dictionary.Values.Cell(), blockchain.config);
    params.set(19, beginCell().storeInt(globalId, 32).endCell());
    blockchain.setConfig(beginCell().storeDictDirect(params).endCell());
}

/** Config param 19 of the sandbox's config. */
export function globalIdOf(blockchain: Blockchain): number {
    const params = Dictionary.loadDirect(Dictionary.Keys.Int(32), Dictionary.Values.Cell(), blockchain.config);
    return params.get(19)!.beginParse().loadInt(32);
}

/** The compute phase of the transaction of `to` that handled a message from `from`. */
export function computeOf(res: { transactions: Transaction[] }, to: Address, from?: Address) {
    const tx = res.transactions.find(
        (t) =>
            t.inMessage?.info.dest instanceof Address &&
            t.inMessage.info.dest.equals(to) &&
            (from === undefined || (t.inMessage.info.src instanceof Address && t.inMessage.info.src.equals(from))),
    );
    if (!tx || tx.description.type !== 'generic' || tx.description.computePhase.type !== 'vm') {
        throw new Error('no computed transaction found');
    }
    return { tx, compute: tx.description.computePhase, description: tx.description };
}

/** A random basechain address that holds no account (messages to it bounce). */
export function nowhere(seed: number, workchain = 0): Address {
    return new Address(workchain, Buffer.alloc(32, seed));
}

/**
 * A deep copy for equality assertions: Address -> raw string, Buffer -> hex, Cell -> hash hex.
 * (Two equal Address objects may differ in cached fields, which defeats jest's toEqual.)
 */
export function plain(v: unknown): any {
    if (v instanceof Address) return v.toRawString();
    if (Buffer.isBuffer(v)) return v.toString('hex');
    if (v instanceof Cell) return 'cell:' + v.hash().toString('hex');
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === 'object') {
        return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, plain(x)]));
    }
    return v;
}

/** The raw cells of a transaction's outgoing messages (as serialized on chain). */
export function rawOutMessages(tx: Transaction): Cell[] {
    const s = tx.raw.refs[0].beginParse();
    s.loadMaybeRef(); // in_msg
    return Dictionary.load(Dictionary.Keys.Uint(15), Dictionary.Values.Cell(), s).values();
}

/**
 * Asserts the decoded events `address` emitted in a run, in order, and that each was sent as
 * the scheme says: an external-out message whose body is inline (no refs at all).
 */
export function expectEvents(res: { transactions: Transaction[] }, address: Address, expected: EscrowEvent[]): void {
    expect(plain(escrowEvents(res, address))).toEqual(plain(expected));
    for (const tx of res.transactions) {
        if (!(tx.inMessage?.info.dest instanceof Address) || !tx.inMessage.info.dest.equals(address)) continue;
        for (const m of rawOutMessages(tx)) {
            if (m.beginParse().preloadUint(2) === 3) expect(m.refs).toHaveLength(0);
        }
    }
}
