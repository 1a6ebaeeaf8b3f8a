// The project Escrow with TON as currency: deploy, deposits, signed releases and closes, refunds,
// bounces, storage over time, and a named test for every attack of the brief.
import { Address, beginCell, Cell, toNano } from '@ton/core';
import { keyPairFromSeed } from '@ton/crypto';
import { Blockchain, internal, SandboxContract } from '@ton/sandbox';
import '@ton/test-utils';
import { Op, legQueryId } from '../wrappers/opcodes';
import {
    buildEscrowClose,
    buildEscrowDeploy,
    buildEscrowDeposit,
    buildEscrowRelease,
    buildReleaseRequest,
    CLOSED_BY_DEADLINE_SEQNO,
    Escrow,
    EscrowAttach,
    EscrowError,
    EscrowFeeParams,
    EscrowState,
    Leg,
    parseEscrowRefundPayment,
    parseEscrowStorage,
    parsePlatformFee,
    parseVaultFund,
    releaseFee,
    buildEscrowRefund,
    GlobalId,
    MAX_FEE_BPS,
    SANDBOX_GLOBAL_ID,
} from '../wrappers/Escrow';
import { buildJettonRecover } from '../wrappers/recovery';
import { commentBody, parseJettonTransfer, takeWalletAddressBody, transferNotificationBody, excessesBody } from '../wrappers/tep74';
import {
    balanceOf,
    computeOf,
    createEscrowEnv,
    DAY,
    deployEscrow,
    escrowConfig,
    EscrowEnv,
    escrowEvents,
    expectEvents,
    plain,
    rawOutMessages,
    NOW,
    nowhere,
    signedClose,
    signedRelease,
    setGlobalId,
    globalIdOf,
} from './helpers/escrow-fixture';

const TON = 1_000_000_000n;

