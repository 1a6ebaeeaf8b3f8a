// Gas and fees of the escrow, measured in the sandbox (TON's default config). Fails when a
// measurement exceeds its constant in contracts/escrow/fees.tolk, when the TS mirrors in
// wrappers/Escrow.ts drift from fees.tolk, or when EscrowAttach does not cover the on-chain
// requirement. Prints a table (gas units, the escrow's total fees, what the caller spent).
import { readFileSync } from 'fs';
import path from 'path';
import { Address, toNano, Transaction } from '@ton/core';
import { SendMessageResult, SandboxContract, TreasuryContract } from '@ton/sandbox';
import '@ton/test-utils';
import { Escrow, EscrowAttach, EscrowFeeParams, releaseFee } from '../wrappers/Escrow';
import { transferNotificationBody } from '../wrappers/tep74';
import { TEST_USD } from '../wrappers/JettonMinter';
import { deployTestUsd } from './helpers/jetton-fixture';
import { balanceOf, computeOf, createEscrowEnv, DAY, deployEscrow, escrowConfig, NOW, nowhere, signedClose, signedRelease } from './helpers/escrow-fixture';

const FEES_TOLK = path.resolve(__dirname, '..', 'contracts', 'escrow', 'fees.tolk');

function tolkConstants(): Map<string, bigint> {
    const out = new Map<string, bigint>();
    for (const m of readFileSync(FEES_TOLK, 'utf-8').matchAll(/^const (\w+) = (?:ton\("([0-9.]+)"\)|(\d+))$/gm)) {
        out.set(m[1], m[2] !== undefined ? toNano(m[2]) : BigInt(m[3]));
    }
    return out;
}

// basechain prices of the sandbox's default config (param 21 gas, param 25 messages)
const GAS_PRICE = 400n; // nanoTON per gas unit above the flat part
const FLAT_GAS_LIMIT = 100n;
const FLAT_GAS_PRICE = 40_000n;
const LUMP = 400_000n;
const gasTon = (gas: bigint) => FLAT_GAS_PRICE + (gas > FLAT_GAS_LIMIT ? (gas - FLAT_GAS_LIMIT) * GAS_PRICE : 0n);
const transferMsgTon = LUMP + (1300n * 26_214_400n + 2n * 2_621_440_000n + 65535n) / 65536n;

interface Row {
    op: string;
    gas: bigint;
    constant?: bigint;
    escrowFees: bigint;
    callerSpent?: bigint;
}

function escrowTx(res: SendMessageResult, escrow: Address, from?: Address): Transaction {
    return computeOf(res, escrow, from).tx;
}

