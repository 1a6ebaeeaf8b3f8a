// The whole on-chain system in one @ton/sandbox: the test USD jetton, a TON and a USD payout
// vault, escrows on demand, and the parties (platform admin, client, relayer that carries signed
// messages, treasury). Used by the demo (`make up`), the gas report and the conservation test,
// so the three run the same flows the contract tests check one by one.
import { Address, Cell, external, toNano, Transaction } from '@ton/core';
import { KeyPair, keyPairFromSeed } from '@ton/crypto';
import { Blockchain, SandboxContract, SendMessageResult, TreasuryContract } from '@ton/sandbox';
import { createHash, randomBytes } from 'crypto';
import { loadCode } from './compile';
import { deployTestUsd, TestUsd } from '../tests/helpers/jetton-fixture';
import { globalIdOf } from '../tests/helpers/escrow-fixture';
import { Escrow, EscrowAttach, EscrowConfig, parseEscrowStorage, signClose, signRelease } from '../wrappers/Escrow';
import { buildVaultBatchRequest, configGlobalId, DEFAULT_ADMIN_DELAY, PayoutItem, PayoutVault, signBatch, VaultConfig } from '../wrappers/PayoutVault';

export const NOW = 1_800_000_000;
export const DAY = 86_400;
export const TON = 1_000_000_000n;
/** Jetton TON economics of a payout batch (per item): attached and forwarded to the worker. */
export const JETTON_PAYOUT_ATTACH = toNano('0.05');
export const JETTON_PAYOUT_FORWARD = 1n;

export type Kind = 'ton' | 'usd';

export interface World {
    blockchain: Blockchain;
    /** THROWAWAY signer key of the sandbox world, derived from a public seed: never use it on a real chain. */
    signer: KeyPair;
    admin: SandboxContract<TreasuryContract>;
    client: SandboxContract<TreasuryContract>;
    relayer: SandboxContract<TreasuryContract>;
    treasury: SandboxContract<TreasuryContract>;
    usd: TestUsd;
    vaults: Record<Kind, SandboxContract<PayoutVault>>;
    escrowCode: Cell;
    /** Deploys a project escrow of `kind` (fee 2.5%, deadline in 30 days unless given). */
    deployEscrow(kind: Kind, projectId: bigint, o?: Partial<EscrowConfig>): Promise<SandboxContract<Escrow>>;
    /** Client deposit: TON via escrow_deposit, USD via a jetton transfer with notification. */
    deposit(kind: Kind, escrow: SandboxContract<Escrow>, amount: bigint): Promise<SendMessageResult>;
    /** A signed release of `amount` (seqno read from the escrow), carried by the relayer. */
    release(kind: Kind, escrow: SandboxContract<Escrow>, amount: bigint): Promise<SendMessageResult>;
    close(escrow: SandboxContract<Escrow>): Promise<SendMessageResult>;
    refund(kind: Kind, escrow: SandboxContract<Escrow>): Promise<SendMessageResult>;
    /** Signs and sends a payout batch to the vault of `kind` as an external message. */
    payout(kind: Kind, items: PayoutItem[], queryId: bigint): Promise<SendMessageResult>;
}

/** A deterministic key pair from a label (throwaway, for sandbox and tests only). */
export function throwawayKey(label: string): KeyPair {
    return keyPairFromSeed(createHash('sha256').update(`labelmint-throwaway-test-key:${label}`).digest());
}

/** n distinct basechain addresses with no account on the chain (yet); random unless salted. */
export function freshAddresses(n: number, salt: string = randomBytes(8).toString('hex')): Address[] {
    return Array.from({ length: n }, (_, i) => new Address(0, createHash('sha256').update(`${salt}:${i}`).digest()));
}

