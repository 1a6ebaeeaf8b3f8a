// PayoutVault jetton recovery (issue 11, point 1, vault part): jetton_recover books jettons the
// vault's own wallet holds beyond jetton_balance, proven by a self-transfer of
// A = jetton_balance + X (contracts/vault/recovery.tolk). Only what the wallet really holds can be
// booked; one recovery at a time; no batch while one is in flight; racing deposits are never
// booked twice.
import '@ton/test-utils';
import { readFileSync } from 'fs';
import path from 'path';
import { Address, Cell, external, toNano, Transaction } from '@ton/core';
import { Blockchain, BlockchainTransaction, internal, SandboxContract, SendMessageResult, TreasuryContract } from '@ton/sandbox';
import { Op } from '../wrappers/opcodes';
import { eventOp } from '../wrappers/events';
import { TEST_USD } from '../wrappers/JettonMinter';
import { parseTransfer } from '../wrappers/JettonWallet';
import { transferNotificationBody } from '../wrappers/tep74';
import { buildJettonRecover, buildJettonRecovery, EvJettonRecovered, parseEvJettonRecovered, parseEvJettonRecoveryFailed, parseJettonRecovery } from '../wrappers/recovery';
import { buildVaultFund, parseVaultEvent, RECOVER_MIN_TON, recoveryNonce, VaultError } from '../wrappers/PayoutVault';
import { deployTestUsd, TestUsd, WalletStatus } from './helpers/jetton-fixture';
import {
    createVaultEnv,
    expectRefused,
    findTx,
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
/** Mirrors of contracts/vault/fees.tolk (checked below against the source). */
const RECOVERY_TIMEOUT = 3600;
const GAS_RECOVER = 12000n;
const GAS_RECOVERY_ANSWER = 12000n;

interface Env extends VaultEnv {
    usd: TestUsd;
    caller: SandboxContract<TreasuryContract>;
}

/** A jetton vault holding `booked` test USD on its books (and in its wallet). */
async function jettonVault(booked = 1000n * TEST_USD, opts: { library?: boolean } = {}): Promise<Env> {
    const blockchain = await Blockchain.create();
    blockchain.now = NOW;
    const usd = await deployTestUsd(blockchain, await blockchain.treasury('usd-admin'), { library: opts.library });
    const env = await createVaultEnv({ blockchain, deployValue: 20n * TON, jettonMaster: usd.minter.address });
    const caller = await blockchain.treasury('anyone');
    const e = { ...env, usd, caller };
    if (booked > 0n) await deposit(e, booked, toNano('0.02'));
    return e;
}

/** A funder transfers `amount` to the vault; forwardTon 0 sends no notification (the vault is not told). */
async function deposit(env: Env, amount: bigint, forwardTon: bigint) {
    await env.usd.mint(env.funder.address, amount);
    return env.usd.walletOf(env.funder.address).sendTransfer(env.funder.getSender(), {
        value: toNano('0.2'),
        amount,
        destination: env.vault.address,
        forwardTonAmount: forwardTon,
        forwardPayload: forwardTon > 0n ? buildVaultFund({ queryId: 1n, projectId: 9n, amount }) : null,
    });
}

async function walletBalance(env: Env) {
    return env.usd.walletOf(env.vault.address).getJettonBalance();
}

function recoverMessage(env: Env, amount: bigint, value = RECOVER_MIN_TON, from: Address = env.caller.address) {
    return internal({ from, to: env.vault.address, value, body: buildJettonRecover({ queryId: 3n, amount }) });
}

/** Starts a recovery and stops after the vault's own transaction: the request is in flight. */
async function startRecovery(env: Env, amount: bigint) {
    // its own queue: other messages sent meanwhile do not deliver this one's
    const it = await env.blockchain.sendMessageIter(recoverMessage(env, amount), { allowParallel: true });
    const first = await it.next();
    const tx = first.value as BlockchainTransaction;
    expect(txSucceeded(tx)).toBe(true);
    return {
        tx,
        /** Delivers the rest of the recovery's messages. */
        async finish(): Promise<Transaction[]> {
            const txs: Transaction[] = [tx];
            for (let r = await it.next(); !r.done; r = await it.next()) txs.push(r.value);
            return txs;
        },
    };
}

function recoveredEvents(txs: Transaction[], vault: Address): EvJettonRecovered[] {
    return vaultEvents(txs, vault)
        .filter((b) => eventOp(b) === Op.ev_jetton_recovered)
        .map(parseEvJettonRecovered);
}

describe('PayoutVault jetton recovery', () => {
    it('the mirrored constants equal fees.tolk', () => {
        const src = readFileSync(path.join(__dirname, '..', 'contracts', 'vault', 'fees.tolk'), 'utf-8');
        expect(src).toContain(`const RECOVERY_TIMEOUT = ${RECOVERY_TIMEOUT}\n`);
        expect(src).toContain(`const GAS_RECOVER = ${GAS_RECOVER}\n`);
        expect(src).toContain(`const GAS_RECOVERY_ANSWER = ${GAS_RECOVERY_ANSWER}\n`);
    });

    it('books tokens sent to the vault without a notification, up to what the wallet holds', async () => {
        const env = await jettonVault();
        const stray = 37n * TEST_USD;
        const res = await deposit(env, stray, 0n);
        expect(vaultEvents(res.transactions, env.vault.address)).toHaveLength(0); // the vault was not told
        expect(await walletBalance(env)).toBe(1037n * TEST_USD);
        expect((await env.vault.getVaultData()).jettonBalance).toBe(1000n * TEST_USD);

        const callerBefore = await env.caller.getBalance();
        const rec = await env.caller.send({ to: env.vault.address, value: RECOVER_MIN_TON, body: buildJettonRecover({ queryId: 3n, amount: stray }) });
        const tx = findTx(rec.transactions, env.vault.address)!;
        expect(txSucceeded(tx)).toBe(true);
        // the request: a transfer of A = books + X to the vault itself, marked with the nonce
        const [ask] = internalOut(tx);
        const t = parseTransfer(ask.body);
        const nonce = recoveryNonce(1n);
        expect([t.queryId, t.amount, t.destination.toRawString(), t.responseDestination!.toRawString()]).toEqual([
            nonce,
            1037n * TEST_USD,
            env.vault.address.toRawString(),
            env.caller.address.toRawString(),
        ]);
        expect(t.forwardTonAmount).toBeGreaterThan(0n);
        expect(t.forwardPayloadInline).toBe(true);
        expect(parseJettonRecovery(t.forwardPayload!)).toEqual({ nonce });

        // the gas of both vault steps stays under the constants recoverCost is derived from
        const gasOf = (t: Transaction) => (t.description.type === 'generic' && t.description.computePhase.type === 'vm' ? t.description.computePhase.gasUsed : -1n);
        const answer = rec.transactions.find((x) => x.inMessage?.info.dest instanceof Address && x.inMessage.info.dest.equals(env.vault.address) && x.inMessage.body.beginParse().preloadUint(32) === Op.transfer_notification)!;
        console.log(`jetton_recover: ${gasOf(tx)} gas; its answer: ${gasOf(answer)} gas`);
        expect(gasOf(tx)).toBeLessThan(GAS_RECOVER);
        expect(gasOf(answer)).toBeLessThan(GAS_RECOVERY_ANSWER);
        const evs = vaultEvents(rec.transactions, env.vault.address).map(parseVaultEvent);
        expect(plain(evs)).toEqual(plain([{ kind: 'ev_jetton_recovered', queryId: nonce, amount: stray, booked: 1037n * TEST_USD }]));
        const d = await env.vault.getVaultData();
        expect([d.jettonBalance, d.recovered, d.recoveryNonce, d.recovery]).toEqual([1037n * TEST_USD, stray, nonce, null]);
        // the self-transfer moved nothing; the caller paid the gas and got the rest back
        expect(await walletBalance(env)).toBe(d.jettonBalance);
        expect(rec.transactions).toHaveTransaction({ to: env.caller.address, op: Op.excesses });
        const spent = callerBefore - (await env.caller.getBalance());
        expect(spent).toBeGreaterThan(0n);
        expect(spent).toBeLessThan(RECOVER_MIN_TON);
        // and the vault pays it out again
        const paid = await env.sendBatch({ items: makeItems(1, { amount: () => 1037n * TEST_USD }), attach: ATTACH });
        expect(txSucceeded(findTx(paid.transactions, env.vault.address)!)).toBe(true);
        expect(await walletBalance(env)).toBe(0n);
    });

    it('a claim below the extra books the claim; a second recovery books the rest', async () => {
        const env = await jettonVault();
        await deposit(env, 10n * TEST_USD, 0n);
        const a = await env.blockchain.sendMessage(recoverMessage(env, 4n * TEST_USD));
        expect(recoveredEvents(a.transactions, env.vault.address).map((e) => e.amount)).toEqual([4n * TEST_USD]);
        const b = await env.blockchain.sendMessage(recoverMessage(env, 6n * TEST_USD));
        expect(recoveredEvents(b.transactions, env.vault.address)).toEqual([{ queryId: recoveryNonce(2n), amount: 6n * TEST_USD, booked: 1010n * TEST_USD }]);
        expect((await env.vault.getVaultData()).recovered).toBe(10n * TEST_USD);
        expect(await walletBalance(env)).toBe(1010n * TEST_USD);
    });

    it('a false claim (more than the wallet holds) books nothing and emits ev_jetton_recovery_failed', async () => {
        const env = await jettonVault();
        await deposit(env, 5n * TEST_USD, 0n);
        const before = await env.vault.getVaultData();
        const res = await env.blockchain.sendMessage(recoverMessage(env, 5n * TEST_USD + 1n));
        // the own wallet refused the transfer (it does not hold A) and it bounced to the vault
        expect(res.transactions).toHaveTransaction({ from: env.vault.address, to: env.usd.walletAddressOf(env.vault.address), op: Op.transfer, success: false });
        const evs = vaultEvents(res.transactions, env.vault.address);
        expect(evs.map(eventOp)).toEqual([Op.ev_jetton_recovery_failed]);
        expect(parseEvJettonRecoveryFailed(evs[0])).toEqual({ queryId: recoveryNonce(1n) });
        const d = await env.vault.getVaultData();
        expect([d.jettonBalance, d.recovered, d.bounced, d.recovery]).toEqual([before.jettonBalance, 0n, 0n, null]);
        expect(await walletBalance(env)).toBe(1005n * TEST_USD);
        // not pending any more: batches and a true claim work
        const ok = await env.sendBatch({ items: makeItems(1), attach: ATTACH });
        expect(txSucceeded(findTx(ok.transactions, env.vault.address)!)).toBe(true);
        const again = await env.blockchain.sendMessage(recoverMessage(env, 5n * TEST_USD));
        expect(recoveredEvents(again.transactions, env.vault.address).map((e) => e.amount)).toEqual([5n * TEST_USD]);
        expect((await env.vault.getVaultData()).jettonBalance).toBe(await walletBalance(env));
    });

    it('two recoveries at once: the second is refused while the first is in flight', async () => {
        const env = await jettonVault();
        await deposit(env, 8n * TEST_USD, 0n);
        const first = await startRecovery(env, 8n * TEST_USD);
        const d = await env.vault.getVaultData();
        expect(d.recovery).toEqual({ startedAt: NOW, amount: 1008n * TEST_USD });
        // a second claim of the same extra would prove it twice: refused (and bounced to its sender)
        const second = await env.blockchain.sendMessage(recoverMessage(env, 8n * TEST_USD));
        expect(second.transactions).toHaveTransaction({ to: env.vault.address, success: false, exitCode: VaultError.recoveryPending });
        expect(second.transactions).toHaveTransaction({ from: env.vault.address, to: env.caller.address, inMessageBounced: true });
        const txs = await first.finish();
        expect(recoveredEvents(txs, env.vault.address).map((e) => e.amount)).toEqual([8n * TEST_USD]);
        expect((await env.vault.getVaultData()).jettonBalance).toBe(1008n * TEST_USD);
        expect(await walletBalance(env)).toBe(1008n * TEST_USD);
    });

    it('batches are refused before accept while a recovery is in flight, and work once it ends', async () => {
        const env = await jettonVault();
        await deposit(env, 2n * TEST_USD, 0n);
        const flight = await startRecovery(env, 2n * TEST_USD);
        const balance = (await env.blockchain.getContract(env.vault.address)).balance;
        const body = env.batchBody({ items: makeItems(1), attach: ATTACH, queryId: 44n });
        await expectRefused(env.blockchain.sendMessage(external({ to: env.vault.address, body })), VaultError.recoveryPending);
        expect((await env.blockchain.getContract(env.vault.address)).balance).toBe(balance);
        await flight.finish();
        const ok = await env.blockchain.sendMessage(external({ to: env.vault.address, body }));
        expect(txSucceeded(findTx(ok.transactions, env.vault.address)!)).toBe(true);
    });

    it('a deposit racing a recovery is never booked twice (deposit first: under-booked, then recovered)', async () => {
        const env = await jettonVault();
        await deposit(env, 10n * TEST_USD, 0n); // the extra to recover
        const flight = await startRecovery(env, 10n * TEST_USD); // A = 1010
        // a notified deposit reaches the wallet before the recovery's request does
        const racing = await deposit(env, 3n * TEST_USD, toNano('0.02'));
        expect(vaultEvents(racing.transactions, env.vault.address).map(eventOp)).toEqual([Op.ev_vault_funded]);
        expect((await env.vault.getVaultData()).jettonBalance).toBe(1003n * TEST_USD);
        const txs = await flight.finish();
        // the wallet held 1013 >= A = 1010: the vault books max(0, 1010 - 1003) = 7, not 10
        expect(recoveredEvents(txs, env.vault.address)).toEqual([{ queryId: recoveryNonce(1n), amount: 7n * TEST_USD, booked: 1010n * TEST_USD }]);
        expect(await walletBalance(env)).toBe(1013n * TEST_USD);
        expect((await env.vault.getVaultData()).jettonBalance).toBeLessThanOrEqual(await walletBalance(env));
        // a second recovery books what the race left out
        const again = await env.blockchain.sendMessage(recoverMessage(env, 3n * TEST_USD));
        expect(recoveredEvents(again.transactions, env.vault.address).map((e) => e.amount)).toEqual([3n * TEST_USD]);
        expect((await env.vault.getVaultData()).jettonBalance).toBe(await walletBalance(env));
    });

    it('a deposit after the answer is booked once, by its own notification', async () => {
        const env = await jettonVault();
        await deposit(env, 10n * TEST_USD, 0n);
        const rec = await env.blockchain.sendMessage(recoverMessage(env, 10n * TEST_USD));
        expect(recoveredEvents(rec.transactions, env.vault.address).map((e) => e.amount)).toEqual([10n * TEST_USD]);
        await deposit(env, 3n * TEST_USD, toNano('0.02'));
        const d = await env.vault.getVaultData();
        expect(d.jettonBalance).toBe(1013n * TEST_USD);
        expect(d.jettonBalance).toBe(await walletBalance(env));
    });

    it('a recovery stuck past RECOVERY_TIMEOUT can be replaced; the old one\'s late answer books nothing', async () => {
        const env = await jettonVault();
        await deposit(env, 6n * TEST_USD, 0n);
        const stuck = await startRecovery(env, 6n * TEST_USD); // its request never delivered (yet)
        env.blockchain.now = NOW + RECOVERY_TIMEOUT - 1;
        const early = await env.blockchain.sendMessage(recoverMessage(env, 6n * TEST_USD));
        expect(early.transactions).toHaveTransaction({ to: env.vault.address, exitCode: VaultError.recoveryPending });
        env.blockchain.now = NOW + RECOVERY_TIMEOUT;
        const replace = await env.blockchain.sendMessage(recoverMessage(env, 6n * TEST_USD));
        expect(recoveredEvents(replace.transactions, env.vault.address)).toEqual([{ queryId: recoveryNonce(2n), amount: 6n * TEST_USD, booked: 1006n * TEST_USD }]);
        // the old request arrives late: the wallet still holds A_old = 1006, its answer carries
        // the old nonce and moves nothing: no booking, no event
        const late = await stuck.finish();
        expect(late).toHaveTransaction({ to: env.vault.address, op: Op.transfer_notification, success: true });
        expect(vaultEvents(late, env.vault.address)).toHaveLength(0);
        const d = await env.vault.getVaultData();
        expect([d.jettonBalance, d.recovered, d.recovery]).toEqual([1006n * TEST_USD, 6n * TEST_USD, null]);
        expect(await walletBalance(env)).toBe(1006n * TEST_USD);
    });

    it('a late bounce of a replaced recovery is not booked as a payout bounce', async () => {
        const env = await jettonVault();
        // an over-claim that will bounce, left in flight
        const stuck = await startRecovery(env, 1n);
        env.blockchain.now = NOW + RECOVERY_TIMEOUT;
        await deposit(env, 2n * TEST_USD, 0n);
        await env.blockchain.sendMessage(recoverMessage(env, 2n * TEST_USD)); // nonce 2, books 2
        const before = await env.vault.getVaultData();
        // now the old request is delivered: the wallet holds 1002 >= 1001, so make it fail by paying
        // everything out first
        const pay = await env.sendBatch({ items: makeItems(1, { amount: () => 1002n * TEST_USD }), attach: ATTACH });
        expect(txSucceeded(findTx(pay.transactions, env.vault.address)!)).toBe(true);
        const late = await stuck.finish();
        expect(late).toHaveTransaction({ to: env.vault.address, inMessageBounced: true });
        expect(vaultEvents(late, env.vault.address)).toHaveLength(0);
        const d = await env.vault.getVaultData();
        expect([d.jettonBalance, d.bounced, d.recovered]).toEqual([0n, before.bounced, before.recovered]);
        expect(await walletBalance(env)).toBe(0n);
    });

    it('forged answers book nothing: a notification from another wallet, or with a wrong nonce', async () => {
        const env = await jettonVault();
        await deposit(env, 4n * TEST_USD, 0n);
        const flight = await startRecovery(env, 4n * TEST_USD);
        const mallory = await env.blockchain.treasury('mallory');
        const forged = transferNotificationBody({
            queryId: recoveryNonce(1n),
            amount: 10n ** 12n,
            sender: env.vault.address,
            forwardPayload: buildJettonRecovery({ nonce: recoveryNonce(1n) }),
        });
        const res = await mallory.send({ to: env.vault.address, value: toNano('0.2'), body: forged });
        expect(vaultEvents(res.transactions, env.vault.address)).toHaveLength(0);
        expect((await env.vault.getVaultData()).recovery).not.toBeNull();
        // the real answer still books exactly the extra
        const txs = await flight.finish();
        expect(recoveredEvents(txs, env.vault.address).map((e) => e.amount)).toEqual([4n * TEST_USD]);
        // a marker from the own wallet with a nonce that is not pending: nothing
        const ownWallet = env.usd.walletAddressOf(env.vault.address);
        const stale = await env.blockchain.sendMessage(
            internal({
                from: ownWallet,
                to: env.vault.address,
                value: toNano('0.05'),
                body: transferNotificationBody({
                    queryId: recoveryNonce(7n),
                    amount: 10n ** 12n,
                    sender: env.vault.address,
                    forwardPayload: buildJettonRecovery({ nonce: recoveryNonce(7n) }),
                }),
            }),
        );
        expect(stale.transactions).toHaveTransaction({ to: env.vault.address, success: true });
        expect(vaultEvents(stale.transactions, env.vault.address)).toHaveLength(0);
        expect((await env.vault.getVaultData()).jettonBalance).toBe(1004n * TEST_USD);
    });

    it('refusals: a TON vault, a zero claim, too little TON, an unknown wallet', async () => {
        const env = await jettonVault();
        const refused = async (res: SendMessageResult, to: Address, code: number) =>
            expect(res.transactions).toHaveTransaction({ to, success: false, exitCode: code });
        await refused(await env.blockchain.sendMessage(recoverMessage(env, 0n)), env.vault.address, VaultError.badRecoveryAmount);
        await refused(await env.blockchain.sendMessage(recoverMessage(env, (1n << 120n) - 1n)), env.vault.address, VaultError.badRecoveryAmount);
        await refused(await env.blockchain.sendMessage(recoverMessage(env, 1n, toNano('0.03'))), env.vault.address, VaultError.notEnoughTon);
        expect((await env.vault.getVaultData()).recovery).toBeNull();

        const ton = await createVaultEnv({ blockchain: env.blockchain, vaultId: 5 });
        const res = await env.blockchain.sendMessage(internal({ from: env.caller.address, to: ton.vault.address, value: RECOVER_MIN_TON, body: buildJettonRecover({ queryId: 1n, amount: 1n }) }));
        await refused(res, ton.vault.address, VaultError.notJettonVault);

        // a jetton vault that does not know its wallet yet (deployed with an empty body)
        const { PayoutVault } = await import('../wrappers/PayoutVault');
        const blind = env.blockchain.openContract(PayoutVault.createFromConfig({ ...env.config, vaultId: 6 }, env.code));
        await env.funder.send({ to: blind.address, value: TON, init: blind.init, body: Cell.EMPTY });
        const r2 = await env.blockchain.sendMessage(internal({ from: env.caller.address, to: blind.address, value: RECOVER_MIN_TON, body: buildJettonRecover({ queryId: 1n, amount: 1n }) }));
        await refused(r2, blind.address, VaultError.jettonWalletUnknown);
    });

    // USDT's admin can lock a wallet: a payout to it fails in the recipient's wallet, bounces to
    // the vault's wallet, which restores its balance and tells the vault nothing (the vault has
    // booked the item as paid). The recovery books the tokens back; the earning is paid again.
    for (const library of [false, true]) {
        it(`payout to a locked worker wallet (${library ? 'library-cell wallet code, as USDT on mainnet' : 'plain wallet code'}): recovered, then paid exactly once`, async () => {
            const env = await jettonVault(1000n * TEST_USD, { library });
            const [locked, unlocked] = await Promise.all([env.blockchain.treasury('locked-worker'), env.blockchain.treasury('other-worker')]);
            const lock = await env.usd.setStatus(locked.address, WalletStatus.receiveLocked);
            expect(lock.transactions).toHaveTransaction({ to: env.usd.walletAddressOf(locked.address), success: true });

            const item = { itemId: 4242n, bounceable: true, dest: locked.address, amount: 100n * TEST_USD };
            const pay = await env.sendBatch({ items: [item], attach: ATTACH, queryId: 1n });
            // the recipient's wallet refused (USDT's ERR_CONTRACT_LOCKED, 45); the bounce restored the
            // vault wallet's balance and nothing told the vault
            expect(pay.transactions).toHaveTransaction({ to: env.usd.walletAddressOf(locked.address), op: Op.internal_transfer, success: false, exitCode: 45 });
            expect(pay.transactions).toHaveTransaction({ from: env.usd.walletAddressOf(locked.address), to: env.usd.walletAddressOf(env.vault.address), inMessageBounced: true });
            expect(vaultEvents(pay.transactions, env.vault.address).map(eventOp)).toEqual([Op.ev_batch_executed]);
            expect(await env.usd.walletOf(locked.address).getJettonBalance()).toBe(0n);
            expect(await walletBalance(env)).toBe(1000n * TEST_USD);
            expect((await env.vault.getVaultData()).jettonBalance).toBe(900n * TEST_USD);

            // anyone recovers the 100 that came back: books == wallet again
            const rec = await env.caller.send({ to: env.vault.address, value: RECOVER_MIN_TON, body: buildJettonRecover({ queryId: 1n, amount: item.amount }) });
            expect(recoveredEvents(rec.transactions, env.vault.address)).toEqual([{ queryId: recoveryNonce(1n), amount: item.amount, booked: 1000n * TEST_USD }]);
            const d = await env.vault.getVaultData();
            expect([d.jettonBalance, d.recovered, d.paid]).toEqual([1000n * TEST_USD, item.amount, item.amount]);
            expect(d.jettonBalance).toBe(await walletBalance(env));

            // the earning is payable again: a second payout (new item id) to an unlocked address
            const again = env.batchBody({ items: [{ ...item, itemId: 4243n, dest: unlocked.address }], attach: ATTACH, queryId: 2n });
            const res = await env.blockchain.sendMessage(external({ to: env.vault.address, body: again }));
            expect(txSucceeded(findTx(res.transactions, env.vault.address)!)).toBe(true);
            await expectRefused(env.blockchain.sendMessage(external({ to: env.vault.address, body: again })), VaultError.alreadyProcessed);
            expect(await env.usd.walletOf(unlocked.address).getJettonBalance()).toBe(item.amount);
            expect(await env.usd.walletOf(locked.address).getJettonBalance()).toBe(0n);
            const after = await env.vault.getVaultData();
            expect(after.jettonBalance).toBe(900n * TEST_USD);
            expect(after.jettonBalance).toBe(await walletBalance(env));
            // what left the vault's wallet: exactly the one payout that landed
            expect(1000n * TEST_USD - (await walletBalance(env))).toBe(item.amount);
        });
    }
});
