// Writes indexer/tests/fixtures/flows.json: real transactions of LabelMint Pay's money flow,
// executed by @ton/sandbox with the committed contract code, for the Rust indexer's decoding
// tests. Each transaction carries its raw BOC and the facts @ton/core reads from it, so the
// Rust decoder is checked against an independent parser.
//
//   cd contracts && npx ts-node scripts/indexerFixtures.ts
//
// Steps: TON deposit, test-USD deposit, TON release, a TON payout batch of 3 where one payout
// bounces (a bounceable transfer to a wallet that does not exist), a USD batch, close, refund.
//
// Also writes indexer/tests/fixtures/jetton_bounces.json: jetton transfers refused by a
// recipient's jetton wallet that the test USD's admin locked (USDT's call_to + set_status). The
// refused internal_transfer bounces to the sender's jetton wallet (the escrow's or the vault's),
// which restores its balance and tells its owner nothing; the indexer decodes those bounces.
// Steps: a USD escrow deployed here (its ev_jetton_wallet_learned is recorded), a deposit, the
// treasury locked, a release whose fee (leg 2) bounces, a worker locked, a USD batch whose item
// 2002 bounces at that worker's wallet, the client locked, close, a refund (leg 3) that bounces.
import { Address, Transaction } from '@ton/core';
import { SendMessageResult } from '@ton/sandbox';
import { writeFileSync, mkdirSync } from 'fs';
import { join } from 'path';
import { createWorld, DAY, freshAddresses, NOW, TON } from './world';
import { PayoutItem } from '../wrappers/PayoutVault';
import { TEST_USD } from '../wrappers/JettonMinter';
import { WalletStatus } from '../wrappers/JettonWallet';
import { Escrow, EscrowAttach, EscrowConfig } from '../wrappers/Escrow';

const FIXTURES_DIR = join(__dirname, '..', '..', 'indexer', 'tests', 'fixtures');

function raw(a: Address): string {
    return `${a.workChain}:${a.hash.toString('hex')}`;
}

function addr(a: unknown): string | null {
    return a instanceof Address ? raw(a) : null;
}

function facts(tx: Transaction) {
    const d = tx.description;
    let computeExitCode: number | null = null;
    let aborted: boolean | null = null;
    if (d.type === 'generic') {
        aborted = d.aborted;
        if (d.computePhase.type === 'vm') computeExitCode = d.computePhase.exitCode;
    }
    const msgs = [];
    if (tx.inMessage) {
        const m = tx.inMessage;
        msgs.push({
            direction: 'in',
            idx: 0,
            kind: m.info.type,
            src: addr(m.info.src),
            dst: addr(m.info.dest),
            value: m.info.type === 'internal' ? m.info.value.coins.toString() : null,
            bounce: m.info.type === 'internal' ? m.info.bounce : null,
            bounced: m.info.type === 'internal' ? m.info.bounced : null,
            bodyHash: m.body.hash().toString('hex'),
        });
    }
    for (const [idx, m] of tx.outMessages) {
        msgs.push({
            direction: 'out',
            idx,
            kind: m.info.type,
            src: addr(m.info.src),
            dst: addr(m.info.dest),
            value: m.info.type === 'internal' ? m.info.value.coins.toString() : null,
            bounce: m.info.type === 'internal' ? m.info.bounce : null,
            bounced: m.info.type === 'internal' ? m.info.bounced : null,
            bodyHash: m.body.hash().toString('hex'),
        });
    }
    return {
        account: `0:${tx.address.toString(16).padStart(64, '0')}`,
        lt: tx.lt.toString(),
        hash: tx.hash().toString('hex'),
        now: tx.now,
        origStatus: tx.oldStatus,
        endStatus: tx.endStatus,
        totalFees: tx.totalFees.coins.toString(),
        computeExitCode,
        aborted,
        outMsgCount: tx.outMessagesCount,
        messages: msgs,
        boc: tx.raw.toBoc().toString('base64'),
    };
}

async function main() {
    const w = await createWorld();
    const steps: { name: string; transactions: ReturnType<typeof facts>[] }[] = [];
    const step = (name: string, res: SendMessageResult) => {
        steps.push({ name, transactions: res.transactions.map(facts) });
    };

    const tonEscrow = await w.deployEscrow('ton', 1n);
    const usdEscrow = await w.deployEscrow('usd', 2n);
    step('ton_deposit', await w.deposit('ton', tonEscrow, 100n * TON));
    step('usd_deposit', await w.deposit('usd', usdEscrow, 5_000n * TEST_USD));
    step('ton_release', await w.release('ton', tonEscrow, 40n * TON));
    const workers = freshAddresses(2, 'indexer-fixture-workers');
    const ghost = freshAddresses(1, 'indexer-fixture-ghost')[0];
    const tonItems: PayoutItem[] = [
        { itemId: 1001n, bounceable: false, dest: workers[0], amount: 12n * TON },
        { itemId: 1002n, bounceable: false, dest: workers[1], amount: 7n * TON },
        { itemId: 1003n, bounceable: true, dest: ghost, amount: 3n * TON },
    ];
    step('ton_batch_with_bounce', await w.payout('ton', tonItems, 1n));
    step('ton_close', await w.close(tonEscrow));
    step('ton_refund', await w.refund('ton', tonEscrow));

    const out = {
        comment:
            'Generated by contracts/scripts/indexerFixtures.ts (@ton/sandbox, committed contract code). Do not edit by hand.',
        accounts: {
            tonEscrow: raw(tonEscrow.address),
            usdEscrow: raw(usdEscrow.address),
            tonVault: raw(w.vaults.ton.address),
            usdVault: raw(w.vaults.usd.address),
            client: raw(w.client.address),
            ghost: raw(ghost),
        },
        steps,
    };
    mkdirSync(FIXTURES_DIR, { recursive: true });
    writeFileSync(join(FIXTURES_DIR, 'flows.json'), JSON.stringify(out, null, 1) + '\n');
    const n = steps.reduce((s, x) => s + x.transactions.length, 0);
    console.log(`wrote ${n} transactions in ${steps.length} steps to indexer/tests/fixtures/flows.json`);
    await jettonBounces();
}