describe('Escrow (TON)', () => {
    let env: EscrowEnv;
    let escrow: SandboxContract<Escrow>;

    async function deposit(amount: bigint, from = env.client) {
        return escrow.sendDeposit(from.getSender(), { amount, queryId: 7n });
    }

    async function release(amount: bigint, value: bigint = EscrowAttach.releaseTon) {
        const signed = await signedRelease(env, escrow, amount);
        return escrow.sendRelease(env.relayer.getSender(), { ...signed, value, queryId: 99n });
    }

    async function closeSigned() {
        return escrow.sendClose(env.relayer.getSender(), { ...(await signedClose(env, escrow)), queryId: 5n });
    }

    async function snapshot(e: SandboxContract<Escrow> = escrow) {
        return { data: plain(await e.getEscrowData()), balance: await balanceOf(env.blockchain, e.address) };
    }

    beforeEach(async () => {
        env = await createEscrowEnv();
        const d = await deployEscrow(env, escrowConfig(env));
        escrow = d.escrow;
        expect(d.result.transactions).toHaveTransaction({ to: escrow.address, deploy: true, success: true });
    });

    describe('deploy and getters', () => {
        it('deploys with the initial data and keeps the TON as float', async () => {
            const d = await escrow.getEscrowData();
            expect(plain(d)).toEqual(plain({
                state: EscrowState.active,
                seqno: 0,
                deposited: 0n,
                released: 0n,
                feesPaid: 0n,
                refunded: 0n,
                recovered: 0n,
                recoveries: 0,
                recoverySince: 0,
                jettonWallet: null,
                projectId: 42n,
                signerKey: env.signer.publicKey,
                deadline: NOW + 30 * DAY,
                feeBps: 250,
                client: env.client.address,
                jettonMaster: null,
                vault: env.vault.address,
                treasury: env.treasury.address,
                budget: 0n,
            }));
            expect(await escrow.getBudget()).toBe(0n);
            expect(await escrow.getSeqno()).toBe(0);
            expect(await escrow.getState()).toBe(EscrowState.active);
            expect(await escrow.getJettonWallet()).toBeNull();
            expect((await escrow.getSignerKey()).equals(env.signer.publicKey)).toBe(true);
            const bal = await balanceOf(env.blockchain, escrow.address);
            expect(bal).toBeGreaterThan(EscrowAttach.deploy - toNano('0.01'));
            expect(bal).toBeLessThanOrEqual(EscrowAttach.deploy);
        });

        it('stores exactly the escrow_storage layout of the scheme', async () => {
            const acc = await env.blockchain.getContract(escrow.address);
            const st = acc.accountState!;
            if (st.type !== 'active') throw new Error('not active');
            const parsed = parseEscrowStorage(st.state.data!);
            expect(parsed.params.projectId).toBe(42n);
            expect(parsed.params.routes.vault.equals(env.vault.address)).toBe(true);
            expect(parsed.jettonWallet).toBeNull();
        });

        it('a second escrow_deploy only adds float', async () => {
            const before = await snapshot();
            const r = await escrow.sendDeploy(env.deployer.getSender(), toNano('0.05'));
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: true, outMessagesCount: 0 });
            const after = await snapshot();
            expect(after.data).toEqual(before.data);
            expect(after.balance).toBeGreaterThan(before.balance);
        });

        it('the address is fixed by code and params: another project gives another address', async () => {
            const other = Escrow.createFromConfig(escrowConfig(env, { projectId: 43n }), env.code);
            expect(other.address.equals(escrow.address)).toBe(false);
            const same = Escrow.createFromConfig(escrowConfig(env), env.code);
            expect(same.address.equals(escrow.address)).toBe(true);
        });
    });

    describe('deposits', () => {
        it('credits exactly the amount and emits ev_deposit', async () => {
            const before = await balanceOf(env.blockchain, escrow.address);
            const r = await deposit(5n * TON);
            expect(r.transactions).toHaveTransaction({ from: env.client.address, to: escrow.address, success: true });
            expect(await escrow.getBudget()).toBe(5n * TON);
            const evs = escrowEvents(r, escrow.address);
            expect(evs).toHaveLength(1);
            expect(evs[0]).toMatchObject({ kind: 'deposit', queryId: 7n, amount: 5n * TON, deposited: 5n * TON });
            expect(evs[0].kind === 'deposit' && evs[0].from.equals(env.client.address)).toBe(true);
            // the rest of the attached value (minus gas and the event) stays as float
            const after = await balanceOf(env.blockchain, escrow.address);
            expect(after - before).toBeGreaterThanOrEqual(5n * TON);
            expect(after - before).toBeLessThan(5n * TON + EscrowAttach.deposit);

            const r2 = await deposit(3n * TON, env.deployer);
            const ev2 = escrowEvents(r2, escrow.address)[0];
            expect(ev2).toMatchObject({ kind: 'deposit', amount: 3n * TON, deposited: 8n * TON });
            expect(ev2.kind === 'deposit' && ev2.from.equals(env.deployer.address)).toBe(true);
            expect((await escrow.getEscrowData()).deposited).toBe(8n * TON);
        });

        it('events are inline bodies of external-out messages to addr_none', async () => {
            const r = await deposit(TON);
            const tx = computeOf(r, escrow.address).tx;
            const ext = rawOutMessages(tx).filter((m) => m.beginParse().preloadUint(2) === 3);
            expect(ext).toHaveLength(1);
            expect(ext[0].refs).toHaveLength(0); // body inline, no state init
            const m = [...tx.outMessages.values()][0];
            expect(m.info.type).toBe('external-out');
            expect(m.info.dest).toBeNull();
        });

        it('attack: deposit 0 refused', async () => {
            const before = await snapshot();
            const r = await escrow.sendDeposit(env.client.getSender(), { amount: 0n, value: toNano('1') });
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.zeroAmount });
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: env.client.address, inMessageBounced: true });
            expect((await snapshot()).data).toEqual(before.data);
            expect(escrowEvents(r, escrow.address)).toHaveLength(0);
        });

        it('refuses a deposit whose value does not cover amount + deposit gas', async () => {
            const r = await escrow.sendDeposit(env.client.getSender(), { amount: TON, value: TON + 1000n });
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.notEnoughTon });
            expect(await escrow.getBudget()).toBe(0n);
        });

        it('refuses a deposit at or after the deadline', async () => {
            env.blockchain.now = NOW + 30 * DAY;
            const r = await deposit(TON);
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.deadlinePassed });
            expect(await escrow.getBudget()).toBe(0n);
        });

        it('attack: deposit after close refused', async () => {
            await deposit(TON);
            await closeSigned();
            const r = await deposit(TON);
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.closed });
            expect((await escrow.getEscrowData()).deposited).toBe(TON);
        });

        it('empty body tops up the float: no budget, no event', async () => {
            const before = await snapshot();
            const r = await escrow.sendTopUp(env.deployer.getSender(), toNano('2'));
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: true, outMessagesCount: 0 });
            const after = await snapshot();
            expect(after.data).toEqual(before.data);
            expect(after.balance - before.balance).toBeGreaterThan(toNano('1.99'));
        });

        it('refuses unknown opcodes and text comments with a named code', async () => {
            for (const body of [commentBody('hello'), excessesBody(1n), beginCell().storeUint(0xdeadbeef, 32).endCell()]) {
                const r = await escrow.sendRaw(env.deployer.getSender(), toNano('0.1'), body);
                expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.unknownOp });
            }
        });
    });

    describe('releases', () => {
        beforeEach(async () => {
            await deposit(10n * TON);
        });

        it('pays the vault exactly amount and the treasury exactly the fee; the float pays no gas', async () => {
            const amount = 2n * TON;
            const fee = releaseFee(amount, 250); // 0.05 TON
            expect(fee).toBe(toNano('0.05'));
            const before = await snapshot();
            const relayerBefore = await balanceOf(env.blockchain, env.relayer.address);
            const r = await release(amount);

            expect(r.transactions).toHaveTransaction({ from: env.relayer.address, to: escrow.address, success: true, op: Op.escrow_release });
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: env.vault.address, value: amount, op: Op.vault_fund, success: true });
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: env.treasury.address, value: fee, op: Op.platform_fee, success: true });
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: env.relayer.address, op: Op.excesses });

            const toVault = computeOf(r, env.vault.address, escrow.address).tx.inMessage!;
            expect(parseVaultFund(toVault.body)).toEqual({ queryId: legQueryId(Leg.vault, 0), projectId: 42n, amount });
            expect(toVault.info.type === 'internal' && toVault.info.bounce).toBe(true);
            const toTreasury = computeOf(r, env.treasury.address, escrow.address).tx.inMessage!;
            expect(parsePlatformFee(toTreasury.body)).toEqual({ queryId: legQueryId(Leg.fee, 0), projectId: 42n, amount: fee });
            expect(toTreasury.info.type === 'internal' && toTreasury.info.bounce).toBe(true);

            const after = await snapshot();
            expect(after.balance).toBe(before.balance - amount - fee); // float untouched
            expect(after.data).toMatchObject({ seqno: 1, released: amount, feesPaid: fee, budget: 10n * TON - amount - fee });

            expectEvents(r, escrow.address, [{ kind: 'release', seqno: 0n, amount, fee, remaining: 10n * TON - amount - fee }]);

            // the relayer paid only the gas and forward fees
            const spent = relayerBefore - (await balanceOf(env.blockchain, env.relayer.address));
            expect(spent).toBeGreaterThan(0n);
            expect(spent).toBeLessThan(toNano('0.015'));
        });

        it('consecutive releases use consecutive seqnos', async () => {
            await release(TON);
            const r = await release(TON);
            expect(escrowEvents(r, escrow.address)[0]).toMatchObject({ kind: 'release', seqno: 1n });
            const d = await escrow.getEscrowData();
            expect(d).toMatchObject({ seqno: 2, released: 2n * TON, feesPaid: 2n * releaseFee(TON, 250) });
            expect(d.budget).toBe(10n * TON - 2n * TON - 2n * releaseFee(TON, 250));
        });

        it('skips the fee message when the fee floors to 0', async () => {
            const r = await release(39n); // 39 * 250 / 10000 = 0.975 -> 0
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: env.vault.address, value: 39n, op: Op.vault_fund });
            expect(r.transactions).not.toHaveTransaction({ from: escrow.address, to: env.treasury.address });
            expectEvents(r, escrow.address, [{ kind: 'release', seqno: 0n, amount: 39n, fee: 0n, remaining: 10n * TON - 39n }]);
        });

        it('may release the whole budget (amount + fee == budget)', async () => {
            const amount = (10n * TON * 10000n) / 10250n;
            const fee = releaseFee(amount, 250);
            expect(amount + fee).toBeLessThanOrEqual(10n * TON);
            const r = await release(amount);
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: true, op: Op.escrow_release });
            expect(await escrow.getBudget()).toBe(10n * TON - amount - fee);
        });

        it('attack: replayed release (same seqno) refused', async () => {
            const signed = await signedRelease(env, escrow, TON);
            await escrow.sendRelease(env.relayer.getSender(), signed);
            const before = await snapshot();
            const r = await escrow.sendRelease(env.relayer.getSender(), signed);
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.badSeqno });
            expect(r.transactions).not.toHaveTransaction({ from: escrow.address, to: env.vault.address });
            expect((await snapshot()).data).toEqual(before.data);
        });

        it('refuses a release for a future seqno', async () => {
            const r = await escrow.sendRelease(env.relayer.getSender(), await signedRelease(env, escrow, TON, { seqno: 1 }));
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.badSeqno });
        });

        it('attack: expired valid_until refused', async () => {
            const signed = await signedRelease(env, escrow, TON, { validUntil: NOW - 1 });
            const before = await snapshot();
            const r = await escrow.sendRelease(env.relayer.getSender(), signed);
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.expired });
            expect((await snapshot()).data).toEqual(before.data);
            // valid_until == now is still valid
            const ok = await escrow.sendRelease(env.relayer.getSender(), await signedRelease(env, escrow, TON, { validUntil: NOW }));
            expect(ok.transactions).toHaveTransaction({ to: escrow.address, success: true, op: Op.escrow_release });
        });

        it('attack: signature by another key refused', async () => {
            const mallory = keyPairFromSeed(Buffer.alloc(32, 66));
            const signed = await signedRelease(env, escrow, TON, { secretKey: mallory.secretKey });
            const before = await snapshot();
            const r = await escrow.sendRelease(env.relayer.getSender(), signed);
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.badSignature });
            expect((await snapshot()).data).toEqual(before.data);
        });

        it('attack: a tampered request (amount raised after signing) refused', async () => {
            const signed = await signedRelease(env, escrow, TON);
            const tampered = buildReleaseRequest({ escrow: escrow.address, globalId: SANDBOX_GLOBAL_ID, seqno: 0n, validUntil: BigInt(NOW + 600), amount: 5n * TON });
            const r = await escrow.sendRelease(env.relayer.getSender(), { signature: signed.signature, request: tampered });
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.badSignature });
            expect(await escrow.getBudget()).toBe(10n * TON);
        });

        it('attack: signature for escrow A replayed on escrow B (same key, different project) refused', async () => {
            const b = (await deployEscrow(env, escrowConfig(env, { projectId: 43n }))).escrow;
            await b.sendDeposit(env.client.getSender(), { amount: 10n * TON });
            const forA = await signedRelease(env, escrow, TON); // seqno 0 on both
            const before = await snapshot(b);
            const r = await b.sendRelease(env.relayer.getSender(), forA);
            expect(r.transactions).toHaveTransaction({ to: b.address, success: false, exitCode: EscrowError.wrongEscrow });
            expect((await snapshot(b)).data).toEqual(before.data);
            // rewriting the escrow field breaks the signature
            const rebound = buildReleaseRequest({ escrow: b.address, globalId: SANDBOX_GLOBAL_ID, seqno: 0n, validUntil: BigInt(NOW + 600), amount: TON });
            const r2 = await b.sendRelease(env.relayer.getSender(), { signature: forA.signature, request: rebound });
            expect(r2.transactions).toHaveTransaction({ to: b.address, success: false, exitCode: EscrowError.badSignature });
            // A still accepts it
            const r3 = await escrow.sendRelease(env.relayer.getSender(), forA);
            expect(r3.transactions).toHaveTransaction({ to: escrow.address, success: true, op: Op.escrow_release });
        });

        it('attack: release beyond budget refused', async () => {
            const before = await snapshot();
            // amount <= budget but amount + fee > budget
            const r = await release(10n * TON);
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.insufficientBudget });
            const r2 = await release(11n * TON);
            expect(r2.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.insufficientBudget });
            expect((await snapshot()).data).toEqual(before.data);
        });

        it('attack: release amount 0 and 2^120-1 refused cleanly', async () => {
            const before = await snapshot();
            const r0 = await release(0n);
            expect(r0.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.zeroAmount });
            const rMax = await release((1n << 120n) - 1n);
            expect(rMax.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.insufficientBudget });
            expect((await snapshot()).data).toEqual(before.data);
        });

        it('attack: not enough TON attached: nothing changes and the TON comes back by bounce', async () => {
            const signed = await signedRelease(env, escrow, TON);
            const before = await snapshot();
            const r = await escrow.sendRelease(env.relayer.getSender(), { ...signed, value: toNano('0.004') });
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.notEnoughTon });
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: env.relayer.address, inMessageBounced: true });
            expect(r.transactions).not.toHaveTransaction({ from: escrow.address, to: env.vault.address });
            const after = await snapshot();
            expect(after.data).toEqual(before.data);
            expect(after.balance).toBe(before.balance); // the failed attempt cost the escrow nothing
            expect(escrowEvents(r, escrow.address)).toHaveLength(0);
            // the same signed request still works with enough TON
            const ok = await escrow.sendRelease(env.relayer.getSender(), signed);
            expect(ok.transactions).toHaveTransaction({ from: escrow.address, to: env.vault.address, value: TON });
        });

        it('refuses a close_request carried as a release', async () => {
            const close = await signedClose(env, escrow);
            const body = buildEscrowRelease({ queryId: 0n, signature: close.signature, request: close.request });
            const r = await escrow.sendRaw(env.relayer.getSender(), EscrowAttach.releaseTon, body);
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.badRequest });
            const rel = await signedRelease(env, escrow, TON);
            const body2 = buildEscrowClose({ queryId: 0n, signature: rel.signature, request: rel.request });
            const r2 = await escrow.sendRaw(env.relayer.getSender(), EscrowAttach.close, body2);
            expect(r2.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.badRequest });
            expect(await escrow.getState()).toBe(EscrowState.active);
        });

        it('attack: release after close refused', async () => {
            await closeSigned();
            const r = await release(TON);
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.closed });
            expect(await escrow.getBudget()).toBe(10n * TON);
        });

        it('still releases after the deadline while active', async () => {
            env.blockchain.now = NOW + 31 * DAY;
            const r = await release(TON);
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: env.vault.address, value: TON });
        });

        it('keeps the storage reserve when the float is short: the carrier tops it up', async () => {
            // an escrow deployed by its first deposit has almost no float
            const cfg = escrowConfig(env, { projectId: 77n });
            const e = env.blockchain.openContract(Escrow.createFromConfig(cfg, env.code));
            await e.sendDeposit(env.client.getSender(), { amount: TON });
            const float = (await balanceOf(env.blockchain, e.address)) - TON;
            expect(float).toBeLessThan(EscrowFeeParams.minStorageReserve);
            const amount = (TON * 10000n) / 10250n;
            const fee = releaseFee(amount, 250);
            const signed = await signedRelease(env, e, amount);
            const r = await e.sendRelease(env.relayer.getSender(), signed);
            expect(r.transactions).toHaveTransaction({ from: e.address, to: env.vault.address, value: amount });
            const bal = await balanceOf(env.blockchain, e.address);
            expect(bal).toBe(EscrowFeeParams.minStorageReserve + (TON - amount - fee));
        });
    });

    describe('close', () => {
        beforeEach(async () => {
            await deposit(4n * TON);
        });

        it('closes on a signed close_request and emits ev_closed', async () => {
            await release(TON);
            const before = await snapshot();
            const r = await closeSigned();
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: true, op: Op.escrow_close });
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: env.relayer.address, op: Op.excesses });
            const remaining = 4n * TON - TON - releaseFee(TON, 250);
            expectEvents(r, escrow.address, [{ kind: 'closed', seqno: 1n, remaining }]);
            const after = await snapshot();
            expect(after.data).toMatchObject({ state: EscrowState.closed, seqno: 2, budget: remaining });
            expect(after.balance).toBe(before.balance);
        });

        it('refuses replayed, expired, foreign and badly signed closes', async () => {
            const stale = await signedClose(env, escrow);
            await release(TON); // seqno moves on
            const cases: Array<[() => Promise<any>, number]> = [
                [async () => escrow.sendClose(env.relayer.getSender(), stale), EscrowError.badSeqno],
                [
                    async () => escrow.sendClose(env.relayer.getSender(), await signedClose(env, escrow, { validUntil: NOW - 1 })),
                    EscrowError.expired,
                ],
                [
                    async () =>
                        escrow.sendClose(env.relayer.getSender(), await signedClose(env, escrow, { escrowAddress: env.vault.address })),
                    EscrowError.wrongEscrow,
                ],
                [
                    async () =>
                        escrow.sendClose(
                            env.relayer.getSender(),
                            await signedClose(env, escrow, { secretKey: keyPairFromSeed(Buffer.alloc(32, 9)).secretKey }),
                        ),
                    EscrowError.badSignature,
                ],
                [
                    async () => escrow.sendClose(env.relayer.getSender(), { ...(await signedClose(env, escrow)), value: toNano('0.003') }),
                    EscrowError.notEnoughTon,
                ],
            ];
            for (const [send, code] of cases) {
                const r = await send();
                expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: code });
            }
            expect(await escrow.getState()).toBe(EscrowState.active);
            expect(await escrow.getSeqno()).toBe(1);
        });

        it('a second close is refused', async () => {
            await closeSigned();
            const r = await closeSigned();
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.closed });
        });
    });

    describe('refunds', () => {
        beforeEach(async () => {
            await deposit(6n * TON);
            await release(TON);
        });
        const remaining = 6n * TON - TON - releaseFee(TON, 250);

        it('attack: non-client refund refused', async () => {
            await closeSigned();
            const r = await escrow.sendRefund(env.relayer.getSender());
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.notClient });
            expect(await escrow.getBudget()).toBe(remaining);
        });

        it('attack: refund before the deadline while active refused', async () => {
            env.blockchain.now = NOW + 30 * DAY - 1;
            const r = await escrow.sendRefund(env.client.getSender());
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.refundTooEarly });
            expect(await escrow.getState()).toBe(EscrowState.active);
            expect(await escrow.getBudget()).toBe(remaining);
        });

        it('refund after a signed close sends the whole remaining budget to the client', async () => {
            await closeSigned();
            const before = await snapshot();
            const r = await escrow.sendRefund(env.client.getSender(), { queryId: 3n });
            expect(r.transactions).toHaveTransaction({ from: env.client.address, to: escrow.address, success: true });
            expect(r.transactions).toHaveTransaction({
                from: escrow.address,
                to: env.client.address,
                value: remaining,
                op: Op.escrow_refund_payment,
            });
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: env.client.address, op: Op.excesses });
            const pay = r.transactions.find((t) => t.inMessage?.body.beginParse().preloadUint(32) === Op.escrow_refund_payment)!;
            expect(parseEscrowRefundPayment(pay.inMessage!.body)).toEqual({ queryId: legQueryId(Leg.refund, 2), projectId: 42n, amount: remaining });
            expectEvents(r, escrow.address, [
                { kind: 'refund', queryId: legQueryId(Leg.refund, 2), to: env.client.address, amount: remaining },
            ]);
            const after = await snapshot();
            expect(after.data).toMatchObject({ state: EscrowState.closed, refunded: remaining, budget: 0n });
            expect(after.balance).toBe(before.balance - remaining);

            const again = await escrow.sendRefund(env.client.getSender());
            expect(again.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.nothingToRefund });
        });

        it('refund after the deadline closes the escrow (ev_closed seqno 0xffffffff)', async () => {
            env.blockchain.now = NOW + 30 * DAY;
            const r = await escrow.sendRefund(env.client.getSender());
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: env.client.address, value: remaining, op: Op.escrow_refund_payment });
            expectEvents(r, escrow.address, [
                { kind: 'closed', seqno: CLOSED_BY_DEADLINE_SEQNO, remaining },
                { kind: 'refund', queryId: legQueryId(Leg.refund, 1), to: env.client.address, amount: remaining },
            ]);
            expect(await escrow.getEscrowData()).toMatchObject({ state: EscrowState.closed, budget: 0n, refunded: remaining });
            // closed: no more deposits or releases
            const d = await deposit(TON);
            expect(d.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.closed });
        });

        it('refund with nothing left is a named error', async () => {
            const e = (await deployEscrow(env, escrowConfig(env, { projectId: 300n, feeBps: 0 }))).escrow;
            await e.sendDeposit(env.client.getSender(), { amount: TON });
            await e.sendRelease(env.relayer.getSender(), await signedRelease(env, e, TON));
            expect(await e.getBudget()).toBe(0n);
            env.blockchain.now = NOW + 31 * DAY;
            const r = await e.sendRefund(env.client.getSender());
            expect(r.transactions).toHaveTransaction({ to: e.address, success: false, exitCode: EscrowError.nothingToRefund });
            expect(await e.getState()).toBe(EscrowState.active);
        });

        it('refuses a refund without enough TON attached', async () => {
            await closeSigned();
            const r = await escrow.sendRefund(env.client.getSender(), { value: toNano('0.004') });
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.notEnoughTon });
            expect(await escrow.getBudget()).toBe(remaining);
        });
    });

    describe('bounces', () => {
        it('bounced release to a non-existent vault restores the budget', async () => {
            const ghostVault = nowhere(0x11);
            const e = (await deployEscrow(env, escrowConfig(env, { projectId: 100n, vault: ghostVault }))).escrow;
            await e.sendDeposit(env.client.getSender(), { amount: 5n * TON });
            const amount = 2n * TON;
            const fee = releaseFee(amount, 250);
            const signed = await signedRelease(env, e, amount);
            const balBefore = await balanceOf(env.blockchain, e.address);
            const r = await e.sendRelease(env.relayer.getSender(), signed);

            expect(r.transactions).toHaveTransaction({ from: e.address, to: ghostVault, value: amount, aborted: true });
            expect(r.transactions).toHaveTransaction({ from: ghostVault, to: e.address, inMessageBounced: true, success: true });
            expect(r.transactions).toHaveTransaction({ from: e.address, to: env.treasury.address, value: fee, success: true });
            expectEvents(r, e.address, [
                { kind: 'release', seqno: 0n, amount, fee, remaining: 5n * TON - amount - fee },
                { kind: 'release_bounced', queryId: legQueryId(Leg.vault, 0), amount, remaining: 5n * TON - fee },
            ]);
            const d = await e.getEscrowData();
            expect(d).toMatchObject({ seqno: 1, released: 0n, feesPaid: fee, budget: 5n * TON - fee });
            // the TON came back minus the bounce's fees, which the float absorbed
            const balAfter = await balanceOf(env.blockchain, e.address);
            expect(balAfter).toBeLessThan(balBefore - fee);
            expect(balAfter).toBeGreaterThan(balBefore - fee - toNano('0.01'));
            // the restored budget can be released again with the next seqno
            expect(d.budget).toBeGreaterThan(amount);
        });

        it('bounced fee leg restores fees_paid', async () => {
            const ghostTreasury = nowhere(0x22);
            const e = (await deployEscrow(env, escrowConfig(env, { projectId: 101n, treasury: ghostTreasury }))).escrow;
            await e.sendDeposit(env.client.getSender(), { amount: 5n * TON });
            const amount = 2n * TON;
            const fee = releaseFee(amount, 250);
            const r = await e.sendRelease(env.relayer.getSender(), await signedRelease(env, e, amount));
            expect(r.transactions).toHaveTransaction({ from: e.address, to: env.vault.address, value: amount, success: true });
            expect(r.transactions).toHaveTransaction({ from: ghostTreasury, to: e.address, inMessageBounced: true });
            expectEvents(r, e.address, [
                { kind: 'release', seqno: 0n, amount, fee, remaining: 5n * TON - amount - fee },
                { kind: 'release_bounced', queryId: legQueryId(Leg.fee, 0), amount: fee, remaining: 5n * TON - amount },
            ]);
            expect(await e.getEscrowData()).toMatchObject({ released: amount, feesPaid: 0n, budget: 5n * TON - amount });
        });

        it('bounced refund restores refunded and the client can refund again', async () => {
            // a client address without an account: its refund payment bounces
            const ghostClient = nowhere(0x33);
            const e = (await deployEscrow(env, escrowConfig(env, { projectId: 102n, client: ghostClient }))).escrow;
            await e.sendDeposit(env.deployer.getSender(), { amount: 3n * TON });
            env.blockchain.now = NOW + 30 * DAY;
            const r = await env.blockchain.sendMessage(
                internal({ from: ghostClient, to: e.address, value: EscrowAttach.refundTon, body: buildEscrowRefund({ queryId: 1n }) }),
            );
            expect(r.transactions).toHaveTransaction({ from: e.address, to: ghostClient, value: 3n * TON, op: Op.escrow_refund_payment });
            expect(r.transactions).toHaveTransaction({ from: ghostClient, to: e.address, inMessageBounced: true });
            expectEvents(r, e.address, [
                { kind: 'closed', seqno: CLOSED_BY_DEADLINE_SEQNO, remaining: 3n * TON },
                { kind: 'refund', queryId: legQueryId(Leg.refund, 0), to: ghostClient, amount: 3n * TON },
                { kind: 'refund_bounced', queryId: legQueryId(Leg.refund, 0), amount: 3n * TON },
            ]);
            expect(await e.getEscrowData()).toMatchObject({ state: EscrowState.closed, refunded: 0n, budget: 3n * TON });
        });

        it('ignores bounces of anything else', async () => {
            await deposit(TON);
            const before = await snapshot();
            // a bounced vault_fund claiming a leg, but from someone who is not the vault
            const fake = beginCell()
                .storeUint(0xffffffff, 32)
                .storeUint(Op.vault_fund, 32)
                .storeUint(legQueryId(Leg.vault, 0), 64)
                .storeUint(42n, 64)
                .storeCoins(TON)
                .endCell();
            const r = await env.blockchain.sendMessage(
                internal({ from: env.deployer.address, to: escrow.address, value: toNano('0.1'), body: fake, bounced: true }),
            );
            expect(escrowEvents(r, escrow.address)).toHaveLength(0);
            expect((await snapshot()).data).toEqual(before.data);
        });
    });

    describe('jetton messages on a TON escrow', () => {
        it('take_wallet_address is refused', async () => {
            const r = await escrow.sendRaw(env.deployer.getSender(), toNano('0.05'), takeWalletAddressBody(0n, env.deployer.address, null));
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.notJettonMaster });
            expect(await escrow.getJettonWallet()).toBeNull();
        });

        it('foreign jetton sent to a TON escrow is returned to its sender', async () => {
            // the notification of some jetton wallet (impersonated by a treasury)
            const someWallet = await env.blockchain.treasury('some-jetton-wallet');
            const body = transferNotificationBody({ queryId: 5n, amount: 1000n, sender: env.client.address, forwardPayload: null });
            const r = await escrow.sendRaw(someWallet.getSender(), toNano('0.05'), body);
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: someWallet.address, op: Op.transfer });
            const back = computeOf(r, someWallet.address, escrow.address).tx.inMessage!;
            const t = parseJettonTransfer(back.body);
            expect(t).toMatchObject({ queryId: 5n, amount: 1000n, forwardTonAmount: 0n });
            expect(t.destination.equals(env.client.address)).toBe(true);
            expect(t.responseDestination!.equals(env.client.address)).toBe(true);
            expect(await escrow.getBudget()).toBe(0n);
            expect(escrowEvents(r, escrow.address)).toHaveLength(0);
        });
    });

    describe('network binding (global_id, config param 19)', () => {
        beforeEach(async () => {
            await deposit(10n * TON);
        });

        it('the sandbox is mainnet-configured (-239) unless set', () => {
            expect(globalIdOf(env.blockchain)).toBe(GlobalId.mainnet);
            expect(SANDBOX_GLOBAL_ID).toBe(GlobalId.mainnet);
        });

        it('attack: a release signed for testnet (-3) is refused on mainnet by the escrow with the same address', async () => {
            // the address depends on code and params only: the same escrow on testnet has it too
            const onTestnet = await Blockchain.create();
            setGlobalId(onTestnet, GlobalId.testnet);
            const twin = onTestnet.openContract(Escrow.createFromConfig(escrowConfig(env), env.code));
            expect(twin.address.equals(escrow.address)).toBe(true);

            const forTestnet = await signedRelease(env, escrow, TON, { globalId: GlobalId.testnet });
            const before = await snapshot();
            const r = await escrow.sendRelease(env.relayer.getSender(), forTestnet);
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.wrongNetwork });
            expect(r.transactions).not.toHaveTransaction({ from: escrow.address, to: env.vault.address });
            expect(escrowEvents(r, escrow.address)).toHaveLength(0);
            expect((await snapshot()).data).toEqual(before.data);
            // rewriting global_id breaks the signature
            const rebound = buildReleaseRequest({ escrow: escrow.address, globalId: GlobalId.mainnet, seqno: 0n, validUntil: BigInt(NOW + 600), amount: TON });
            const r2 = await escrow.sendRelease(env.relayer.getSender(), { signature: forTestnet.signature, request: rebound });
            expect(r2.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.badSignature });
            // the right id passes
            const ok = await escrow.sendRelease(env.relayer.getSender(), await signedRelease(env, escrow, TON, { globalId: GlobalId.mainnet }));
            expect(ok.transactions).toHaveTransaction({ to: escrow.address, success: true, op: Op.escrow_release });
            expect(ok.transactions).toHaveTransaction({ from: escrow.address, to: env.vault.address, value: TON });

            // and on a testnet-configured chain the twin takes the testnet request, not the mainnet one
            const client = await onTestnet.treasury('client');
            const relayer = await onTestnet.treasury('relayer');
            onTestnet.now = NOW;
            const tEnv = { ...env, blockchain: onTestnet };
            await twin.sendDeploy((await onTestnet.treasury('deployer')).getSender());
            await twin.sendDeposit(client.getSender(), { amount: 10n * TON });
            const mainnetOnTestnet = await twin.sendRelease(relayer.getSender(), await signedRelease(tEnv, twin, TON, { globalId: GlobalId.mainnet }));
            expect(mainnetOnTestnet.transactions).toHaveTransaction({ to: twin.address, success: false, exitCode: EscrowError.wrongNetwork });
            const testnetOnTestnet = await twin.sendRelease(relayer.getSender(), await signedRelease(tEnv, twin, TON, { globalId: GlobalId.testnet }));
            expect(testnetOnTestnet.transactions).toHaveTransaction({ to: twin.address, success: true, op: Op.escrow_release });
        });

        it('attack: a close signed for another network is refused; the right id closes', async () => {
            for (const globalId of [GlobalId.testnet, GlobalId.devnet, 0]) {
                const r = await escrow.sendClose(env.relayer.getSender(), await signedClose(env, escrow, { globalId }));
                expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.wrongNetwork });
            }
            expect(await escrow.getState()).toBe(EscrowState.active);
            expect(await escrow.getSeqno()).toBe(0);
            const r = await escrow.sendClose(env.relayer.getSender(), await signedClose(env, escrow, { globalId: GlobalId.mainnet }));
            expectEvents(r, escrow.address, [{ kind: 'closed', seqno: 0n, remaining: 10n * TON }]);
        });

        it('config param 19 = 2026 (the devnet): devnet requests pass, mainnet and testnet ones are refused', async () => {
            setGlobalId(env.blockchain, GlobalId.devnet);
            expect(globalIdOf(env.blockchain)).toBe(2026);
            for (const globalId of [GlobalId.mainnet, GlobalId.testnet]) {
                const r = await escrow.sendRelease(env.relayer.getSender(), await signedRelease(env, escrow, TON, { globalId }));
                expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.wrongNetwork });
                const c = await escrow.sendClose(env.relayer.getSender(), await signedClose(env, escrow, { globalId }));
                expect(c.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.wrongNetwork });
            }
            const rel = await escrow.sendRelease(env.relayer.getSender(), await signedRelease(env, escrow, TON, { globalId: GlobalId.devnet }));
            expect(rel.transactions).toHaveTransaction({ from: escrow.address, to: env.vault.address, value: TON, success: true });
            const cl = await escrow.sendClose(env.relayer.getSender(), await signedClose(env, escrow, { globalId: GlobalId.devnet }));
            expect(cl.transactions).toHaveTransaction({ to: escrow.address, success: true, op: Op.escrow_close });
            expect(await escrow.getEscrowData()).toMatchObject({ state: EscrowState.closed, seqno: 2, released: TON });
        });
    });

    describe(`platform fee cap (MAX_FEE_BPS = ${MAX_FEE_BPS})`, () => {
        /** Sends `body` with the StateInit of an escrow whose fee is `feeBps` (not deployed yet). */
        async function firstMessage(feeBps: number, body: Cell, o: { from?: Address; value?: bigint; projectId?: bigint } = {}) {
            const e = Escrow.createFromConfig(escrowConfig(env, { feeBps, projectId: o.projectId ?? 900n }), env.code);
            const r = await env.blockchain.sendMessage(
                internal({ from: o.from ?? env.deployer.address, to: e.address, value: o.value ?? toNano('1'), body, stateInit: e.init, bounce: true }),
            );
            return { e, r };
        }

        // TON activates an account from the StateInit of its first message even when that message
        // fails (the sandbox is the real emulator: the account ends "active"). So every handler
        // checks the cap first: such an escrow refuses everything, books nothing and pays nothing.
        it('escrow_deploy of an escrow with fee_bps above the maximum is refused, and so is everything after it', async () => {
            const { e, r } = await firstMessage(MAX_FEE_BPS + 1, buildEscrowDeploy({ queryId: 0n }));
            expect(r.transactions).toHaveTransaction({ to: e.address, success: false, exitCode: EscrowError.feeTooHigh });
            expect(r.transactions).toHaveTransaction({ from: e.address, to: env.deployer.address, inMessageBounced: true });
            expect(await balanceOf(env.blockchain, e.address)).toBe(0n);
            const inert = env.blockchain.openContract(Escrow.createFromAddress(e.address));
            const dep = await inert.sendDeposit(env.client.getSender(), { amount: TON });
            expect(dep.transactions).toHaveTransaction({ to: e.address, success: false, exitCode: EscrowError.feeTooHigh });
            expect(dep.transactions).toHaveTransaction({ from: e.address, to: env.client.address, inMessageBounced: true });
            const top = await inert.sendTopUp(env.deployer.getSender(), toNano('0.5'));
            expect(top.transactions).toHaveTransaction({ to: e.address, success: false, exitCode: EscrowError.feeTooHigh });
            expect(await balanceOf(env.blockchain, e.address)).toBe(0n);
            expect(await inert.getEscrowData()).toMatchObject({ feeBps: MAX_FEE_BPS + 1, deposited: 0n, budget: 0n });
            // through the wrapper too, with the largest fee_bps the layout can hold
            const w = await deployEscrow(env, escrowConfig(env, { feeBps: 65535, projectId: 901n }));
            expect(w.result.transactions).toHaveTransaction({ to: w.escrow.address, success: false, exitCode: EscrowError.feeTooHigh });
        });

        it('attack: no first message of any kind is accepted by an escrow above the maximum', async () => {
            const relayer = env.relayer.address;
            const refused: Array<[string, Cell, Address, number]> = [
                ['empty top-up', Cell.EMPTY, env.deployer.address, EscrowError.feeTooHigh],
                ['escrow_deposit', buildEscrowDeposit({ queryId: 0n, amount: TON / 10n }), env.client.address, EscrowError.feeTooHigh],
                ['escrow_release', buildEscrowRelease({ queryId: 0n, ...(await signedRelease(env, escrow, 1n, { seqno: 0 })) }), relayer, EscrowError.feeTooHigh],
                ['escrow_close', buildEscrowClose({ queryId: 0n, ...(await signedClose(env, escrow, { seqno: 0 })) }), relayer, EscrowError.feeTooHigh],
                ['escrow_refund', buildEscrowRefund({ queryId: 0n }), env.client.address, EscrowError.feeTooHigh],
                ['jetton_recover', buildJettonRecover({ queryId: 0n, amount: 1n }), relayer, EscrowError.feeTooHigh],
                ['take_wallet_address', takeWalletAddressBody(0n, relayer, null), relayer, EscrowError.feeTooHigh],
                ['text comment', commentBody('hi'), env.deployer.address, EscrowError.unknownOp],
                ['excesses', excessesBody(0n), relayer, EscrowError.unknownOp],
            ];
            for (const [i, [name, body, from, code]] of refused.entries()) {
                const { e, r } = await firstMessage(MAX_FEE_BPS + 1, body, { from, projectId: 910n + BigInt(i) });
                const tx = computeOf(r, e.address).tx;
                const d = tx.description;
                expect({ name, exit: d.type === 'generic' && d.computePhase.type === 'vm' ? d.computePhase.exitCode : null }).toEqual({ name, exit: code });
                // nothing but the bounce of the message itself
                expect({ name, out: [...tx.outMessages.values()].map((m) => m.info.type === 'internal' && m.info.bounced) }).toEqual({ name, out: [true] });
                expect(await balanceOf(env.blockchain, e.address)).toBe(0n);
            }
            // a jetton notification from anyone but the (never learned) own wallet is sent back
            // to its sender, as on any escrow: nothing is booked
            const note = transferNotificationBody({ queryId: 0n, amount: 5n, sender: env.client.address, forwardPayload: null });
            const { e, r } = await firstMessage(MAX_FEE_BPS + 1, note, { from: relayer, projectId: 999n });
            expect(r.transactions).toHaveTransaction({ from: e.address, to: relayer, op: Op.transfer });
            expect(escrowEvents(r, e.address)).toHaveLength(0);
            expect(await env.blockchain.openContract(Escrow.createFromAddress(e.address)).getBudget()).toBe(0n);
        });

        it('exactly the maximum deploys and a release pays exactly 20% on top', async () => {
            const { e, r } = await firstMessage(MAX_FEE_BPS, buildEscrowDeploy({ queryId: 0n }));
            expect(r.transactions).toHaveTransaction({ to: e.address, success: true, deploy: true });
            const esc = env.blockchain.openContract(Escrow.createFromAddress(e.address));
            await esc.sendDeposit(env.client.getSender(), { amount: 12n * TON });
            const rel = await esc.sendRelease(env.relayer.getSender(), await signedRelease(env, esc, 10n * TON));
            expect(rel.transactions).toHaveTransaction({ from: e.address, to: env.vault.address, value: 10n * TON });
            expect(rel.transactions).toHaveTransaction({ from: e.address, to: env.treasury.address, value: 2n * TON });
            expect(await esc.getEscrowData()).toMatchObject({ feeBps: MAX_FEE_BPS, feesPaid: 2n * TON, budget: 0n });
        });
    });

    describe('a year of storage fees', () => {
        it('after 365 days release and refund still work and the budget is intact', async () => {
            const e = (await deployEscrow(env, escrowConfig(env, { projectId: 200n, deadline: NOW + 400 * DAY }))).escrow;
            await e.sendDeposit(env.client.getSender(), { amount: 5n * TON });
            const balBefore = await balanceOf(env.blockchain, e.address);
            env.blockchain.now = NOW + 365 * DAY;

            const amount = TON;
            const fee = releaseFee(amount, 250);
            const r = await e.sendRelease(env.relayer.getSender(), await signedRelease(env, e, amount));
            expect(r.transactions).toHaveTransaction({ from: e.address, to: env.vault.address, value: amount, success: true });
            const storageFee = computeOf(r, e.address).description.storagePhase!.storageFeesCollected;
            expect(storageFee).toBeGreaterThan(0n);
            expect(storageFee).toBeLessThan(EscrowAttach.deploy / 2n);
            expect(await e.getBudget()).toBe(5n * TON - amount - fee);
            const balAfter = await balanceOf(env.blockchain, e.address);
            expect(balAfter).toBe(balBefore - storageFee - amount - fee);
            expect(balAfter - (5n * TON - amount - fee)).toBeGreaterThanOrEqual(EscrowFeeParams.minStorageReserve);

            await e.sendClose(env.relayer.getSender(), await signedClose(env, e));
            const rr = await e.sendRefund(env.client.getSender());
            expect(rr.transactions).toHaveTransaction({ from: e.address, to: env.client.address, value: 5n * TON - amount - fee, op: Op.escrow_refund_payment });
            expect(await e.getBudget()).toBe(0n);
            console.log(`escrow storage fee for 365 days: ${storageFee} nanoTON`);
        });
    });
});
