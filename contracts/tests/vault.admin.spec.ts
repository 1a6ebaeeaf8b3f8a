// PayoutVault admin timelock (issue 11, point 2): raising a limit, rotating the signer key and
// handing over the admin role wait admin_delay (default 48 h) between the admin's proposal and
// vault_apply_change; freezing, unfreezing and lowering limits are immediate; a pending change
// can be cancelled. The admin can never pay anyone, even combining its powers.
import '@ton/test-utils';
import { Address, Cell, toNano } from '@ton/core';
import { Blockchain, SandboxContract, TreasuryContract } from '@ton/sandbox';
import { Op } from '../wrappers/opcodes';
import { eventOp } from '../wrappers/events';
import {
    AdminChange,
    buildEvAdminChangeCancelled,
    buildEvAdminChangeProposed,
    buildVaultPendingChange,
    DEFAULT_ADMIN_DELAY,
    parseEvAdminChange,
    parseEvAdminChangeCancelled,
    parseEvAdminChangeProposed,
    parseVaultParams,
    parseVaultPendingChange,
    VaultAdminAction,
    VaultError,
} from '../wrappers/PayoutVault';
import {
    createVaultEnv,
    expectRefused,
    findTx,
    internalOut,
    keyPair,
    makeItems,
    NOW,
    plain,
    TON,
    txSucceeded,
    VaultEnv,
    vaultEvents,
    vaultStorage,
    WINDOW_LEN,
} from './helpers/vault-fixture';

const FEE = toNano('0.1');

async function fundedVault(opts: Parameters<typeof createVaultEnv>[0] = {}) {
    const env = await createVaultEnv({ deployValue: 10n * TON, windowLimit: 10n * TON, ...opts });
    await env.vault.sendFund(env.funder.getSender(), 1000n * TON, { projectId: 7n });
    return env;
}

async function balanceOf(env: VaultEnv, a: Address = env.vault.address) {
    return (await env.blockchain.getContract(a)).balance;
}

/** The only event `res` emitted from the vault, parsed with `parse`. */
function onlyEvent<T>(env: VaultEnv, res: { transactions: Parameters<typeof vaultEvents>[0] }, parse: (c: Cell) => T): T {
    const evs = vaultEvents(res.transactions, env.vault.address);
    expect(evs).toHaveLength(1);
    return parse(evs[0]);
}

async function expectAdminRefused(env: VaultEnv, p: Promise<{ transactions: Parameters<typeof vaultEvents>[0] }>, code: number) {
    const res = await p;
    expect(res.transactions).toHaveTransaction({ to: env.vault.address, success: false, exitCode: code });
    expect(vaultEvents(res.transactions, env.vault.address)).toHaveLength(0);
}