/** The payout items of the jetton_bounces batch (2002 goes to the locked worker). */
const BOUNCE_ITEMS = { paid: 2001n, refused: 2002n } as const;

async function jettonBounces() {
    const w = await createWorld();
    const steps: { name: string; transactions: ReturnType<typeof facts>[] }[] = [];
    const step = (name: string, res: SendMessageResult) => {
        steps.push({ name, transactions: res.transactions.map(facts) });
    };
    const usd = w.usd;
    const mustBounce = (name: string, res: SendMessageResult, at: Address) => {
        const refused = res.transactions.some(
            (t) =>
                t.inMessage?.info.dest instanceof Address &&
                t.inMessage.info.dest.equals(at) &&
                t.description.type === 'generic' &&
                t.description.computePhase.type === 'vm' &&
                t.description.computePhase.exitCode === 45,
        );
        if (!refused) throw new Error(`${name}: the locked wallet ${at} did not refuse the transfer`);
        step(name, res);
    };

    // A USD escrow deployed here rather than by world.deployEscrow, so that its deploy trace
    // (TEP-89 discovery, ev_jetton_wallet_learned) is part of the fixture.
    const config: EscrowConfig = {
        projectId: 7n,
        signerKey: w.signer.publicKey,
        deadline: NOW + 30 * DAY,
        feeBps: 250,
        client: w.client.address,
        jettonMaster: usd.minter.address,
        vault: w.vaults.usd.address,
        treasury: w.treasury.address,
    };
    const escrow = w.blockchain.openContract(Escrow.createFromConfig(config, w.escrowCode));
    step('usd_escrow_deploy', await escrow.sendDeploy(w.admin.getSender(), EscrowAttach.deploy));
    const escrowWallet = await escrow.getJettonWallet();
    const vaultWallet = await w.vaults.usd.getJettonWallet();
    if (!escrowWallet || !vaultWallet) throw new Error('jetton wallets not learned');
    step('usd_deposit', await w.deposit('usd', escrow, 1_000n * TEST_USD));
    step('lock_treasury', await usd.setStatus(w.treasury.address, WalletStatus.receiveLocked));
    // 400 USD to the vault (leg 1) and a 10 USD fee (leg 2) that the treasury's wallet refuses
    mustBounce('usd_release_fee_refused', await w.release('usd', escrow, 400n * TEST_USD), usd.walletAddressOf(w.treasury.address));
    const workers = freshAddresses(2, 'indexer-fixture-jetton-workers');
    step('lock_worker', await usd.setStatus(workers[1], WalletStatus.receiveLocked));
    const items: PayoutItem[] = [
        { itemId: BOUNCE_ITEMS.paid, bounceable: false, dest: workers[0], amount: 100n * TEST_USD },
        { itemId: BOUNCE_ITEMS.refused, bounceable: false, dest: workers[1], amount: 50n * TEST_USD },
    ];
    mustBounce('usd_batch_item_refused', await w.payout('usd', items, 1n), usd.walletAddressOf(workers[1]));
    step('lock_client', await usd.setStatus(w.client.address, WalletStatus.receiveLocked));
    step('usd_close', await w.close(escrow));
    mustBounce('usd_refund_refused', await w.refund('usd', escrow), usd.walletAddressOf(w.client.address));

    const out = {
        comment:
            'Generated by contracts/scripts/indexerFixtures.ts (@ton/sandbox, committed contract code, the test USD with USDT\'s lock). Do not edit by hand.',
        accounts: {
            usdEscrow: raw(escrow.address),
            usdEscrowJettonWallet: raw(escrowWallet),
            usdVault: raw(w.vaults.usd.address),
            usdVaultJettonWallet: raw(vaultWallet),
            minter: raw(usd.minter.address),
            client: raw(w.client.address),
            clientJettonWallet: raw(usd.walletAddressOf(w.client.address)),
            treasury: raw(w.treasury.address),
            treasuryJettonWallet: raw(usd.walletAddressOf(w.treasury.address)),
            paidWorker: raw(workers[0]),
            lockedWorker: raw(workers[1]),
            lockedWorkerJettonWallet: raw(usd.walletAddressOf(workers[1])),
        },
        steps,
    };
    writeFileSync(join(FIXTURES_DIR, 'jetton_bounces.json'), JSON.stringify(out, null, 1) + '\n');
    const n = steps.reduce((s, x) => s + x.transactions.length, 0);
    console.log(`wrote ${n} transactions in ${steps.length} steps to indexer/tests/fixtures/jetton_bounces.json`);
}

main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
});
