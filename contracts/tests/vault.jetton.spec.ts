// PayoutVault, jetton vault (test USD): discovery, funding by transfer_notification, batches of
// jetton transfers, bounces, forged and foreign notifications.
import '@ton/test-utils';
import { Address, beginCell, Cell, external, toNano } from '@ton/core';
import { Blockchain, internal, SandboxContract, TreasuryContract } from '@ton/sandbox';
import { Op } from '../wrappers/opcodes';
import { eventOp } from '../wrappers/events';
import { parseTransfer, parseTransferNotification, TransferFields } from '../wrappers/JettonWallet';
import { takeWalletAddressBody, transferNotificationBody } from '../wrappers/tep74';
import { TEST_USD } from '../wrappers/JettonMinter';
import {
    buildVaultBatchRequest,
    buildVaultFund,
    MAX_BATCH_ITEMS,
    parseEvBatchExecuted,
    parseEvJettonWalletLearned,
    parseEvVaultFunded,
    parseVaultEvent,
    PayoutItem,
    PayoutVault,
    signBatch,
    GlobalId,
    VaultError,
} from '../wrappers/PayoutVault';
import { deployTestUsd, TestUsd } from './helpers/jetton-fixture';
import {
    createVaultEnv,
    exitCodeOf,
    expectRefused,
    findTx,
    freshAddresses,
    internalOut,
    makeItems,
    NOW,
    plain,
    TON,
    txSucceeded,
    VaultEnv,
    vaultEvents,
} from './helpers/vault-fixture';

const ATTACH = toNano('0.05');
const FORWARD_TON = 1n;

interface JettonEnv extends VaultEnv {
    usd: TestUsd;
    usdAdmin: SandboxContract<TreasuryContract>;
}

async function jettonVault(opts: Parameters<typeof createVaultEnv>[0] = {}): Promise<JettonEnv> {
    const blockchain = opts.blockchain ?? (await Blockchain.create());
    if (!opts.blockchain) blockchain.now = NOW;
    const usdAdmin = await blockchain.treasury('usd-admin');
    const usd = await deployTestUsd(blockchain, usdAdmin);
    const env = await createVaultEnv({ deployValue: 20n * TON, ...opts, blockchain, jettonMaster: usd.minter.address });
    return { ...env, usd, usdAdmin };
}

/** Mints to the funder and transfers to the vault with a vault_fund forward payload. */
async function fundVault(env: JettonEnv, amount: bigint, opts: { projectId?: bigint; inline?: boolean; payload?: Cell | null; queryId?: bigint } = {}) {
    await env.usd.mint(env.funder.address, amount);
    const payload = opts.payload !== undefined ? opts.payload : buildVaultFund({ queryId: 1n, projectId: opts.projectId ?? 0n, amount });
    return env.usd.walletOf(env.funder.address).sendTransfer(env.funder.getSender(), {
        value: toNano('0.2'),
        amount,
        destination: env.vault.address,
        responseDestination: env.funder.address,
        forwardTonAmount: toNano('0.01'),
        forwardPayload: payload,
        forwardPayloadInline: opts.inline,
        queryId: opts.queryId ?? 17n,
    });
}

async function fundedJettonVault(jettons = 1_000_000n * TEST_USD, opts: Parameters<typeof createVaultEnv>[0] = {}) {
    const env = await jettonVault(opts);
    await fundVault(env, jettons, { projectId: 3n });
    return env;
}

function commentOf(payload: Cell | null): string {
    if (!payload) throw new Error('no forward payload');
    const s = payload.beginParse();
    expect(s.loadUint(32)).toBe(0);
    return s.loadBuffer(s.remainingBits / 8).toString('ascii');
}

