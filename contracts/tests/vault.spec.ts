// PayoutVault, TON vault: every behaviour of contracts/vault/* and a named test per attack.
// Jetton vaults: tests/vault.jetton.spec.ts. Gas: tests/vault.gas.spec.ts.
import '@ton/test-utils';
import { Address, beginCell, Cell, external, Message, toNano } from '@ton/core';
import { Blockchain, internal } from '@ton/sandbox';
import { Op } from '../wrappers/opcodes';
import { eventOp } from '../wrappers/events';
import { excessesBody, parseJettonTransfer, transferNotificationBody } from '../wrappers/tep74';
import {
    buildEvAdminChange,
    buildPayoutItem,
    buildVaultBatchRequest,
    buildVaultFund,
    buildVaultSetLimits,
    buildVaultTopUp,
    itemDigits,
    MAX_BATCH_ITEMS,
    parseEvAdminChange,
    parseEvBatchExecuted,
    parseEvGasToppedUp,
    parseEvPayoutBounced,
    parseEvVaultFunded,
    parseVaultEvent,
    parseVaultStorage,
    PayoutItem,
    PayoutVault,
    signBatch,
    GlobalId,
    basechainPrices,
    batchTonRequirement,
    configGlobalId,
    DEFAULT_ADMIN_DELAY,
    VaultAdminAction,
    VaultError,
} from '../wrappers/PayoutVault';
import {
    createVaultEnv,
    exitCodeOf,
    expectRefused,
    findTx,
    freshAddresses,
    internalOut,
    keyPair,
    makeItems,
    NOW,
    TIMEOUT,
    TON,
    txSucceeded,
    VaultEnv,
    vaultEvents,
    WINDOW_LEN,
    plain,
    setGlobalId,
} from './helpers/vault-fixture';

/** Lump forward fee of a one-cell message (config 25), of which 2/3 travel with the message. */
const LUMP_FWD_REMAINDER = 266_669n;

interface DecodedPayout {
    dest: Address;
    value: bigint;
    bounce: boolean;
    text: string;
    bodyRefs: number;
    forwardFee: bigint;
}

function decodePayout(m: Message): DecodedPayout {
    if (m.info.type !== 'internal') throw new Error('not an internal message');
    const s = m.body.beginParse();
    const op = s.loadUint(32);
    if (op !== 0) throw new Error(`payout body op ${op}`);
    const text = s.loadBuffer(s.remainingBits / 8).toString('ascii');
    return {
        dest: m.info.dest,
        value: m.info.value.coins,
        bounce: m.info.bounce,
        text,
        bodyRefs: m.body.refs.length,
        forwardFee: m.info.forwardFee,
    };
}

async function storageOf(env: VaultEnv) {
    const acc = await env.blockchain.getContract(env.vault.address);
    const state = acc.accountState;
    if (state?.type !== 'active') throw new Error('vault not active');
    return parseVaultStorage(state.state.data!);
}

async function balanceOf(env: VaultEnv, a: Address = env.vault.address) {
    return (await env.blockchain.getContract(a)).balance;
}

/** A funded TON vault (10 000 TON of float + funding). */
async function fundedVault(opts: Parameters<typeof createVaultEnv>[0] = {}) {
    const env = await createVaultEnv({ deployValue: 10n * TON, ...opts });
    await env.vault.sendFund(env.funder.getSender(), 1000n * TON, { projectId: 7n });
    return env;
}

