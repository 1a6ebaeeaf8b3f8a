// PayoutVault under changed network prices (issue 11, point 4): the batch check is derived from
// the live config (gas prices, param 21; forward prices, param 25), the compute phase is capped
// at the gas the check reserved, and the payouts and the event are sent with +2. An accepted
// batch therefore never fails in the action phase, so its replay state is never rolled back.
//
// The review's attack: with the forward lump price raised x10 the old fixed reserves let a batch
// through that then failed in the action phase (result 37) and was re-executed by anyone
// resending the public external (0.24 TON of compute fees each time, nothing paid).
import '@ton/test-utils';
import { Cell, external, Transaction } from '@ton/core';
import { TEST_USD } from '../wrappers/JettonMinter';
import { basechainPrices, BasechainPrices, batchTonRequirement, commentByRef, forwardFee, MAX_BATCH_ITEMS, VaultError } from '../wrappers/PayoutVault';
import { deployTestUsd } from './helpers/jetton-fixture';
import {
    createVaultEnv,
    expectRefused,
    findTx,
    internalOut,
    makeItems,
    NOW,
    scalePrices,
    TON,
    txSucceeded,
    VaultEnv,
} from './helpers/vault-fixture';
import { Blockchain } from '@ton/sandbox';

async function balanceOf(env: VaultEnv) {
    return (await env.blockchain.getContract(env.vault.address)).balance;
}

/** Import fee of an external body at `p` (its cells beyond the root). */
function importFee(p: BasechainPrices, body: Cell): bigint {
    const seen = new Set<string>();
    let cells = 0n;
    let bits = 0n;
    const walk = (c: Cell) => {
        for (const r of c.refs) {
            const h = r.hash().toString('hex');
            if (seen.has(h)) continue;
            seen.add(h);
            cells++;
            bits += BigInt(r.bits.length);
            walk(r);
        }
    };
    walk(body);
    return forwardFee(p, bits, cells);
}

/** With `balance` on the vault, `body` is refused before accept (ERR_INSUFFICIENT_TON). */
async function expectRefusedAt(env: VaultEnv, body: Cell, balance: bigint) {
    (await env.blockchain.getContract(env.vault.address)).balance = balance;
    await expectRefused(env.blockchain.sendMessage(external({ to: env.vault.address, body })), VaultError.insufficientTon);
}

/** Asserts the vault's transaction ran its action phase to the end, sending every queued message. */
function expectActionPhaseComplete(tx: Transaction, messages: number) {
    const d = tx.description;
    if (d.type !== 'generic') throw new Error('not a generic transaction');
    expect(d.computePhase.type === 'vm' && d.computePhase.success).toBe(true);
    expect(d.aborted).toBe(false);
    expect(d.actionPhase?.success).toBe(true);
    expect(d.actionPhase?.resultCode).toBe(0);
    expect(d.actionPhase?.skippedActions).toBe(0);
    expect(tx.outMessagesCount).toBe(messages);
}

/** What the vault's transaction took from its balance: total fees + value and forward fee of each message. */
function outflow(tx: Transaction): bigint {
    let sum = tx.totalFees.coins;
    for (const m of tx.outMessages.values()) {
        if (m.info.type === 'internal') sum += m.info.value.coins + m.info.forwardFee;
    }
    return sum;
}