describe('Escrow gas and fees', () => {
    const rows: Row[] = [];
    const c = tolkConstants();

    afterAll(() => {
        const fmt = (v?: bigint) => (v === undefined ? '-' : v.toString());
        const lines = [
            'op | gas used | GAS_* constant | escrow tx fees (nanoTON) | caller spent (nanoTON)',
            '---|---|---|---|---',
            ...rows.map((r) => `${r.op} | ${r.gas} | ${fmt(r.constant)} | ${r.escrowFees} | ${fmt(r.callerSpent)}`),
        ];
        console.log(lines.join('\n'));
    });

    function record(op: string, tx: Transaction, constant?: bigint, callerSpent?: bigint) {
        if (tx.description.type !== 'generic' || tx.description.computePhase.type !== 'vm') throw new Error('no compute');
        const gas = tx.description.computePhase.gasUsed;
        expect(tx.description.computePhase.success).toBe(true);
        rows.push({ op, gas, constant, escrowFees: tx.totalFees.coins, callerSpent });
        if (constant !== undefined && !process.env.GAS_MEASURE_ONLY) expect(gas).toBeLessThanOrEqual(constant);
        return gas;
    }

    async function spent(w: SandboxContract<TreasuryContract>, f: () => Promise<SendMessageResult>) {
        const env0 = await balanceOfTreasury(w);
        const res = await f();
        return { res, spent: env0 - (await balanceOfTreasury(w)) };
    }
    let balanceOfTreasury: (w: SandboxContract<TreasuryContract>) => Promise<bigint>;

    it('TS mirrors equal fees.tolk', () => {
        expect({
            gasDeposit: c.get('GAS_DEPOSIT'),
            gasReleaseTon: c.get('GAS_RELEASE_TON'),
            gasReleaseJetton: c.get('GAS_RELEASE_JETTON'),
            gasClose: c.get('GAS_CLOSE'),
            gasRefundTon: c.get('GAS_REFUND_TON'),
            gasRefundJetton: c.get('GAS_REFUND_JETTON'),
            gasDeploy: c.get('GAS_DEPLOY'),
            gasRecover: c.get('GAS_RECOVER'),
            minStorageReserve: c.get('MIN_STORAGE_RESERVE'),
            discoveryTon: c.get('DISCOVERY_TON'),
            jettonTransferTon: c.get('JETTON_TRANSFER_TON'),
            vaultNotifyTon: c.get('VAULT_NOTIFY_TON'),
            recoveryNotifyTon: c.get('RECOVERY_NOTIFY_TON'),
        }).toEqual(EscrowFeeParams);
    });

    it('EscrowAttach covers the on-chain requirement plus a full storage-reserve deficit', () => {
        const p = EscrowFeeParams;
        const deficit = p.minStorageReserve;
        expect(EscrowAttach.deposit).toBeGreaterThanOrEqual(gasTon(p.gasDeposit) + LUMP);
        expect(EscrowAttach.releaseTon).toBeGreaterThanOrEqual(gasTon(p.gasReleaseTon) + 4n * LUMP + deficit);
        expect(EscrowAttach.releaseJetton).toBeGreaterThanOrEqual(
            gasTon(p.gasReleaseJetton) + LUMP + 2n * (p.jettonTransferTon + transferMsgTon) + p.vaultNotifyTon + deficit,
        );
        expect(EscrowAttach.close).toBeGreaterThanOrEqual(gasTon(p.gasClose) + 2n * LUMP + deficit);
        expect(EscrowAttach.refundTon).toBeGreaterThanOrEqual(gasTon(p.gasRefundTon) + 4n * LUMP + deficit);
        expect(EscrowAttach.refundJetton).toBeGreaterThanOrEqual(
            gasTon(p.gasRefundJetton) + 2n * LUMP + p.jettonTransferTon + transferMsgTon + deficit,
        );
        expect(EscrowAttach.deploy).toBeGreaterThanOrEqual(gasTon(p.gasDeploy) + LUMP + p.discoveryTon + p.minStorageReserve);
        expect(EscrowAttach.recover).toBeGreaterThanOrEqual(
            gasTon(p.gasRecover) + p.jettonTransferTon + transferMsgTon + p.recoveryNotifyTon + deficit,
        );
    });

    it('measures every operation', async () => {
        const env = await createEscrowEnv();
        balanceOfTreasury = (w) => balanceOf(env.blockchain, w.address);
        const TON = 1_000_000_000n;

        // ---- TON escrow
        const cfg = escrowConfig(env, { deadline: NOW + 30 * DAY });
        let r = await spent(env.deployer, async () => (await deployEscrow(env, cfg)).result);
        const escrow = env.blockchain.openContract(Escrow.createFromConfig(cfg, env.code));
        record('deploy (TON escrow)', escrowTx(r.res, escrow.address), undefined, r.spent - EscrowAttach.deploy);

        r = await spent(env.client, () => escrow.sendDeposit(env.client.getSender(), { amount: 10n * TON }));
        record('deposit (TON)', escrowTx(r.res, escrow.address), EscrowFeeParams.gasDeposit, r.spent - 10n * TON);

        r = await spent(env.relayer, async () => escrow.sendRelease(env.relayer.getSender(), await signedRelease(env, escrow, TON)));
        record('release (TON, fee > 0)', escrowTx(r.res, escrow.address), EscrowFeeParams.gasReleaseTon, r.spent);

        r = await spent(env.relayer, async () => escrow.sendClose(env.relayer.getSender(), await signedClose(env, escrow)));
        record('close', escrowTx(r.res, escrow.address), EscrowFeeParams.gasClose, r.spent);

        r = await spent(env.client, () => escrow.sendRefund(env.client.getSender()));
        const remaining = 9n * TON - releaseFee(TON, 250);
        record('refund (TON, after close)', escrowTx(r.res, escrow.address, env.client.address), EscrowFeeParams.gasRefundTon, r.spent + remaining);

        const e2 = (await deployEscrow(env, escrowConfig(env, { projectId: 2n }))).escrow;
        await e2.sendDeposit(env.client.getSender(), { amount: TON });

        const e3 = (await deployEscrow(env, escrowConfig(env, { projectId: 3n, vault: nowhere(1) }))).escrow;
        await e3.sendDeposit(env.client.getSender(), { amount: TON });
        const rb = await e3.sendRelease(env.relayer.getSender(), await signedRelease(env, e3, toNano('0.5')));
        record('bounce of vault_fund (TON)', escrowTx(rb, e3.address, nowhere(1)));

        // ---- jetton escrow
        const usd = await deployTestUsd(env.blockchain, await env.blockchain.treasury('usd-admin'));
        await usd.mint(env.client.address, 1000n * TEST_USD);
        const jcfg = escrowConfig(env, { projectId: 10n, jettonMaster: usd.minter.address });
        r = await spent(env.deployer, async () => (await deployEscrow(env, jcfg)).result);
        const je = env.blockchain.openContract(Escrow.createFromConfig(jcfg, env.code));
        record('deploy (jetton escrow: provide_wallet_address)', escrowTx(r.res, je.address, env.deployer.address), EscrowFeeParams.gasDeploy);
        record('take_wallet_address', escrowTx(r.res, je.address, usd.minter.address));
        console.log(`jetton escrow deploy: deployer spent ${r.spent} nanoTON incl. ${EscrowAttach.deploy} attached; escrow float after: ${await balanceOf(env.blockchain, je.address)}`);

        r = await spent(env.client, () =>
            usd.walletOf(env.client.address).sendTransfer(env.client.getSender(), {
                value: toNano('0.1') + EscrowAttach.jettonDepositForward,
                amount: 300n * TEST_USD,
                destination: je.address,
                responseDestination: env.client.address,
                forwardTonAmount: EscrowAttach.jettonDepositForward,
            }),
        );
        const jw = usd.walletAddressOf(je.address);
        const depGas = record('deposit (jetton: transfer_notification)', escrowTx(r.res, je.address, jw), undefined, r.spent);
        // the forward TON a depositor is told to attach pays the notification's gas and event
        expect(gasTon(depGas) + LUMP).toBeLessThan(EscrowAttach.jettonDepositForward);

        const mallory = await env.blockchain.treasury('mallory');
        const forged = await je.sendRaw(mallory.getSender(), toNano('0.05'), transferNotificationBody({ queryId: 0n, amount: 5n, sender: mallory.address, forwardPayload: null }));
        record('forged transfer_notification (returned)', escrowTx(forged, je.address, mallory.address));

        r = await spent(env.relayer, async () =>
            je.sendRelease(env.relayer.getSender(), { ...(await signedRelease(env, je, 100n * TEST_USD)), value: EscrowAttach.releaseJetton }),
        );
        record('release (jetton, fee > 0)', escrowTx(r.res, je.address), EscrowFeeParams.gasReleaseJetton, r.spent);

        r = await spent(env.relayer, async () => je.sendClose(env.relayer.getSender(), await signedClose(env, je)));
        r = await spent(env.client, () => je.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton }));
        record('refund (jetton, after close)', escrowTx(r.res, je.address, env.client.address), EscrowFeeParams.gasRefundJetton, r.spent);

        const je2 = (await deployEscrow(env, escrowConfig(env, { projectId: 11n, jettonMaster: usd.minter.address, vault: nowhere(2, -1) }))).escrow;
        await usd.walletOf(env.client.address).sendTransfer(env.client.getSender(), {
            value: toNano('0.2'),
            amount: 100n * TEST_USD,
            destination: je2.address,
            responseDestination: env.client.address,
            forwardTonAmount: EscrowAttach.jettonDepositForward,
        });
        // jetton recovery: tokens that came without a notification, then jetton_recover
        await usd.walletOf(env.client.address).sendTransfer(env.client.getSender(), {
            value: toNano('0.1'),
            amount: 5n * TEST_USD,
            destination: je2.address,
            responseDestination: env.client.address,
            forwardTonAmount: 0n,
        });
        r = await spent(env.relayer, () => je2.sendRecover(env.relayer.getSender(), { amount: 5n * TEST_USD }));
        const jw2 = usd.walletAddressOf(je2.address);
        record('jetton_recover (self-transfer request)', escrowTx(r.res, je2.address, env.relayer.address), EscrowFeeParams.gasRecover, r.spent);
        const recGas = record('recovery answer (transfer_notification, ev_jetton_recovered)', escrowTx(r.res, je2.address, jw2));
        // the forward TON of the self-transfer pays the answer's gas and event
        expect(gasTon(recGas) + LUMP).toBeLessThan(EscrowFeeParams.recoveryNotifyTon);
        const failed = await je2.sendRecover(env.relayer.getSender(), { amount: 1n });
        record('bounce of a refused recovery (ev_jetton_recovery_failed)', escrowTx(failed, je2.address, jw2));

        const jb = await je2.sendRelease(env.relayer.getSender(), { ...(await signedRelease(env, je2, 10n * TEST_USD)), value: EscrowAttach.releaseJetton });
        record('bounce of jetton transfer', escrowTx(jb, je2.address, usd.walletAddressOf(je2.address)));

        // ---- deadline refunds (time only moves forward)
        env.blockchain.now = NOW + 30 * DAY;
        r = await spent(env.client, () => e2.sendRefund(env.client.getSender()));
        record('refund (TON, deadline: +ev_closed)', escrowTx(r.res, e2.address, env.client.address), EscrowFeeParams.gasRefundTon, r.spent + TON);
        r = await spent(env.client, () => je2.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton }));
        record('refund (jetton, deadline: +ev_closed)', escrowTx(r.res, je2.address, env.client.address), EscrowFeeParams.gasRefundJetton, r.spent);

        // storage: one year of the escrow account
        const acc = await env.blockchain.getContract(escrow.address);
        const before = acc.balance;
        env.blockchain.now = NOW + 395 * DAY;
        const top = await escrow.sendTopUp(env.deployer.getSender(), toNano('0.01'));
        const tx = escrowTx(top, escrow.address);
        if (tx.description.type !== 'generic') throw new Error();
        console.log(`storage fee of a TON escrow for ~1 year: ${tx.description.storagePhase?.storageFeesCollected} nanoTON (balance before ${before})`);
    });
});