describe('PayoutVault (TON)', () => {
    describe('deploy and getters', () => {
        it('deploys with vault_top_up and reports its initial state', async () => {
            const env = await createVaultEnv();
            const d = await env.vault.getVaultData();
            expect(d.signerKey.equals(env.signer.publicKey)).toBe(true);
            expect(d.frozen).toBe(false);
            expect(d.timeout).toBe(TIMEOUT);
            expect(d.lastClean).toBe(0);
            expect(d.windowLen).toBe(WINDOW_LEN);
            expect(d.windowLimit).toBe(100_000n * TON);
            expect(d.windowStart).toBe(0);
            expect(d.curSpent).toBe(0n);
            expect(d.prevSpent).toBe(0n);
            expect(d.admin.equals(env.admin.address)).toBe(true);
            expect(d.jettonMaster).toBeNull();
            expect(d.jettonWallet).toBeNull();
            expect(d.vaultId).toBe(1);
            expect([d.funded, d.paid, d.bounced, d.jettonBalance]).toEqual([0n, 0n, 0n, 0n]);
            expect((await env.vault.getSignerKey()).equals(env.signer.publicKey)).toBe(true);
            expect(await env.vault.getJettonWallet()).toBeNull();
            const w = await env.vault.getWindowUsage();
            expect(w).toEqual({
                windowLen: WINDOW_LEN,
                windowLimit: 100_000n * TON,
                used: 0n,
                available: 100_000n * TON,
                windowStart: NOW - (NOW % WINDOW_LEN),
            });
            expect(await env.vault.isProcessed(1n, NOW)).toEqual({ state: 'not_processed', validCreatedAfter: NOW - TIMEOUT, rememberedSince: NOW - TIMEOUT });
        });

        it('the deploying top-up emits ev_gas_topped_up and a TON vault asks no jetton master', async () => {
            const blockchain = await Blockchain.create();
            blockchain.now = NOW;
            const env = await createVaultEnv({ blockchain, vaultId: 9 });
            const res = await env.vault.sendTopUp(env.admin.getSender(), toNano('0.3'), 55n);
            expect(res.transactions).toHaveTransaction({ to: env.vault.address, success: true, outMessagesCount: 1 });
            const [ev] = vaultEvents(res.transactions, env.vault.address);
            expect(plain(parseEvGasToppedUp(ev))).toEqual(plain({ queryId: 55n, from: env.admin.address, amount: toNano('0.3') }));
        });
    });

    describe('funding', () => {
        it('vault_fund credits the attached value to funded and emits ev_vault_funded', async () => {
            const env = await createVaultEnv();
            const before = await balanceOf(env);
            const res = await env.vault.sendFund(env.funder.getSender(), 25n * TON, { queryId: 99n, projectId: 4242n });
            expect(res.transactions).toHaveTransaction({ from: env.funder.address, to: env.vault.address, success: true });
            const evs = vaultEvents(res.transactions, env.vault.address);
            expect(evs).toHaveLength(1);
            expect(plain(parseEvVaultFunded(evs[0]))).toEqual(plain({ queryId: 99n, projectId: 4242n, from: env.funder.address, amount: 25n * TON }));
            expect((await env.vault.getVaultData()).funded).toBe(25n * TON);
            // the value arrives; the handler's gas is paid by the vault
            expect((await balanceOf(env)) - before).toBeGreaterThan(25n * TON - toNano('0.01'));
        });

        it('vault_top_up is float only: ev_gas_topped_up, funded unchanged', async () => {
            const env = await createVaultEnv();
            const res = await env.vault.sendTopUp(env.funder.getSender(), 3n * TON, 5n);
            const evs = vaultEvents(res.transactions, env.vault.address);
            expect(evs.map(eventOp)).toEqual([Op.ev_gas_topped_up]);
            expect(plain(parseEvGasToppedUp(evs[0]))).toEqual(plain({ queryId: 5n, from: env.funder.address, amount: 3n * TON }));
            expect((await env.vault.getVaultData()).funded).toBe(0n);
        });

        it('accepts an empty body and excesses silently (float, no event)', async () => {
            const env = await createVaultEnv();
            for (const body of [Cell.EMPTY, excessesBody(3n)]) {
                const res = await env.funder.send({ to: env.vault.address, value: toNano('0.5'), body });
                expect(res.transactions).toHaveTransaction({ to: env.vault.address, success: true, outMessagesCount: 0 });
            }
            expect((await env.vault.getVaultData()).funded).toBe(0n);
        });

        it('refuses unknown opcodes (including text comments) with ERR_UNKNOWN_OP', async () => {
            const env = await createVaultEnv();
            for (const body of [beginCell().storeUint(0xdeadbeef, 32).endCell(), beginCell().storeUint(0, 32).storeStringTail('hi').endCell()]) {
                const res = await env.funder.send({ to: env.vault.address, value: toNano('0.5'), body, bounce: true });
                expect(res.transactions).toHaveTransaction({ to: env.vault.address, success: false, exitCode: VaultError.unknownOp });
                expect(res.transactions).toHaveTransaction({ from: env.vault.address, to: env.funder.address, inMessageBounced: true });
            }
        });

        it('a TON vault refuses take_wallet_address (ERR_NOT_JETTON_MASTER)', async () => {
            const env = await createVaultEnv();
            const body = beginCell().storeUint(Op.take_wallet_address, 32).storeUint(1, 64).storeAddress(env.funder.address).storeMaybeRef(null).endCell();
            const res = await env.funder.send({ to: env.vault.address, value: toNano('0.1'), body });
            expect(res.transactions).toHaveTransaction({ to: env.vault.address, success: false, exitCode: VaultError.notJettonMaster });
            expect(await env.vault.getJettonWallet()).toBeNull();
        });
    });

    describe('batch execution', () => {
        it('pays every item: value, dest, bounce flag, inline "LabelMint #<id>" comment, one event', async () => {
            const env = await fundedVault();
            const items: PayoutItem[] = makeItems(5).map((it, i) => ({ ...it, bounceable: i % 2 === 1, amount: TON * BigInt(i + 1) }));
            const total = items.reduce((a, it) => a + it.amount, 0n);
            const queryId = 77n;
            const res = await env.sendBatch({ items, queryId });
            const tx = findTx(res.transactions, env.vault.address)!;
            expect(txSucceeded(tx)).toBe(true);
            expect(exitCodeOf(tx)).toBe(0);
            const out = internalOut(tx).map(decodePayout);
            expect(out).toHaveLength(5);
            out.forEach((p, i) => {
                expect(p.dest.equals(items[i].dest)).toBe(true);
                expect(p.value).toBe(items[i].amount);
                expect(p.bounce).toBe(items[i].bounceable);
                expect(p.text).toBe(`LabelMint #${items[i].itemId}`);
                expect(p.bodyRefs).toBe(0);
                // one-cell message: only the lump forward fee
                expect(p.forwardFee).toBe(LUMP_FWD_REMAINDER);
            });
            // one ev_batch_executed, the last action of the batch (bounces of the bounceable
            // items to missing accounts come later, in their own transactions)
            const evs = vaultEvents([tx], env.vault.address);
            expect(evs).toHaveLength(1);
            expect(tx.outMessages.get(tx.outMessagesCount - 1)!.info.type).toBe('external-out');
            expect(parseEvBatchExecuted(evs[0])).toEqual({ queryId, createdAt: NOW, count: 5, total, windowUsed: total });
            const d = await env.vault.getVaultData();
            expect(d.paid).toBe(total);
            expect(d.curSpent).toBe(total);
            expect(d.lastClean).toBe(NOW);
            expect(await env.vault.isProcessed(queryId, NOW)).toEqual({ state: 'processed', validCreatedAfter: NOW - TIMEOUT, rememberedSince: NOW - TIMEOUT });
            // non-bounceable payouts to missing accounts are delivered; bounceable ones come back
            for (const it of items) {
                expect(await balanceOf(env, it.dest)).toBe(it.bounceable ? 0n : it.amount);
            }
            const bounced = vaultEvents(res.transactions, env.vault.address).map(parseVaultEvent).filter((e) => e.kind === 'ev_payout_bounced');
            expect(bounced.map((e) => (e as { itemId: bigint }).itemId).sort()).toEqual(items.filter((it) => it.bounceable).map((it) => it.itemId).sort());
        });

        it('250 items with distinct recipients and item ids: every message carries its item id', async () => {
            const env = await fundedVault();
            const items = makeItems(MAX_BATCH_ITEMS, { firstId: 10n ** 16n, amount: (i) => 1_000_000n + BigInt(i) * 13n });
            const res = await env.sendBatch({ items });
            const tx = findTx(res.transactions, env.vault.address)!;
            expect(txSucceeded(tx)).toBe(true);
            expect(tx.outMessagesCount).toBe(MAX_BATCH_ITEMS + 1);
            const out = internalOut(tx).map(decodePayout);
            const ids = out.map((p) => BigInt(p.text.slice('LabelMint #'.length)));
            expect(ids).toEqual(items.map((it) => it.itemId));
            expect(new Set(out.map((p) => p.dest.toRawString())).size).toBe(MAX_BATCH_ITEMS);
            out.forEach((p, i) => expect(p.value).toBe(items[i].amount));
            expect(vaultEvents(res.transactions, env.vault.address).map(eventOp)).toEqual([Op.ev_batch_executed]);
        });

        it('item ids of 1 to 17 digits round-trip (max 10^17 - 1)', async () => {
            const env = await fundedVault();
            const ids = [0n, 7n, 12345n, 10n ** 16n, 10n ** 17n - 1n];
            const dests = freshAddresses(ids.length);
            const items = ids.map((itemId, i) => ({ itemId, bounceable: true, dest: dests[i], amount: toNano('0.01') }));
            const res = await env.sendBatch({ items });
            const out = internalOut(findTx(res.transactions, env.vault.address)!).map(decodePayout);
            expect(out.map((p) => p.text)).toEqual(ids.map((id) => `LabelMint #${id}`));
            expect(() => itemDigits(10n ** 17n)).toThrow();
        });

        it('zero-amount items are sent; total must still be > 0', async () => {
            const env = await fundedVault();
            const [a, b] = freshAddresses(2);
            const items = [
                { itemId: 1n, bounceable: false, dest: a, amount: 0n },
                { itemId: 2n, bounceable: false, dest: b, amount: 5n },
            ];
            const res = await env.sendBatch({ items });
            const out = internalOut(findTx(res.transactions, env.vault.address)!).map(decodePayout);
            expect(out.map((p) => p.value)).toEqual([0n, 5n]);
            await expectRefused(env.sendBatch({ items: [{ itemId: 3n, bounceable: false, dest: a, amount: 0n }] }), VaultError.zeroTotal);
        });

        it('maximum amounts: total up to exactly what balance and window allow, one nanoTON more is refused', async () => {
            const env = await createVaultEnv({ deployValue: 2n * TON, windowLimit: (1n << 120n) - 1n });
            // the balance bound (fees.tolk, mirrored by batchTonRequirement): total + forward fees + capped gas + MIN_TON_RESERVE
            // the compute phase sees the balance less the external's import fee
            const balance = await balanceOf(env);
            const dest = freshAddresses(1)[0];
            const reserves = batchTonRequirement(basechainPrices(env.blockchain.config), 1);
            const body = (amount: bigint) => env.batchBody({ items: [{ itemId: 1n, bounceable: false, dest, amount }], queryId: 1n, createdAt: NOW });
            const max = balance - reserves - importFee(body(balance));
            const send = (amount: bigint) => env.blockchain.sendMessage(external({ to: env.vault.address, body: body(amount) }));
            await expectRefused(send(max + 1n), VaultError.insufficientTon);
            // a huge (2^120 - 1) amount is refused before accept, no overflow
            await expectRefused(send((1n << 120n) - 1n), VaultError.insufficientTon);
            const res = await send(max);
            expect(txSucceeded(findTx(res.transactions, env.vault.address)!)).toBe(true);
            expect(await balanceOf(env, dest)).toBe(max);
            // the vault keeps its minimum reserve
            expect(await balanceOf(env)).toBeGreaterThan(toNano('0.05'));
        });

        it('refuses count 0 and count > 250 before accept', async () => {
            const env = await fundedVault();
            await expectRefused(env.sendBatch({ items: makeItems(1), count: 0 }), VaultError.badCount);
            const items = makeItems(251);
            await expectRefused(env.sendBatch({ items }), VaultError.badCount);
            await expectRefused(env.sendBatch({ items: makeItems(2), count: 255 }), VaultError.badCount);
        });

        it('a TON vault refuses attach / forward_ton (ERR_ATTACH_ON_TON_VAULT)', async () => {
            const env = await fundedVault();
            await expectRefused(env.sendBatch({ items: makeItems(1), attach: 1n }), VaultError.attachOnTonVault);
            await expectRefused(env.sendBatch({ items: makeItems(1), forwardTon: 1n }), VaultError.attachOnTonVault);
        });

        it('refuses a batch the balance cannot cover (ERR_INSUFFICIENT_TON), nothing changes', async () => {
            const env = await createVaultEnv({ deployValue: TON });
            const before = await balanceOf(env);
            await expectRefused(env.sendBatch({ items: makeItems(3, { amount: () => toNano('0.4') }) }), VaultError.insufficientTon);
            expect(await balanceOf(env)).toBe(before);
        });
    });

    describe('count / total mismatch (signer bug): query id burnt, nothing sent', () => {
        async function expectBurnt(env: VaultEnv, body: Cell, queryId: bigint, code: number) {
            const before = await env.vault.getVaultData();
            const res = await env.blockchain.sendMessage(external({ to: env.vault.address, body }));
            const tx = findTx(res.transactions, env.vault.address)!;
            expect(exitCodeOf(tx)).toBe(code);
            expect(tx.outMessagesCount).toBe(0);
            const after = await env.vault.getVaultData();
            // only the replay state moved: the window and the stats are untouched
            expect(after.paid).toBe(before.paid);
            expect(after.curSpent).toBe(before.curSpent);
            expect(after.prevSpent).toBe(before.prevSpent);
            expect(after.funded).toBe(before.funded);
            expect((await env.vault.isProcessed(queryId, NOW)).state).toBe('processed');
            // and the same message cannot be replayed
            await expectRefused(env.blockchain.sendMessage(external({ to: env.vault.address, body })), VaultError.alreadyProcessed);
        }

        it('chain shorter than count', async () => {
            const env = await fundedVault();
            const qid = env.nextQueryId();
            await expectBurnt(env, env.batchBody({ items: makeItems(2), queryId: qid, count: 3, total: 2_000_001n }), qid, VaultError.countMismatch);
        });

        it('chain longer than count', async () => {
            const env = await fundedVault();
            const items = makeItems(4);
            const qid = env.nextQueryId();
            const total = items.slice(0, 3).reduce((a, it) => a + it.amount, 0n);
            await expectBurnt(env, env.batchBody({ items, queryId: qid, count: 3, total }), qid, VaultError.countMismatch);
        });

        it('amounts do not add up to total', async () => {
            const env = await fundedVault();
            const items = makeItems(3);
            const qid = env.nextQueryId();
            const total = items.reduce((a, it) => a + it.amount, 0n) + 1n;
            await expectBurnt(env, env.batchBody({ items, queryId: qid, total }), qid, VaultError.totalMismatch);
        });

        it('an item paying outside the basechain (ERR_BAD_DESTINATION)', async () => {
            const env = await fundedVault();
            const items = makeItems(3);
            items[1] = { ...items[1], dest: new Address(-1, items[1].dest.hash) };
            const qid = env.nextQueryId();
            await expectBurnt(env, env.batchBody({ items, queryId: qid }), qid, VaultError.badDestination);
        });
    });

    describe('attacks', () => {
        it('replayed external (same query id) is refused while valid, and after expiry via created_at', async () => {
            const env = await fundedVault();
            const body = env.batchBody({ items: makeItems(2), queryId: 500n });
            const ok = await env.blockchain.sendMessage(external({ to: env.vault.address, body }));
            expect(txSucceeded(findTx(ok.transactions, env.vault.address)!)).toBe(true);
            const balance = await balanceOf(env);
            await expectRefused(env.blockchain.sendMessage(external({ to: env.vault.address, body })), VaultError.alreadyProcessed);
            env.blockchain.now = NOW + TIMEOUT - 1;
            await expectRefused(env.blockchain.sendMessage(external({ to: env.vault.address, body })), VaultError.alreadyProcessed);
            env.blockchain.now = NOW + TIMEOUT;
            await expectRefused(env.blockchain.sendMessage(external({ to: env.vault.address, body })), VaultError.expired);
            env.blockchain.now = NOW + 10 * TIMEOUT;
            await expectRefused(env.blockchain.sendMessage(external({ to: env.vault.address, body })), VaultError.expired);
            expect(await balanceOf(env)).toBe(balance);
        });

        it('the same query id in a NEW request is refused while its id is remembered', async () => {
            const env = await fundedVault();
            await env.sendBatch({ items: makeItems(1), queryId: 600n });
            env.blockchain.now = NOW + 100;
            await expectRefused(env.sendBatch({ items: makeItems(1), queryId: 600n }), VaultError.alreadyProcessed);
        });

        it('refuses an expired created_at and accepts the oldest valid one', async () => {
            const env = await fundedVault();
            await expectRefused(env.sendBatch({ items: makeItems(1), createdAt: NOW - TIMEOUT }), VaultError.expired);
            const res = await env.sendBatch({ items: makeItems(1), createdAt: NOW - TIMEOUT + 1 });
            expect(txSucceeded(findTx(res.transactions, env.vault.address)!)).toBe(true);
        });

        it('refuses created_at in the future', async () => {
            const env = await fundedVault();
            await expectRefused(env.sendBatch({ items: makeItems(1), createdAt: NOW + 1 }), VaultError.createdInFuture);
        });

        it('refuses a signature by another key', async () => {
            const env = await fundedVault();
            await expectRefused(env.sendBatch({ items: makeItems(1) }, keyPair('mallory').secretKey), VaultError.badSignature);
            // a valid signature over a different request
            const req = buildVaultBatchRequest({ vault: env.vault.address, globalId: GlobalId.mainnet, queryId: 1n, createdAt: NOW, items: makeItems(1) });
            const other = buildVaultBatchRequest({ vault: env.vault.address, globalId: GlobalId.mainnet, queryId: 2n, createdAt: NOW, items: makeItems(1) });
            const forged = beginCell().storeBits(signBatch(other, env.signer.secretKey).beginParse().loadBits(512)).storeRef(req).endCell();
            await expectRefused(env.blockchain.sendMessage(external({ to: env.vault.address, body: forged })), VaultError.badSignature);
        });

        it('a batch signed for vault A is refused by vault B', async () => {
            const blockchain = await Blockchain.create();
            blockchain.now = NOW;
            const a = await createVaultEnv({ blockchain, vaultId: 1, deployValue: 100n * TON });
            const b = await createVaultEnv({ blockchain, vaultId: 2, deployValue: 100n * TON });
            expect(a.vault.address.equals(b.vault.address)).toBe(false);
            const bodyForA = a.batchBody({ items: makeItems(1) });
            const balanceB = await balanceOf(b);
            await expectRefused(blockchain.sendMessage(external({ to: b.vault.address, body: bodyForA })), VaultError.wrongVault);
            expect(await balanceOf(b)).toBe(balanceB);
            const res = await blockchain.sendMessage(external({ to: a.vault.address, body: bodyForA }));
            expect(txSucceeded(findTx(res.transactions, a.vault.address)!)).toBe(true);
        });

        it('network binding: a batch signed for testnet is refused on mainnet by a vault with the same address', async () => {
            // the same vault (same code and data, so the same address) on two networks
            const mainnet = await Blockchain.create();
            mainnet.now = NOW;
            const testnet = await Blockchain.create();
            testnet.now = NOW;
            setGlobalId(testnet, GlobalId.testnet);
            expect(configGlobalId(mainnet.config)).toBe(GlobalId.mainnet);
            const onMain = await fundedVault({ blockchain: mainnet });
            const onTest = await fundedVault({ blockchain: testnet });
            expect(onMain.vault.address.equals(onTest.vault.address)).toBe(true);

            const items = makeItems(1);
            const forTestnet = onTest.batchBody({ items, queryId: 70n, globalId: GlobalId.testnet });
            const balance = await balanceOf(onMain);
            await expectRefused(mainnet.sendMessage(external({ to: onMain.vault.address, body: forTestnet })), VaultError.wrongNetwork);
            expect(await balanceOf(onMain)).toBe(balance);
            expect((await onMain.vault.getVaultData()).paid).toBe(0n);
            // it is valid where it was signed for
            const there = await testnet.sendMessage(external({ to: onTest.vault.address, body: forTestnet }));
            expect(txSucceeded(findTx(there.transactions, onTest.vault.address)!)).toBe(true);
            // and a mainnet request is refused on testnet
            const forMainnet = onMain.batchBody({ items, queryId: 71n, globalId: GlobalId.mainnet });
            await expectRefused(testnet.sendMessage(external({ to: onTest.vault.address, body: forMainnet })), VaultError.wrongNetwork);
            const here = await mainnet.sendMessage(external({ to: onMain.vault.address, body: forMainnet }));
            expect(txSucceeded(findTx(here.transactions, onMain.vault.address)!)).toBe(true);
            expect((await onMain.vault.getVaultData()).paid).toBe(items[0].amount);
        });

        it('network binding: on the devnet (config param 19 = 2026) its id works and mainnet\'s is refused', async () => {
            const devnet = await Blockchain.create();
            devnet.now = NOW;
            setGlobalId(devnet, GlobalId.devnet);
            const env = await fundedVault({ blockchain: devnet });
            await expectRefused(env.sendBatch({ items: makeItems(1), globalId: GlobalId.mainnet }), VaultError.wrongNetwork);
            await expectRefused(env.sendBatch({ items: makeItems(1), globalId: -GlobalId.devnet }), VaultError.wrongNetwork);
            const res = await env.sendBatch({ items: makeItems(1), globalId: GlobalId.devnet });
            expect(txSucceeded(findTx(res.transactions, env.vault.address)!)).toBe(true);
        });

        it('refuses a batch beyond the window limit before accept; the balance is untouched', async () => {
            const env = await fundedVault({ windowLimit: 10n * TON });
            const before = await balanceOf(env);
            await expectRefused(env.sendBatch({ items: makeItems(2, { amount: () => 5n * TON + 1n }) }), VaultError.windowExceeded);
            expect(await balanceOf(env)).toBe(before);
            expect((await env.vault.getWindowUsage()).used).toBe(0n);
            // exactly the limit passes, then nothing more
            await env.sendBatch({ items: makeItems(2, { amount: () => 5n * TON }) });
            await expectRefused(env.sendBatch({ items: makeItems(1, { amount: () => 1n }) }), VaultError.windowExceeded);
        });

        it('the window refills over time (sliding window counter)', async () => {
            const len = 1000;
            const blockchain = await Blockchain.create();
            const start = 1_800_000_000; // a multiple of 1000: windows start at `start`
            blockchain.now = start;
            const env = await fundedVault({ blockchain, windowLimit: 10n * TON, windowLen: len });
            await env.sendBatch({ items: makeItems(1, { amount: () => 8n * TON }) });
            expect(await env.vault.getWindowUsage()).toEqual({ windowLen: len, windowLimit: 10n * TON, used: 8n * TON, available: 2n * TON, windowStart: start });
            await expectRefused(env.sendBatch({ items: makeItems(1, { amount: () => 3n * TON }) }), VaultError.windowExceeded);
            // next window, 25% in: the previous window still weighs 75%
            blockchain.now = start + len + len / 4;
            expect(await env.vault.getWindowUsage()).toEqual({ windowLen: len, windowLimit: 10n * TON, used: 6n * TON, available: 4n * TON, windowStart: start + len });
            await expectRefused(env.sendBatch({ items: makeItems(1, { amount: () => 4n * TON + 1n }) }), VaultError.windowExceeded);
            const res = await env.sendBatch({ items: makeItems(1, { amount: () => 4n * TON }) });
            expect(parseEvBatchExecuted(vaultEvents(res.transactions, env.vault.address)[0]).windowUsed).toBe(10n * TON);
            // 90% into the window after that: prev = 4 TON (weight 10%), cur = 0
            blockchain.now = start + 2 * len + (len * 9) / 10;
            expect((await env.vault.getWindowUsage()).used).toBe(4n * TON / 10n);
            // two windows later everything is available again
            blockchain.now = start + 4 * len;
            const w = await env.vault.getWindowUsage();
            expect([w.used, w.available]).toEqual([0n, 10n * TON]);
            await env.sendBatch({ items: makeItems(1, { amount: () => 10n * TON }) });
            const d = await env.vault.getVaultData();
            expect([d.windowStart, d.curSpent, d.prevSpent]).toEqual([start + 4 * len, 10n * TON, 0n]);
        });

        it('non-admin admin operations are refused (ERR_NOT_ADMIN), state unchanged', async () => {
            const env = await fundedVault();
            const mallory = await env.blockchain.treasury('mallory');
            const before = await env.vault.getVaultData();
            const attempts = [
                () => env.vault.sendFreeze(mallory.getSender(), toNano('0.1')),
                () => env.vault.sendUnfreeze(mallory.getSender(), toNano('0.1')),
                () => env.vault.sendSetLimits(mallory.getSender(), toNano('0.1'), { windowLen: 1, windowLimit: 10n ** 20n }),
                () => env.vault.sendSetLimits(mallory.getSender(), toNano('0.1'), { windowLen: 0, windowLimit: 0n }),
                () => env.vault.sendSetSigner(mallory.getSender(), toNano('0.1'), { signerKey: keyPair('mallory').publicKey }),
                () => env.vault.sendSetAdmin(mallory.getSender(), toNano('0.1'), { newAdmin: mallory.address }),
            ];
            for (const attempt of attempts) {
                const res = await attempt();
                expect(res.transactions).toHaveTransaction({ from: mallory.address, to: env.vault.address, success: false, exitCode: VaultError.notAdmin });
                expect(vaultEvents(res.transactions, env.vault.address)).toHaveLength(0);
            }
            expect(plain(await env.vault.getVaultData())).toEqual(plain(before));
        });

        it('a frozen vault refuses batches but accepts funding; unfreeze restores it', async () => {
            const env = await fundedVault();
            const res = await env.vault.sendFreeze(env.admin.getSender(), toNano('0.1'), 31n);
            const [ev] = vaultEvents(res.transactions, env.vault.address);
            expect(plain(parseEvAdminChange(ev))).toEqual(
                plain({
                    queryId: 31n,
                    action: VaultAdminAction.freeze,
                    frozen: true,
                    windowLen: WINDOW_LEN,
                    windowLimit: 100_000n * TON,
                    signerKey: env.signer.publicKey,
                    admin: env.admin.address,
                }),
            );
            expect(ev.equals(buildEvAdminChange(parseEvAdminChange(ev)))).toBe(true);
            await expectRefused(env.sendBatch({ items: makeItems(1) }), VaultError.frozen);
            const fund = await env.vault.sendFund(env.funder.getSender(), TON, { projectId: 1n });
            expect(fund.transactions).toHaveTransaction({ to: env.vault.address, success: true });
            expect((await env.vault.getVaultData()).funded).toBe(1001n * TON);
            const top = await env.vault.sendTopUp(env.funder.getSender(), TON);
            expect(top.transactions).toHaveTransaction({ to: env.vault.address, success: true });

            const un = await env.vault.sendUnfreeze(env.admin.getSender(), toNano('0.1'), 32n);
            const unEv = parseEvAdminChange(vaultEvents(un.transactions, env.vault.address)[0]);
            expect([unEv.action, unEv.frozen]).toEqual([VaultAdminAction.unfreeze, false]);
            const ok = await env.sendBatch({ items: makeItems(1) });
            expect(txSucceeded(findTx(ok.transactions, env.vault.address)!)).toBe(true);
        });

        it('rotated signer key (after admin_delay): the old key is refused, the new one accepted', async () => {
            const env = await fundedVault();
            const next = keyPair('signer-2');
            await env.vault.sendSetSigner(env.admin.getSender(), toNano('0.1'), { queryId: 8n, signerKey: next.publicKey });
            env.blockchain.now = NOW + DEFAULT_ADMIN_DELAY;
            const res = await env.vault.sendApplyChange(env.funder.getSender(), toNano('0.1'));
            const ev = parseEvAdminChange(vaultEvents(res.transactions, env.vault.address)[0]);
            expect([ev.queryId, ev.action]).toEqual([8n, VaultAdminAction.setSigner]);
            expect(ev.signerKey.equals(next.publicKey)).toBe(true);
            expect((await env.vault.getSignerKey()).equals(next.publicKey)).toBe(true);
            await expectRefused(env.sendBatch({ items: makeItems(1) }), VaultError.badSignature);
            const ok = await env.sendBatch({ items: makeItems(1) }, next.secretKey);
            expect(txSucceeded(findTx(ok.transactions, env.vault.address)!)).toBe(true);
        });

        it('a forged transfer_notification credits nothing and sends a transfer back to the alleged wallet', async () => {
            const env = await fundedVault();
            const mallory = await env.blockchain.treasury('mallory');
            const before = await env.vault.getVaultData();
            const body = transferNotificationBody({ queryId: 3n, amount: 10n ** 9n, sender: mallory.address, forwardPayload: buildVaultFund({ queryId: 1n, projectId: 2n, amount: 3n }) });
            const res = await mallory.send({ to: env.vault.address, value: toNano('0.2'), body });
            const tx = findTx(res.transactions, env.vault.address)!;
            expect(txSucceeded(tx)).toBe(true);
            expect(vaultEvents(res.transactions, env.vault.address)).toHaveLength(0);
            const [back] = internalOut(tx);
            expect(back.info.dest!.toString()).toBe(mallory.address.toString());
            const t = parseJettonTransfer(back.body);
            expect(t.queryId).toBe(3n);
            expect(t.amount).toBe(10n ** 9n);
            expect(t.destination.equals(mallory.address)).toBe(true);
            expect(plain(await env.vault.getVaultData())).toEqual(plain(before));
        });
    });

    describe('admin', () => {
        it('set_limits lowering applies at once (event with the state after) and refuses window_len 0', async () => {
            const env = await fundedVault();
            const res = await env.vault.sendSetLimits(env.admin.getSender(), toNano('0.1'), { queryId: 4n, windowLen: 2 * WINDOW_LEN, windowLimit: 3n * TON });
            const ev = parseEvAdminChange(vaultEvents(res.transactions, env.vault.address)[0]);
            expect([ev.action, ev.windowLen, ev.windowLimit, ev.frozen]).toEqual([VaultAdminAction.setLimits, 2 * WINDOW_LEN, 3n * TON, false]);
            const w = await env.vault.getWindowUsage();
            expect([w.windowLen, w.windowLimit, w.available]).toEqual([2 * WINDOW_LEN, 3n * TON, 3n * TON]);
            await expectRefused(env.sendBatch({ items: makeItems(1, { amount: () => 3n * TON + 1n }) }), VaultError.windowExceeded);
            const zero = await env.admin.send({ to: env.vault.address, value: toNano('0.1'), body: buildVaultSetLimits({ queryId: 5n, windowLen: 0, windowLimit: TON }) });
            expect(zero.transactions).toHaveTransaction({ to: env.vault.address, success: false, exitCode: VaultError.zeroWindowLen });
            expect((await env.vault.getVaultData()).windowLen).toBe(2 * WINDOW_LEN);
        });
        // two-step changes (raising limits, set_signer, set_admin), cancel, and that no admin
        // operation moves funds: tests/vault.admin.spec.ts
    });

    describe('bounces', () => {
        it('a bounceable payout to a non-existent address comes back: credited with the right item id', async () => {
            const env = await fundedVault();
            const items = makeItems(3, { bounceable: true, firstId: 123_456_789_012n, amount: (i) => TON * BigInt(i + 1) });
            const res = await env.sendBatch({ items });
            const bounces = vaultEvents(res.transactions, env.vault.address)
                .map(parseVaultEvent)
                .filter((e) => e.kind === 'ev_payout_bounced');
            expect(bounces).toHaveLength(3);
            let sum = 0n;
            for (const it of items) {
                const ev = bounces.find((e) => e.kind === 'ev_payout_bounced' && e.itemId === it.itemId);
                expect(ev).toBeDefined();
                const amount = (ev as { amount: bigint }).amount;
                // the value that came back: the amount less the bounce's fees
                expect(amount).toBeLessThan(it.amount);
                expect(amount).toBeGreaterThan(it.amount - toNano('0.01'));
                sum += amount;
                expect(await balanceOf(env, it.dest)).toBe(0n);
            }
            const d = await env.vault.getVaultData();
            expect(d.bounced).toBe(sum);
            expect(d.paid).toBe(items.reduce((a, it) => a + it.amount, 0n));
        });

        it('a non-bounceable payout to a non-existent address is delivered, not bounced', async () => {
            const env = await fundedVault();
            const items = makeItems(2, { bounceable: false });
            const res = await env.sendBatch({ items });
            expect(vaultEvents(res.transactions, env.vault.address).map(eventOp)).toEqual([Op.ev_batch_executed]);
            for (const it of items) expect(await balanceOf(env, it.dest)).toBe(it.amount);
            expect((await env.vault.getVaultData()).bounced).toBe(0n);
        });

        it('a bounce of a payout to an existing contract that rejects it', async () => {
            const env = await fundedVault();
            // a second vault rejects a comment (ERR_UNKNOWN_OP) and bounces it
            const other = await createVaultEnv({ blockchain: env.blockchain, vaultId: 77 });
            const res = await env.sendBatch({ items: [{ itemId: 4242n, bounceable: true, dest: other.vault.address, amount: TON }] });
            expect(res.transactions).toHaveTransaction({ from: env.vault.address, to: other.vault.address, success: false, exitCode: VaultError.unknownOp });
            const ev = vaultEvents(res.transactions, env.vault.address).map(parseVaultEvent).find((e) => e.kind === 'ev_payout_bounced');
            expect(ev).toMatchObject({ kind: 'ev_payout_bounced', itemId: 4242n });
        });

        it('other bounces are ignored', async () => {
            const env = await fundedVault();
            const before = await env.vault.getVaultData();
            for (const body of [
                beginCell().storeUint(0xffffffff, 32).storeUint(0, 32).storeStringTail('hello').endCell(),
                beginCell().storeUint(0xffffffff, 32).storeUint(0, 32).storeStringTail('LabelMint #12x').endCell(),
                beginCell().storeUint(0xffffffff, 32).storeUint(0x12345678, 32).endCell(),
                beginCell().storeUint(0xffffffff, 32).storeUint(Op.transfer, 32).storeUint(1, 64).storeCoins(5).endCell(),
            ]) {
                const res = await env.blockchain.sendMessage(
                    internal({ from: env.funder.address, to: env.vault.address, value: toNano('0.1'), bounced: true, body }),
                );
                expect(res.transactions).toHaveTransaction({ to: env.vault.address, success: true, outMessagesCount: 0 });
            }
            expect(plain(await env.vault.getVaultData())).toEqual(plain(before));
        });
    });

    describe('replay dicts and storage over a year', () => {
        it('rotates queries into old_queries and drops them after 2 timeouts', async () => {
            const env = await fundedVault();
            await env.sendBatch({ items: makeItems(1), queryId: 1n });
            let st = await storageOf(env);
            expect([st.queries, st.oldQueries, st.lastClean]).toEqual([[1n], [], NOW]);
            env.blockchain.now = NOW + TIMEOUT; // one rotation: 1 moves to old
            expect(await env.vault.isProcessed(1n, NOW)).toEqual({ state: 'processed', validCreatedAfter: NOW, rememberedSince: NOW });
            await env.sendBatch({ items: makeItems(1), queryId: 2n });
            st = await storageOf(env);
            expect([st.queries, st.oldQueries, st.lastClean]).toEqual([[2n], [1n], NOW + TIMEOUT]);
            env.blockchain.now = NOW + 2 * TIMEOUT; // next rotation: 1 forgotten (expired long ago)
            // batch 1 is forgotten: the getter says it cannot tell, never that it did not land
            expect((await env.vault.isProcessed(1n, NOW)).state).toBe('unknown');
            expect((await env.vault.isProcessed(2n, NOW + TIMEOUT)).state).toBe('processed');
            await env.sendBatch({ items: makeItems(1), queryId: 3n });
            st = await storageOf(env);
            expect([st.queries, st.oldQueries]).toEqual([[3n], [2n]]);
        });

        it('is_processed never answers "not processed" for an executed batch: processed, then unknown once rotated past', async () => {
            const env = await fundedVault();
            // executed at the last moment of its validity: the longest it must stay known
            const createdAt = NOW;
            env.blockchain.now = NOW + TIMEOUT - 1;
            const res = await env.sendBatch({ items: makeItems(1), queryId: 900n, createdAt });
            expect(txSucceeded(findTx(res.transactions, env.vault.address)!)).toBe(true);
            // another batch, never sent, signed at the same time
            const lostCreatedAt = NOW;
            const seen = new Set<string>();
            for (let t = NOW + TIMEOUT - 1; t <= NOW + 5 * TIMEOUT; t += TIMEOUT / 4) {
                env.blockchain.now = t;
                // a batch now and then rotates the dicts as in production
                if (t % 3 === 0) await env.sendBatch({ items: makeItems(1) });
                const executed = await env.vault.isProcessed(900n, createdAt);
                expect(executed.state).not.toBe('not_processed');
                seen.add(executed.state);
                const lost = await env.vault.isProcessed(901n, lostCreatedAt);
                expect(lost.state).not.toBe('processed');
                // "not processed" is answered only while the dicts still cover created_at
                if (lost.state === 'not_processed') expect(lostCreatedAt).toBeGreaterThanOrEqual(lost.rememberedSince);
                else expect(lostCreatedAt).toBeLessThan(lost.rememberedSince);
            }
            expect([...seen].sort()).toEqual(['processed', 'unknown']);
        });

        it('a year of storage fees: the vault still works and the dicts rotate correctly', async () => {
            const env = await fundedVault();
            for (let q = 1n; q <= 5n; q++) await env.sendBatch({ items: makeItems(2), queryId: q });
            expect((await storageOf(env)).queries).toEqual([1n, 2n, 3n, 4n, 5n]);
            const before = await balanceOf(env);
            env.blockchain.now = NOW + 365 * 24 * 3600;
            const items = makeItems(3);
            const res = await env.sendBatch({ items, queryId: 6n });
            const tx = findTx(res.transactions, env.vault.address)!;
            expect(txSucceeded(tx)).toBe(true);
            const d = tx.description;
            const storageFee = d.type === 'generic' ? d.storagePhase!.storageFeesCollected : 0n;
            expect(storageFee).toBeGreaterThan(0n);
            expect(storageFee).toBeLessThan(toNano('0.1'));
            const st = await storageOf(env);
            expect([st.queries, st.oldQueries, st.lastClean]).toEqual([[6n], [], NOW + 365 * 24 * 3600]);
            // old query ids are forgotten (their requests expired long ago): unknown, not "not processed"
            for (let q = 1n; q <= 5n; q++) expect((await env.vault.isProcessed(q, NOW)).state).toBe('unknown');
            for (const it of items) expect(await balanceOf(env, it.dest)).toBe(it.amount);
            expect(await balanceOf(env)).toBeLessThan(before);
        });
    });

    describe('wrapper', () => {
        it('builders and parsers round-trip every vault layout', () => {
            const [a, b] = freshAddresses(2);
            const item = buildPayoutItem({ itemId: 42n, bounceable: true, dest: a, amount: 5n, next: null });
            expect(item.bits.length).toBe(64 + 1 + 267 + 4 + 8 + 5 + 16 + 1);
            const items = makeItems(3);
            const req = buildVaultBatchRequest({ vault: b, globalId: GlobalId.mainnet, queryId: 9n, createdAt: NOW, items });
            const body = signBatch(req, keyPair('signer').secretKey);
            expect(body.bits.length).toBe(512);
            expect(body.refs[0].equals(req)).toBe(true);
            expect(buildVaultTopUp({ queryId: 1n }).beginParse().preloadUint(32)).toBe(Op.vault_top_up);
            expect(() => buildPayoutItem({ itemId: 10n ** 17n, bounceable: false, dest: a, amount: 1n, next: null })).toThrow();
            expect(parseEvPayoutBounced(beginCell().storeUint(Op.ev_payout_bounced, 32).storeUint(5, 64).storeCoins(6).endCell())).toEqual({ itemId: 5n, amount: 6n });
            expect(() => parseEvPayoutBounced(buildVaultTopUp({ queryId: 1n }))).toThrow();
        });

        it('PayoutVault.createFromConfig derives a distinct address per vault id', () => {
            const cfg = { signerKey: keyPair('s').publicKey, timeout: 60, windowLen: 60, windowLimit: 1n, admin: freshAddresses(1)[0], jettonMaster: null, vaultId: 1, adminDelay: 60 };
            const code = new Cell();
            expect(PayoutVault.createFromConfig(cfg, code).address.equals(PayoutVault.createFromConfig({ ...cfg, vaultId: 2 }, code).address)).toBe(false);
            expect(() => PayoutVault.createFromConfig({ ...cfg, timeout: 0 }, code)).toThrow();
        });
    });
});

/** Import fee of an external message body (config 25: lump + per cell + per bit, root not counted). */
function importFee(body: Cell): bigint {
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
    return 400_000n + cells * 40_000n + bits * 400n;
}