describe('PayoutVault admin timelock', () => {
    it('the review drain (raise the limit, set the signer to the admin key, sign a batch) pays nothing', async () => {
        const env = await fundedVault();
        const thief: SandboxContract<TreasuryContract> = env.admin;
        const thiefKey = keyPair('admin-owned-key');
        const before = await balanceOf(env);
        const thiefBefore = await balanceOf(env, thief.address);
        const data = await env.vault.getVaultData();

        // 1. raise the window limit to everything the vault holds: only proposed
        const raise = await env.vault.sendSetLimits(thief.getSender(), FEE, { queryId: 1n, windowLen: WINDOW_LEN, windowLimit: 10n ** 15n });
        const proposed = onlyEvent(env, raise, parseEvAdminChangeProposed);
        expect(proposed.applyAfter).toBe(NOW + DEFAULT_ADMIN_DELAY);
        expect((await env.vault.getWindowUsage()).windowLimit).toBe(10n * TON);
        // 2. set the signer to a key the admin holds: refused while a change waits
        await expectAdminRefused(env, env.vault.sendSetSigner(thief.getSender(), FEE, { queryId: 2n, signerKey: thiefKey.publicKey }), VaultError.changePending);
        // ... and applying the raise now is refused too
        await expectAdminRefused(env, env.vault.sendApplyChange(thief.getSender(), FEE, 3n), VaultError.changeNotDue);
        // 3. a batch signed with the admin's key, paying the admin everything
        const drain = [{ itemId: 1n, bounceable: false, dest: thief.address, amount: 900n * TON }];
        await expectRefused(env.sendBatch({ items: drain }, thiefKey.secretKey), VaultError.badSignature);
        // even within the old limit the admin's key signs nothing
        await expectRefused(env.sendBatch({ items: [{ ...drain[0], amount: 10n * TON }] }, thiefKey.secretKey), VaultError.badSignature);

        // the other order: cancel, propose the key first; still nothing signs until the delay
        await env.vault.sendCancelChange(thief.getSender(), FEE, 4n);
        const key = await env.vault.sendSetSigner(thief.getSender(), FEE, { queryId: 5n, signerKey: thiefKey.publicKey });
        expect(onlyEvent(env, key, parseEvAdminChangeProposed).change).toEqual({ kind: 'admin_change_signer', signerKey: thiefKey.publicKey });
        await expectRefused(env.sendBatch({ items: [{ ...drain[0], amount: 10n * TON }] }, thiefKey.secretKey), VaultError.badSignature);
        env.blockchain.now = NOW + DEFAULT_ADMIN_DELAY - 1;
        await expectAdminRefused(env, env.vault.sendApplyChange(thief.getSender(), FEE, 6n), VaultError.changeNotDue);
        await expectRefused(env.sendBatch({ items: [{ ...drain[0], amount: 10n * TON }] }, thiefKey.secretKey), VaultError.badSignature);

        // nothing left the vault but the admin messages' own gas (paid by their senders)
        expect(await balanceOf(env)).toBeGreaterThanOrEqual(before);
        expect(await balanceOf(env, thief.address)).toBeLessThan(thiefBefore);
        const after = await env.vault.getVaultData();
        expect([after.paid, after.signerKey.toString('hex'), after.windowLimit]).toEqual([0n, data.signerKey.toString('hex'), data.windowLimit]);
    });

    it('the delayed path: a rotated key works only after admin_delay, applied by anyone', async () => {
        const env = await fundedVault();
        const next = keyPair('signer-2');
        const res = await env.vault.sendSetSigner(env.admin.getSender(), FEE, { queryId: 41n, signerKey: next.publicKey });
        const ev = onlyEvent(env, res, parseEvAdminChangeProposed);
        expect(plain(ev)).toEqual(plain({ queryId: 41n, applyAfter: NOW + DEFAULT_ADMIN_DELAY, change: { kind: 'admin_change_signer', signerKey: next.publicKey } }));
        expect(vaultEvents(res.transactions, env.vault.address)[0].equals(buildEvAdminChangeProposed(ev))).toBe(true);
        expect(plain(await env.vault.getPendingChange())).toEqual(plain({ queryId: 41n, applyAfter: NOW + DEFAULT_ADMIN_DELAY, change: ev.change }));
        // the stored pending change is exactly the event's
        const st = await vaultStorage(env);
        const stored = parseVaultPendingChange(parseVaultParams(st.params).pending!);
        expect(buildVaultPendingChange(stored).equals(parseVaultParams(st.params).pending!)).toBe(true);
        expect(plain(stored)).toEqual(plain({ queryId: 41n, applyAfter: NOW + DEFAULT_ADMIN_DELAY, change: ev.change }));

        // the old key keeps working during the delay; the new one does not yet
        const ok = await env.sendBatch({ items: makeItems(1) });
        expect(txSucceeded(findTx(ok.transactions, env.vault.address)!)).toBe(true);
        await expectRefused(env.sendBatch({ items: makeItems(1) }, next.secretKey), VaultError.badSignature);

        env.blockchain.now = NOW + DEFAULT_ADMIN_DELAY;
        const stranger = await env.blockchain.treasury('stranger');
        const applied = await env.vault.sendApplyChange(stranger.getSender(), FEE, 99n);
        const done = onlyEvent(env, applied, parseEvAdminChange);
        expect(plain(done)).toEqual(
            plain({
                queryId: 41n,
                action: VaultAdminAction.setSigner,
                frozen: false,
                windowLen: WINDOW_LEN,
                windowLimit: 10n * TON,
                signerKey: next.publicKey,
                admin: env.admin.address,
            }),
        );
        expect(await env.vault.getPendingChange()).toBeNull();
        expect((await env.vault.getSignerKey()).equals(next.publicKey)).toBe(true);
        await expectRefused(env.sendBatch({ items: makeItems(1) }), VaultError.badSignature);
        const ok2 = await env.sendBatch({ items: makeItems(1) }, next.secretKey);
        expect(txSucceeded(findTx(ok2.transactions, env.vault.address)!)).toBe(true);
        // nothing is left to apply
        await expectAdminRefused(env, env.vault.sendApplyChange(stranger.getSender(), FEE), VaultError.noPendingChange);
    });

    it('limits: lowering is immediate; a shorter window or a higher limit waits', async () => {
        const env = await fundedVault();
        // lower the limit and lengthen the window: at once
        const lower = await env.vault.sendSetLimits(env.admin.getSender(), FEE, { queryId: 1n, windowLen: 2 * WINDOW_LEN, windowLimit: 3n * TON });
        const ev = onlyEvent(env, lower, parseEvAdminChange);
        expect([ev.action, ev.windowLen, ev.windowLimit]).toEqual([VaultAdminAction.setLimits, 2 * WINDOW_LEN, 3n * TON]);
        expect(await env.vault.getPendingChange()).toBeNull();
        await expectRefused(env.sendBatch({ items: makeItems(1, { amount: () => 3n * TON + 1n }) }), VaultError.windowExceeded);

        // a shorter window with the same limit raises the rate: proposed
        const shorter = await env.vault.sendSetLimits(env.admin.getSender(), FEE, { queryId: 2n, windowLen: WINDOW_LEN, windowLimit: 3n * TON });
        expect(onlyEvent(env, shorter, parseEvAdminChangeProposed).change).toEqual({ kind: 'admin_change_limits', windowLen: WINDOW_LEN, windowLimit: 3n * TON });
        expect((await env.vault.getWindowUsage()).windowLen).toBe(2 * WINDOW_LEN);
        // lowering still works at once while a change waits (the pending one is kept)
        const lower2 = await env.vault.sendSetLimits(env.admin.getSender(), FEE, { queryId: 3n, windowLen: 2 * WINDOW_LEN, windowLimit: 2n * TON });
        expect(onlyEvent(env, lower2, parseEvAdminChange).windowLimit).toBe(2n * TON);
        expect((await env.vault.getPendingChange())!.queryId).toBe(2n);
        // a raise while one waits: refused
        await expectAdminRefused(
            env,
            env.vault.sendSetLimits(env.admin.getSender(), FEE, { queryId: 4n, windowLen: 2 * WINDOW_LEN, windowLimit: 5n * TON }),
            VaultError.changePending,
        );
        // after the delay the proposed limits apply as proposed
        env.blockchain.now = NOW + DEFAULT_ADMIN_DELAY;
        const applied = await env.vault.sendApplyChange(env.funder.getSender(), FEE);
        const done = onlyEvent(env, applied, parseEvAdminChange);
        expect([done.queryId, done.action, done.windowLen, done.windowLimit]).toEqual([2n, VaultAdminAction.setLimits, WINDOW_LEN, 3n * TON]);
        // a raise of the limit alone waits too
        const raise = await env.vault.sendSetLimits(env.admin.getSender(), FEE, { queryId: 5n, windowLen: WINDOW_LEN, windowLimit: 3n * TON + 1n });
        expect(vaultEvents(raise.transactions, env.vault.address).map(eventOp)).toEqual([Op.ev_admin_change_proposed]);
        expect((await env.vault.getWindowUsage()).windowLimit).toBe(3n * TON);
    });

    it('cancel: the admin drops a pending change at any time; only the admin may', async () => {
        const env = await fundedVault();
        const mallory = await env.blockchain.treasury('mallory');
        await env.vault.sendSetSigner(env.admin.getSender(), FEE, { queryId: 7n, signerKey: keyPair('x').publicKey });
        await expectAdminRefused(env, env.vault.sendCancelChange(mallory.getSender(), FEE), VaultError.notAdmin);
        env.blockchain.now = NOW + DEFAULT_ADMIN_DELAY + 10; // even when it is already due
        const res = await env.vault.sendCancelChange(env.admin.getSender(), FEE, 8n);
        const ev = onlyEvent(env, res, parseEvAdminChangeCancelled);
        expect(plain(ev)).toEqual(plain({ queryId: 7n, change: { kind: 'admin_change_signer', signerKey: keyPair('x').publicKey } }));
        expect(vaultEvents(res.transactions, env.vault.address)[0].equals(buildEvAdminChangeCancelled(ev))).toBe(true);
        expect(await env.vault.getPendingChange()).toBeNull();
        await expectAdminRefused(env, env.vault.sendApplyChange(mallory.getSender(), FEE), VaultError.noPendingChange);
        await expectAdminRefused(env, env.vault.sendCancelChange(env.admin.getSender(), FEE), VaultError.noPendingChange);
        expect((await env.vault.getSignerKey()).equals(env.signer.publicKey)).toBe(true);
        // a new proposal is possible again
        const again = await env.vault.sendSetSigner(env.admin.getSender(), FEE, { queryId: 9n, signerKey: keyPair('y').publicKey });
        expect(onlyEvent(env, again, parseEvAdminChangeProposed).applyAfter).toBe(NOW + DEFAULT_ADMIN_DELAY + 10 + DEFAULT_ADMIN_DELAY);
    });

    it('handing over the admin role waits; the old admin stays admin (and may cancel) until applied', async () => {
        const env = await fundedVault();
        const cold = await env.blockchain.treasury('cold-wallet');
        const res = await env.vault.sendSetAdmin(env.admin.getSender(), FEE, { queryId: 6n, newAdmin: cold.address });
        expect(plain(onlyEvent(env, res, parseEvAdminChangeProposed).change)).toEqual(plain({ kind: 'admin_change_admin', newAdmin: cold.address }));
        expect((await env.vault.getVaultData()).admin.equals(env.admin.address)).toBe(true);
        await expectAdminRefused(env, env.vault.sendFreeze(cold.getSender(), FEE), VaultError.notAdmin);
        env.blockchain.now = NOW + DEFAULT_ADMIN_DELAY;
        const applied = await env.vault.sendApplyChange(cold.getSender(), FEE);
        const ev = onlyEvent(env, applied, parseEvAdminChange);
        expect([ev.queryId, ev.action, ev.admin.toRawString()]).toEqual([6n, VaultAdminAction.setAdmin, cold.address.toRawString()]);
        await expectAdminRefused(env, env.vault.sendFreeze(env.admin.getSender(), FEE), VaultError.notAdmin);
        const ok = await env.vault.sendFreeze(cold.getSender(), FEE);
        expect(ok.transactions).toHaveTransaction({ to: env.vault.address, success: true });
        expect((await env.vault.getVaultData()).frozen).toBe(true);
    });

    it('freeze and unfreeze are immediate, also while a change waits; the pending change is untouched', async () => {
        const env = await fundedVault();
        await env.vault.sendSetSigner(env.admin.getSender(), FEE, { queryId: 1n, signerKey: keyPair('z').publicKey });
        const freeze = await env.vault.sendFreeze(env.admin.getSender(), FEE, 2n);
        expect(onlyEvent(env, freeze, parseEvAdminChange).frozen).toBe(true);
        await expectRefused(env.sendBatch({ items: makeItems(1) }), VaultError.frozen);
        const unfreeze = await env.vault.sendUnfreeze(env.admin.getSender(), FEE, 3n);
        expect(onlyEvent(env, unfreeze, parseEvAdminChange).frozen).toBe(false);
        // unfreezing gives back the power of the key in force, not of the proposed one
        const ok = await env.sendBatch({ items: makeItems(1) });
        expect(txSucceeded(findTx(ok.transactions, env.vault.address)!)).toBe(true);
        await expectRefused(env.sendBatch({ items: makeItems(1) }, keyPair('z').secretKey), VaultError.badSignature);
        expect((await env.vault.getPendingChange())!.queryId).toBe(1n);
    });

    it('no admin message (propose, apply, cancel, freeze, limits) sends value out of the vault', async () => {
        const env = await fundedVault();
        const before = await balanceOf(env);
        const ops: (() => Promise<{ transactions: Parameters<typeof vaultEvents>[0] }>)[] = [
            () => env.vault.sendFreeze(env.admin.getSender(), FEE),
            () => env.vault.sendUnfreeze(env.admin.getSender(), FEE),
            () => env.vault.sendSetLimits(env.admin.getSender(), FEE, { windowLen: 60, windowLimit: 10n ** 20n }),
            () => env.vault.sendCancelChange(env.admin.getSender(), FEE),
            () => env.vault.sendSetSigner(env.admin.getSender(), FEE, { signerKey: keyPair('x').publicKey }),
            async () => {
                env.blockchain.now = NOW + DEFAULT_ADMIN_DELAY;
                return env.vault.sendApplyChange(env.admin.getSender(), FEE);
            },
            () => env.vault.sendSetAdmin(env.admin.getSender(), FEE, { newAdmin: env.funder.address }),
        ];
        for (const op of ops) {
            const res = await op();
            const tx = findTx(res.transactions, env.vault.address)!;
            expect(txSucceeded(tx)).toBe(true);
            expect(internalOut(tx)).toHaveLength(0);
        }
        expect(await balanceOf(env)).toBeGreaterThanOrEqual(before);
    });

    it('admin_delay is the deployer\'s: a short delay applies sooner, apply_after is capped at 2^32 - 1', async () => {
        const blockchain = await Blockchain.create();
        blockchain.now = NOW;
        const env = await fundedVault({ blockchain, adminDelay: 60 });
        expect((await env.vault.getVaultData()).adminDelay).toBe(60);
        await env.vault.sendSetSigner(env.admin.getSender(), FEE, { queryId: 1n, signerKey: keyPair('q').publicKey });
        blockchain.now = NOW + 59;
        await expectAdminRefused(env, env.vault.sendApplyChange(env.funder.getSender(), FEE), VaultError.changeNotDue);
        blockchain.now = NOW + 60;
        const applied = await env.vault.sendApplyChange(env.funder.getSender(), FEE);
        expect(onlyEvent(env, applied, parseEvAdminChange).action).toBe(VaultAdminAction.setSigner);

        const forever = await fundedVault({ blockchain, adminDelay: 0xffffffff, vaultId: 2 });
        const res = await forever.vault.sendSetAdmin(forever.admin.getSender(), FEE, { newAdmin: forever.funder.address });
        expect(onlyEvent(forever, res, parseEvAdminChangeProposed).applyAfter).toBe(0xffffffff);
    });

    it('the AdminChange prefixes are the ev_admin_change actions', () => {
        const changes: AdminChange[] = [
            { kind: 'admin_change_limits', windowLen: 1, windowLimit: 2n },
            { kind: 'admin_change_signer', signerKey: Buffer.alloc(32, 7) },
            { kind: 'admin_change_admin', newAdmin: new Address(0, Buffer.alloc(32, 1)) },
        ];
        const prefixes = changes.map((change) => buildVaultPendingChange({ queryId: 0n, applyAfter: 0, change }).beginParse().skip(96).loadUint(8));
        expect(prefixes).toEqual([VaultAdminAction.setLimits, VaultAdminAction.setSigner, VaultAdminAction.setAdmin]);
    });
});