describe('PayoutVault (jetton)', () => {
    describe('wallet discovery (TEP-89)', () => {
        it('the deploying top-up asks the master; take_wallet_address sets the wallet', async () => {
            const env = await jettonVault();
            const res = env.deployResult;
            expect(res.transactions).toHaveTransaction({ from: env.vault.address, to: env.usd.minter.address, op: Op.provide_wallet_address, success: true });
            expect(res.transactions).toHaveTransaction({ from: env.usd.minter.address, to: env.vault.address, op: Op.take_wallet_address, success: true });
            const evs = vaultEvents(res.transactions, env.vault.address);
            expect(evs.map(eventOp)).toEqual([Op.ev_gas_topped_up, Op.ev_jetton_wallet_learned]);
            const expected = env.usd.walletAddressOf(env.vault.address);
            expect(parseEvJettonWalletLearned(evs[1]).wallet.equals(expected)).toBe(true);
            expect((await env.vault.getJettonWallet())!.equals(expected)).toBe(true);
            const d = await env.vault.getVaultData();
            expect(d.jettonMaster!.equals(env.usd.minter.address)).toBe(true);
            expect(d.jettonWallet!.equals(expected)).toBe(true);
        });

        it('take_wallet_address from anyone but the master is refused; a second answer changes nothing', async () => {
            const env = await jettonVault();
            const mallory = await env.blockchain.treasury('mallory');
            const body = takeWalletAddressBody(0n, mallory.address, null);
            const res = await mallory.send({ to: env.vault.address, value: toNano('0.1'), body });
            expect(res.transactions).toHaveTransaction({ to: env.vault.address, success: false, exitCode: VaultError.notJettonMaster });
            const again = await env.blockchain.sendMessage(internal({ from: env.usd.minter.address, to: env.vault.address, value: toNano('0.1'), body }));
            expect(again.transactions).toHaveTransaction({ to: env.vault.address, success: true });
            expect(vaultEvents(again.transactions, env.vault.address)).toHaveLength(0);
            expect((await env.vault.getJettonWallet())!.equals(env.usd.walletAddressOf(env.vault.address))).toBe(true);
        });

        it('without a known wallet: batches refused (ERR_JETTON_WALLET_UNKNOWN), notifications returned; a top-up retries', async () => {
            const env = await jettonVault();
            // a second vault of the same master, deployed with an empty body: no discovery yet
            const vault = env.blockchain.openContract(PayoutVault.createFromConfig({ ...env.config, vaultId: 6 }, env.code));
            await env.funder.send({ to: vault.address, value: 5n * TON, init: vault.init, body: Cell.EMPTY });
            expect(await vault.getJettonWallet()).toBeNull();

            // its own wallet's notification is not recognised yet: the jettons go back
            await env.usd.mint(env.funder.address, 100n * TEST_USD);
            const res = await env.usd.walletOf(env.funder.address).sendTransfer(env.funder.getSender(), {
                value: toNano('0.3'),
                amount: 100n * TEST_USD,
                destination: vault.address,
                forwardTonAmount: toNano('0.1'),
                forwardPayload: null,
            });
            expect(vaultEvents(res.transactions, vault.address)).toHaveLength(0);
            expect(res.transactions).toHaveTransaction({ from: vault.address, to: env.usd.walletAddressOf(vault.address), op: Op.transfer });
            expect(await env.usd.walletOf(env.funder.address).getJettonBalance()).toBe(100n * TEST_USD);
            expect((await vault.getVaultData()).jettonBalance).toBe(0n);

            const req = buildVaultBatchRequest({ vault: vault.address, globalId: GlobalId.mainnet, queryId: 1n, createdAt: NOW, items: makeItems(1), attach: ATTACH });
            await expectRefused(env.blockchain.sendMessage(external({ to: vault.address, body: signBatch(req, env.signer.secretKey) })), VaultError.jettonWalletUnknown);

            const top = await vault.sendTopUp(env.funder.getSender(), toNano('0.5'));
            expect(vaultEvents(top.transactions, vault.address).map(eventOp)).toEqual([Op.ev_gas_topped_up, Op.ev_jetton_wallet_learned]);
            expect((await vault.getJettonWallet())!.equals(env.usd.walletAddressOf(vault.address))).toBe(true);
        });
    });

    describe('funding', () => {
        it('a transfer with a vault_fund forward payload (by ref) credits jetton_balance and funded', async () => {
            const env = await jettonVault();
            const res = await fundVault(env, 500n * TEST_USD, { projectId: 99n, queryId: 71n });
            const evs = vaultEvents(res.transactions, env.vault.address);
            expect(evs).toHaveLength(1);
            expect(plain(parseEvVaultFunded(evs[0]))).toEqual(plain({ queryId: 71n, projectId: 99n, from: env.funder.address, amount: 500n * TEST_USD }));
            const d = await env.vault.getVaultData();
            expect([d.jettonBalance, d.funded]).toEqual([500n * TEST_USD, 500n * TEST_USD]);
            expect(await env.usd.walletOf(env.vault.address).getJettonBalance()).toBe(500n * TEST_USD);
        });

        it('the project id is read from an inline vault_fund payload too; any other payload gives project 0', async () => {
            const env = await jettonVault();
            const inline = await fundVault(env, 5n, { projectId: 12n, inline: true });
            expect(parseEvVaultFunded(vaultEvents(inline.transactions, env.vault.address)[0]).projectId).toBe(12n);
            for (const payload of [null, beginCell().storeUint(0, 32).storeStringTail('hello').endCell(), beginCell().storeUint(Op.vault_fund, 32).endCell()]) {
                const res = await fundVault(env, 7n, { payload });
                const ev = parseEvVaultFunded(vaultEvents(res.transactions, env.vault.address)[0]);
                expect([ev.projectId, ev.amount]).toEqual([0n, 7n]);
            }
            expect((await env.vault.getVaultData()).jettonBalance).toBe(5n + 3n * 7n);
        });

        it('jettons minted straight to the vault (notification sender addr_none) are credited from the wallet', async () => {
            const env = await jettonVault();
            const res = await env.usd.mint(env.vault.address, 42n * TEST_USD, { from: null, forwardTonAmount: toNano('0.01'), forwardPayload: null });
            const evs = vaultEvents(res.transactions, env.vault.address);
            expect(evs).toHaveLength(1);
            const ev = parseEvVaultFunded(evs[0]);
            expect([ev.projectId, ev.amount, ev.from.toRawString()]).toEqual([0n, 42n * TEST_USD, env.usd.walletAddressOf(env.vault.address).toRawString()]);
            expect((await env.vault.getVaultData()).jettonBalance).toBe(42n * TEST_USD);
        });

        it('vault_fund (the TON op) is refused by a jetton vault', async () => {
            const env = await jettonVault();
            const res = await env.vault.sendFund(env.funder.getSender(), TON, { projectId: 1n });
            expect(res.transactions).toHaveTransaction({ to: env.vault.address, success: false, exitCode: VaultError.fundOnJettonVault });
            expect((await env.vault.getVaultData()).funded).toBe(0n);
        });

        it('a forged transfer_notification is not credited; a transfer back goes to the alleged wallet (mode 64)', async () => {
            const env = await fundedJettonVault();
            const mallory = await env.blockchain.treasury('mallory');
            const before = await env.vault.getVaultData();
            const body = transferNotificationBody({ queryId: 9n, amount: 10n ** 12n, sender: mallory.address, forwardPayload: buildVaultFund({ queryId: 1n, projectId: 3n, amount: 1n }) });
            const res = await mallory.send({ to: env.vault.address, value: toNano('0.5'), body });
            const tx = findTx(res.transactions, env.vault.address)!;
            expect(txSucceeded(tx)).toBe(true);
            expect(vaultEvents(res.transactions, env.vault.address)).toHaveLength(0);
            const out = internalOut(tx);
            expect(out).toHaveLength(1);
            expect((out[0].info.dest as Address).equals(mallory.address)).toBe(true);
            // carries the rest of the incoming value
            expect(out[0].info.type === 'internal' && out[0].info.value.coins).toBeGreaterThan(toNano('0.45'));
            const t = parseTransfer(out[0].body);
            expect([t.queryId, t.amount, t.destination.toRawString()]).toEqual([9n, 10n ** 12n, mallory.address.toRawString()]);
            expect(plain(await env.vault.getVaultData())).toEqual(plain(before));
        });

        it('jettons of another kind are sent back to their sender', async () => {
            const env = await fundedJettonVault();
            const otherAdmin = await env.blockchain.treasury('other-admin');
            const other = await deployTestUsd(env.blockchain, otherAdmin);
            expect(other.minter.address.equals(env.usd.minter.address)).toBe(false);
            await other.mint(env.funder.address, 50n * TEST_USD);
            const before = await env.vault.getVaultData();
            const res = await other.walletOf(env.funder.address).sendTransfer(env.funder.getSender(), {
                value: toNano('0.3'),
                amount: 50n * TEST_USD,
                destination: env.vault.address,
                forwardTonAmount: toNano('0.1'),
                forwardPayload: buildVaultFund({ queryId: 1n, projectId: 4n, amount: 50n * TEST_USD }),
            });
            expect(vaultEvents(res.transactions, env.vault.address)).toHaveLength(0);
            expect(await other.walletOf(env.funder.address).getJettonBalance()).toBe(50n * TEST_USD);
            expect(await other.walletOf(env.vault.address).getJettonBalance()).toBe(0n);
            expect(plain(await env.vault.getVaultData())).toEqual(plain(before));
        });
    });

    describe('batches', () => {
        it('pays every item with a transfer from the vault wallet carrying the item id and the comment', async () => {
            const env = await fundedJettonVault();
            const items: PayoutItem[] = makeItems(4, { amount: (i) => BigInt(i + 1) * 10n * TEST_USD, firstId: 90_000_000_000n });
            const total = items.reduce((a, it) => a + it.amount, 0n);
            const qid = env.nextQueryId();
            const res = await env.sendBatch({ items, queryId: qid, attach: ATTACH, forwardTon: FORWARD_TON });
            const tx = findTx(res.transactions, env.vault.address)!;
            expect(txSucceeded(tx)).toBe(true);
            const vaultWallet = env.usd.walletAddressOf(env.vault.address);
            const out = internalOut(tx);
            expect(out).toHaveLength(4);
            out.forEach((m, i) => {
                if (m.info.type !== 'internal') throw new Error();
                expect(m.info.dest.equals(vaultWallet)).toBe(true);
                expect(m.info.value.coins).toBe(ATTACH);
                expect(m.info.bounce).toBe(true);
                const t: TransferFields = parseTransfer(m.body);
                expect(t.queryId).toBe(items[i].itemId);
                expect(t.amount).toBe(items[i].amount);
                expect(t.destination.equals(items[i].dest)).toBe(true);
                expect(t.responseDestination!.equals(env.vault.address)).toBe(true);
                expect(t.customPayload).toBeNull();
                expect(t.forwardTonAmount).toBe(FORWARD_TON);
                expect(t.forwardPayloadInline).toBe(true);
                expect(commentOf(t.forwardPayload)).toBe(`LabelMint #${items[i].itemId}`);
            });
            const [ev] = vaultEvents([tx], env.vault.address);
            expect(parseEvBatchExecuted(ev)).toEqual({ queryId: qid, createdAt: NOW, count: 4, total, windowUsed: total });
            // workers got the jettons and a notification with the comment
            for (const it of items) {
                expect(await env.usd.walletOf(it.dest).getJettonBalance()).toBe(it.amount);
                const note = res.transactions.find(
                    (t) => t.inMessage?.info.dest instanceof Address && t.inMessage.info.dest.equals(it.dest) && t.inMessage.body.beginParse().preloadUint(32) === Op.transfer_notification,
                );
                expect(note).toBeDefined();
                const n = parseTransferNotification(note!.inMessage!.body);
                expect(commentOf(n.forwardPayload)).toBe(`LabelMint #${it.itemId}`);
            }
            // the excesses come back and are accepted silently
            expect(res.transactions).toHaveTransaction({ to: env.vault.address, op: Op.excesses, success: true });
            const d = await env.vault.getVaultData();
            expect(d.jettonBalance).toBe(1_000_000n * TEST_USD - total);
            expect(d.paid).toBe(total);
            expect(await env.usd.walletOf(env.vault.address).getJettonBalance()).toBe(1_000_000n * TEST_USD - total);
        });

        it('250 items: every transfer carries its item id', async () => {
            const env = await fundedJettonVault(1_000_000n * TEST_USD, { deployValue: 100n * TON });
            const items = makeItems(MAX_BATCH_ITEMS, { amount: (i) => BigInt(i + 1) });
            const res = await env.sendBatch({ items, attach: ATTACH, forwardTon: FORWARD_TON });
            const tx = findTx(res.transactions, env.vault.address)!;
            expect(txSucceeded(tx)).toBe(true);
            const ids = internalOut(tx).map((m) => parseTransfer(m.body).queryId);
            expect(ids).toEqual(items.map((it) => it.itemId));
            const texts = internalOut(tx).map((m) => commentOf(parseTransfer(m.body).forwardPayload));
            expect(texts).toEqual(items.map((it) => `LabelMint #${it.itemId}`));
            for (const it of items.slice(0, 5)) expect(await env.usd.walletOf(it.dest).getJettonBalance()).toBe(it.amount);
        });

        it('forward payload: inline up to bytes(total) + bytes(forward_ton) = 15 with 17 digits, by ref beyond', async () => {
            const env = await jettonVault({ deployValue: 10n * TON, windowLimit: (1n << 120n) - 1n });
            const big = 1n << 100n;
            await env.usd.mint(env.funder.address, big);
            await env.usd.walletOf(env.funder.address).sendTransfer(env.funder.getSender(), {
                value: toNano('0.2'),
                amount: big,
                destination: env.vault.address,
                forwardTonAmount: toNano('0.01'),
                forwardPayload: null,
            });
            expect((await env.vault.getVaultData()).jettonBalance).toBe(big);
            const forwardTon = toNano('0.15'); // 4 bytes
            const [a, b] = freshAddresses(2);
            const maxId = 10n ** 17n - 1n;
            // 11 + 4 = 15 bytes: inline, and the body is at most 1016 bits with 17 digits
            const inline = await env.sendBatch({ items: [{ itemId: maxId, bounceable: false, dest: a, amount: (1n << 81n) - 1n }], attach: toNano('0.2'), forwardTon });
            const t1 = parseTransfer(internalOut(findTx(inline.transactions, env.vault.address)!)[0].body);
            expect(t1.forwardPayloadInline).toBe(true);
            expect(commentOf(t1.forwardPayload)).toBe(`LabelMint #${maxId}`);
            expect(await env.usd.walletOf(a).getJettonBalance()).toBe((1n << 81n) - 1n);
            // 12 + 4 = 16 bytes: the comment goes by reference
            const byRef = await env.sendBatch({ items: [{ itemId: maxId - 1n, bounceable: false, dest: b, amount: 1n << 88n }], attach: toNano('0.2'), forwardTon });
            const t2 = parseTransfer(internalOut(findTx(byRef.transactions, env.vault.address)!)[0].body);
            expect(t2.forwardPayloadInline).toBe(false);
            expect(commentOf(t2.forwardPayload)).toBe(`LabelMint #${maxId - 1n}`);
            expect(await env.usd.walletOf(b).getJettonBalance()).toBe(1n << 88n);
            const note = byRef.transactions.find((t) => t.inMessage?.info.dest instanceof Address && t.inMessage.info.dest.equals(b));
            expect(commentOf(parseTransferNotification(note!.inMessage!.body).forwardPayload)).toBe(`LabelMint #${maxId - 1n}`);
            expect((await env.vault.getVaultData()).jettonBalance).toBe(big - ((1n << 81n) - 1n) - (1n << 88n));
        });

        it('refuses: total above the jetton balance, attach out of range, forward above attach, TON short', async () => {
            const env = await fundedJettonVault(100n * TEST_USD, { deployValue: TON });
            const one = (amount: bigint) => makeItems(1, { amount: () => amount });
            await expectRefused(env.sendBatch({ items: one(100n * TEST_USD + 1n), attach: ATTACH }), VaultError.insufficientJettons);
            await expectRefused(env.sendBatch({ items: one(1n), attach: toNano('0.2') + 1n }), VaultError.badAttach);
            await expectRefused(env.sendBatch({ items: one(1n), attach: toNano('0.01') - 1n }), VaultError.badAttach);
            await expectRefused(env.sendBatch({ items: one(1n), attach: ATTACH, forwardTon: ATTACH + 1n }), VaultError.forwardExceedsAttach);
            await expectRefused(env.sendBatch({ items: makeItems(30, { amount: () => 1n }), attach: toNano('0.2') }), VaultError.insufficientTon);
            // the whole balance at once is fine
            const res = await env.sendBatch({ items: one(100n * TEST_USD), attach: ATTACH });
            expect(txSucceeded(findTx(res.transactions, env.vault.address)!)).toBe(true);
            expect((await env.vault.getVaultData()).jettonBalance).toBe(0n);
        });

        it('a bounced jetton transfer (attach too small for the wallet) restores the balance', async () => {
            const env = await fundedJettonVault();
            const items = makeItems(2, { amount: (i) => BigInt(i + 1) * TEST_USD, firstId: 31337n });
            const res = await env.sendBatch({ items, attach: toNano('0.01'), forwardTon: FORWARD_TON });
            const vaultWallet = env.usd.walletAddressOf(env.vault.address);
            expect(res.transactions).toHaveTransaction({ from: env.vault.address, to: vaultWallet, op: Op.transfer, success: false });
            const bounces = vaultEvents(res.transactions, env.vault.address).map(parseVaultEvent).filter((e) => e.kind === 'ev_payout_bounced');
            expect(plain(bounces)).toEqual(plain(items.map((it) => ({ kind: 'ev_payout_bounced', itemId: it.itemId, amount: it.amount }))));
            const d = await env.vault.getVaultData();
            expect(d.jettonBalance).toBe(1_000_000n * TEST_USD);
            expect(d.bounced).toBe(3n * TEST_USD);
            expect(d.paid).toBe(3n * TEST_USD);
            for (const it of items) expect(await env.usd.walletOf(it.dest).getJettonBalance()).toBe(0n);
            expect(await env.usd.walletOf(env.vault.address).getJettonBalance()).toBe(1_000_000n * TEST_USD);
        });

        it('a transfer bounce from anyone but the vault wallet is ignored', async () => {
            const env = await fundedJettonVault();
            const before = await env.vault.getVaultData();
            const body = beginCell().storeUint(0xffffffff, 32).storeUint(Op.transfer, 32).storeUint(5, 64).storeCoins(10n ** 9n).endCell();
            const res = await env.blockchain.sendMessage(internal({ from: env.funder.address, to: env.vault.address, value: toNano('0.1'), bounced: true, body }));
            expect(res.transactions).toHaveTransaction({ to: env.vault.address, success: true, outMessagesCount: 0 });
            expect(plain(await env.vault.getVaultData())).toEqual(plain(before));
        });

        it('count / total mismatch burns the query id and sends nothing', async () => {
            const env = await fundedJettonVault();
            const items = makeItems(3);
            const qid = env.nextQueryId();
            const body = env.batchBody({ items, queryId: qid, count: 2, total: items[0].amount + items[1].amount, attach: ATTACH });
            const res = await env.blockchain.sendMessage(external({ to: env.vault.address, body }));
            const tx = findTx(res.transactions, env.vault.address)!;
            expect(exitCodeOf(tx)).toBe(VaultError.countMismatch);
            expect(tx.outMessagesCount).toBe(0);
            expect((await env.vault.getVaultData()).jettonBalance).toBe(1_000_000n * TEST_USD);
            expect((await env.vault.isProcessed(qid, NOW)).state).toBe('processed');
            const qid2 = env.nextQueryId();
            const res2 = await env.sendBatch({ items, queryId: qid2, total: 1n, attach: ATTACH });
            expect(exitCodeOf(findTx(res2.transactions, env.vault.address)!)).toBe(VaultError.totalMismatch);
            expect((await env.vault.getVaultData()).jettonBalance).toBe(1_000_000n * TEST_USD);
        });

        it('the window limit counts jetton units', async () => {
            const env = await fundedJettonVault(1_000_000n * TEST_USD, { windowLimit: 100n * TEST_USD });
            await expectRefused(env.sendBatch({ items: makeItems(1, { amount: () => 100n * TEST_USD + 1n }), attach: ATTACH }), VaultError.windowExceeded);
            await env.sendBatch({ items: makeItems(1, { amount: () => 100n * TEST_USD }), attach: ATTACH });
            expect((await env.vault.getWindowUsage()).available).toBe(0n);
            const dests = freshAddresses(1);
            await expectRefused(env.sendBatch({ items: [{ itemId: 1n, bounceable: false, dest: dests[0], amount: 1n }], attach: ATTACH }), VaultError.windowExceeded);
        });
    });
});