export async function createWorld(o: { windowLimit?: bigint } = {}): Promise<World> {
    const blockchain = await Blockchain.create();
    blockchain.now = NOW;
    const signer = throwawayKey('signer');
    const admin = await blockchain.treasury('platform-admin', { balance: 1_000_000n * TON });
    const client = await blockchain.treasury('client', { balance: 10_000_000n * TON });
    const relayer = await blockchain.treasury('relayer', { balance: 1_000_000n * TON });
    const treasury = await blockchain.treasury('treasury');
    const usd = await deployTestUsd(blockchain, admin);
    await usd.mint(client.address, 10n ** 15n);

    const vaultCode = loadCode('PayoutVault');
    const vaultConfig = (jettonMaster: Address | null, vaultId: number): VaultConfig => ({
        signerKey: signer.publicKey,
        timeout: 3600,
        windowLen: DAY,
        windowLimit: o.windowLimit ?? 10n ** 15n,
        admin: admin.address,
        jettonMaster,
        vaultId,
        adminDelay: DEFAULT_ADMIN_DELAY,
    });
    const vaults = {
        ton: blockchain.openContract(PayoutVault.createFromConfig(vaultConfig(null, 1), vaultCode)),
        usd: blockchain.openContract(PayoutVault.createFromConfig(vaultConfig(usd.minter.address, 2), vaultCode)),
    };
    // Deploy both; the jetton vault learns its wallet (TEP-89) and keeps TON for gas.
    await vaults.ton.sendDeploy(admin.getSender(), TON);
    await vaults.usd.sendDeploy(admin.getSender(), 1000n * TON);
    if (!(await vaults.usd.getJettonWallet())) throw new Error('USD vault did not learn its jetton wallet');

    const escrowCode = loadCode('Escrow');
    // The escrow's current seqno, read from its data (a get-method run costs ~13 ms in sandbox).
    const seqnoOf = async (escrow: SandboxContract<Escrow>): Promise<bigint> => {
        const st = (await blockchain.getContract(escrow.address)).accountState;
        if (st?.type !== 'active' || !st.state.data) throw new Error('escrow is not active');
        return parseEscrowStorage(st.state.data).seqno;
    };
    const world: World = {
        blockchain,
        signer,
        admin,
        client,
        relayer,
        treasury,
        usd,
        vaults,
        escrowCode,
        async deployEscrow(kind, projectId, over = {}) {
            const config: EscrowConfig = {
                projectId,
                signerKey: signer.publicKey,
                deadline: (blockchain.now ?? NOW) + 30 * DAY,
                feeBps: 250,
                client: client.address,
                jettonMaster: kind === 'usd' ? usd.minter.address : null,
                vault: vaults[kind].address,
                treasury: treasury.address,
                ...over,
            };
            const escrow = blockchain.openContract(Escrow.createFromConfig(config, escrowCode));
            await escrow.sendDeploy(admin.getSender(), EscrowAttach.deploy);
            if (kind === 'usd' && !(await escrow.getJettonWallet())) throw new Error('escrow did not learn its jetton wallet');
            return escrow;
        },
        async deposit(kind, escrow, amount) {
            if (kind === 'ton') return escrow.sendDeposit(client.getSender(), { amount });
            const wallet = usd.walletOf(client.address);
            return wallet.sendTransfer(client.getSender(), {
                value: EscrowAttach.jettonDepositForward + toNano('0.05'),
                amount,
                destination: escrow.address,
                forwardTonAmount: EscrowAttach.jettonDepositForward,
            });
        },
        async release(kind, escrow, amount) {
            const signed = signRelease(
                { escrow: escrow.address, globalId: globalIdOf(blockchain), seqno: await seqnoOf(escrow), validUntil: BigInt((blockchain.now ?? NOW) + 600), amount },
                signer.secretKey,
            );
            const value = kind === 'ton' ? EscrowAttach.releaseTon : EscrowAttach.releaseJetton;
            return escrow.sendRelease(relayer.getSender(), { ...signed, value });
        },
        async close(escrow) {
            const signed = signClose(
                { escrow: escrow.address, globalId: globalIdOf(blockchain), seqno: await seqnoOf(escrow), validUntil: BigInt((blockchain.now ?? NOW) + 600) },
                signer.secretKey,
            );
            return escrow.sendClose(relayer.getSender(), signed);
        },
        async refund(kind, escrow) {
            const value = kind === 'ton' ? EscrowAttach.refundTon : EscrowAttach.refundJetton;
            return escrow.sendRefund(client.getSender(), { value });
        },
        async payout(kind, items, queryId) {
            const vault = vaults[kind];
            const request = buildVaultBatchRequest({
                vault: vault.address,
                globalId: configGlobalId(blockchain.config),
                queryId,
                createdAt: blockchain.now ?? NOW,
                items,
                ...(kind === 'usd' ? { attach: JETTON_PAYOUT_ATTACH, forwardTon: JETTON_PAYOUT_FORWARD } : {}),
            });
            return blockchain.sendMessage(external({ to: vault.address, body: signBatch(request, signer.secretKey) }));
        },
    };
    return world;
}

/** The transactions of `account` in a result. */
export function txsOf(res: { transactions: Transaction[] }, account: Address): Transaction[] {
    return res.transactions.filter((t) => t.inMessage?.info.dest instanceof Address && t.inMessage.info.dest.equals(account));
}