describe('PayoutVault under raised network prices', () => {
    it('forward lump x10: the batch the old fixed reserves accepted is refused before accept, and so is its replay', async () => {
        const env = await createVaultEnv({ deployValue: TON });
        await env.vault.sendFund(env.funder.getSender(), 100n * TON, { projectId: 7n });
        scalePrices(env.blockchain, { fwd: 10n });
        // total = balance - 1.1 TON: the old check (250 * 0.0015 + 0.01 + 0.1 = 0.485 TON of
        // reserves) accepted it, then the action phase needed 250 * 0.004 of forward fees plus gas
        const each = ((await balanceOf(env)) - (11n * TON) / 10n) / BigInt(MAX_BATCH_ITEMS);
        const body = env.batchBody({ items: makeItems(MAX_BATCH_ITEMS, { amount: () => each }), queryId: 77n });
        const before = await balanceOf(env);
        for (let i = 0; i < 3; i++) {
            await expectRefused(env.blockchain.sendMessage(external({ to: env.vault.address, body })), VaultError.insufficientTon);
        }
        expect(await balanceOf(env)).toBe(before);
        expect(await env.vault.isProcessed(77n, NOW)).toMatchObject({ state: 'not_processed' });
        const d = await env.vault.getVaultData();
        expect([d.paid, d.curSpent]).toEqual([0n, 0n]);
    });

    it('forward lump x10: an affordable batch is paid in full exactly once; the replay is refused; the books match what left', async () => {
        const env = await createVaultEnv({ deployValue: TON });
        await env.vault.sendFund(env.funder.getSender(), 100n * TON, { projectId: 7n });
        scalePrices(env.blockchain, { fwd: 10n });
        const prices = basechainPrices(env.blockchain.config);
        const items = makeItems(MAX_BATCH_ITEMS, { amount: (i) => 100_000_000n + BigInt(i) });
        const total = items.reduce((a, it) => a + it.amount, 0n);
        const body = env.batchBody({ items, queryId: 78n });
        // exactly the balance the check asks for (what the compute phase sees: less the import fee)
        const need = total + batchTonRequirement(prices, MAX_BATCH_ITEMS) + importFee(prices, body);
        const have = await balanceOf(env);
        expect(have).toBeGreaterThan(need);
        // one nanoTON less than the bound is refused; the bound itself is paid in full
        (await env.blockchain.getContract(env.vault.address)).balance = need;
        await expectRefusedAt(env, body, need - 1n);
        (await env.blockchain.getContract(env.vault.address)).balance = need;
        expect(await balanceOf(env)).toBe(need);
        const res = await env.blockchain.sendMessage(external({ to: env.vault.address, body }));
        const tx = findTx(res.transactions, env.vault.address)!;
        expectActionPhaseComplete(tx, MAX_BATCH_ITEMS + 1);
        const sent = internalOut(tx).map((m) => (m.info.type === 'internal' ? m.info.value.coins : 0n));
        expect(sent).toEqual(items.map((it) => it.amount));
        const d = await env.vault.getVaultData();
        expect([d.paid, d.curSpent]).toEqual([total, total]);
        // the vault lost exactly what left plus the fees, and kept at least MIN_TON_RESERVE
        expect(need - (await balanceOf(env))).toBe(outflow(tx));
        expect(await balanceOf(env)).toBeGreaterThanOrEqual(100_000_000n);
        // resent with money on the vault again: refused, the query id is committed
        await env.vault.sendTopUp(env.funder.getSender(), 10n * TON);
        const topped = await balanceOf(env);
        await expectRefused(env.blockchain.sendMessage(external({ to: env.vault.address, body })), VaultError.alreadyProcessed);
        expect(await balanceOf(env)).toBe(topped);
        expect(await env.vault.isProcessed(78n, NOW)).toMatchObject({ state: 'processed' });
    });

    // The bound is exact: with the vault holding precisely what the check asks for, the action
    // phase of the largest batch completes (nothing skipped) under raised prices.
    for (const [label, by] of [
        ['forward prices x10', { fwd: 10n }],
        ['gas prices x10', { gas: 10n }],
        ['gas and forward prices x5', { fwd: 5n, gas: 5n }],
    ] as const) {
        it(`TON vault at exactly the bound, ${label}: 250 payouts leave, nothing is skipped`, async () => {
            const env = await createVaultEnv({ deployValue: TON });
            await env.vault.sendFund(env.funder.getSender(), 1000n * TON, { projectId: 7n });
            scalePrices(env.blockchain, by);
            const prices = basechainPrices(env.blockchain.config);
            const items = makeItems(MAX_BATCH_ITEMS, { amount: (i) => TON + BigInt(i) });
            const total = items.reduce((a, it) => a + it.amount, 0n);
            const body = env.batchBody({ items, queryId: 5n });
            const need = total + batchTonRequirement(prices, MAX_BATCH_ITEMS) + importFee(prices, body);
            await expectRefusedAt(env, body, need - 1n);
            (await env.blockchain.getContract(env.vault.address)).balance = need;
            const res = await env.blockchain.sendMessage(external({ to: env.vault.address, body }));
            const tx = findTx(res.transactions, env.vault.address)!;
            expectActionPhaseComplete(tx, MAX_BATCH_ITEMS + 1);
            expect(need - (await balanceOf(env))).toBe(outflow(tx));
            expect((await env.vault.getVaultData()).paid).toBe(total);
        });
    }

    for (const [label, byRef] of [
        ['comment inline', false],
        ['comment by reference', true],
    ] as const) {
        it(`jetton vault at exactly the bound, forward and gas prices x5, ${label}: 250 transfers leave`, async () => {
            const blockchain = await Blockchain.create();
            blockchain.now = NOW;
            const usdAdmin = await blockchain.treasury('usd-admin');
            const usd = await deployTestUsd(blockchain, usdAdmin);
            const env = await createVaultEnv({ blockchain, deployValue: 1000n * TON, jettonMaster: usd.minter.address, windowLimit: (1n << 120n) - 1n });
            const jettons = byRef ? 1n << 118n : 1_000_000n * TEST_USD;
            await usd.mint(env.vault.address, jettons, { forwardTonAmount: 10_000_000n, forwardPayload: null });
            expect((await env.vault.getVaultData()).jettonBalance).toBe(jettons);
            scalePrices(blockchain, { fwd: 5n, gas: 5n });
            const prices = basechainPrices(blockchain.config);
            // by reference: bytes(total) + bytes(forward_ton) > 15
            const items = makeItems(MAX_BATCH_ITEMS, { amount: (i) => (byRef ? 1n << 106n : TEST_USD) + BigInt(i) });
            const total = items.reduce((a, it) => a + it.amount, 0n);
            const attach = 50_000_000n;
            const forwardTon = 1n;
            expect(commentByRef(total, forwardTon)).toBe(byRef);
            const body = env.batchBody({ items, queryId: 6n, attach, forwardTon });
            const need = batchTonRequirement(prices, MAX_BATCH_ITEMS, { attach, total, forwardTon }) + importFee(prices, body);
            await expectRefusedAt(env, body, need - 1n);
            (await blockchain.getContract(env.vault.address)).balance = need;
            const res = await blockchain.sendMessage(external({ to: env.vault.address, body }));
            const tx = findTx(res.transactions, env.vault.address)!;
            expectActionPhaseComplete(tx, MAX_BATCH_ITEMS + 1);
            // the transfers left; at x5 prices the test USD wallet needs more than 0.05 TON, so it
            // refuses them and they bounce back: books and wallet agree again
            const data = await env.vault.getVaultData();
            expect(data.paid).toBe(total);
            expect(data.jettonBalance).toBe(jettons - total + data.bounced);
            expect(await usd.walletOf(env.vault.address).getJettonBalance()).toBe(data.jettonBalance);
        });
    }
});
