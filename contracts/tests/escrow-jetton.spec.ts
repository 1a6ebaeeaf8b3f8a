// The project Escrow with a jetton (the test USD, tests/helpers/jetton-fixture.ts) as currency:
// TEP-89 wallet discovery, deposits by transfer_notification, forged and foreign notifications,
// jetton releases and refunds through the escrow's own wallet, and their bounces.
import { Address, toNano } from '@ton/core';
import { BlockchainTransaction, internal, SandboxContract, TreasuryContract } from '@ton/sandbox';
import '@ton/test-utils';
import { Op, legQueryId } from '../wrappers/opcodes';
import {
    buildEscrowRefund,
    CLOSED_BY_DEADLINE_SEQNO,
    Escrow,
    EscrowAttach,
    EscrowError,
    EscrowFeeParams,
    EscrowState,
    Leg,
    parseVaultFund,
    RECOVERY_TIMEOUT,
    MAX_FEE_BPS,
    releaseFee,
    FOREIGN_RETURN_MIN_FORWARD_TEST_USD,
} from '../wrappers/Escrow';
import { buildJettonRecover, buildJettonRecovery } from '../wrappers/recovery';
import { JettonError, WalletStatus } from '../wrappers/JettonWallet';
import { TEST_USD } from '../wrappers/JettonMinter';
import { jettonTransferBody, parseJettonTransfer, parseTransferNotification, takeWalletAddressBody, transferNotificationBody } from '../wrappers/tep74';
import { buildTransferNotification } from '../wrappers/JettonWallet';
import { deployTestUsd, TestUsd } from './helpers/jetton-fixture';
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
    NOW,
    nowhere,
    plain,
    signedClose,
    signedRelease,
} from './helpers/escrow-fixture';

describe('Escrow (jetton)', () => {
    let env: EscrowEnv;
    let usd: TestUsd;
    let escrow: SandboxContract<Escrow>;
    let escrowWallet: Address;

    /** A jetton transfer of `amount` test USD base units from `from` to `to`. */
    async function sendUsd(
        from: SandboxContract<TreasuryContract>,
        to: Address,
        amount: bigint,
        o: { forwardTonAmount?: bigint; queryId?: bigint; token?: TestUsd } = {},
    ) {
        const token = o.token ?? usd;
        return token.walletOf(from.address).sendTransfer(from.getSender(), {
            value: toNano('0.1') + (o.forwardTonAmount ?? EscrowAttach.jettonDepositForward),
            amount,
            destination: to,
            responseDestination: from.address,
            queryId: o.queryId ?? 11n,
            forwardTonAmount: o.forwardTonAmount ?? EscrowAttach.jettonDepositForward,
            forwardPayload: null,
        });
    }

    async function usdOf(owner: Address, token: TestUsd = usd) {
        return token.walletOf(owner).getJettonBalance();
    }

    async function release(e: SandboxContract<Escrow>, amount: bigint, value: bigint = EscrowAttach.releaseJetton) {
        return e.sendRelease(env.relayer.getSender(), { ...(await signedRelease(env, e, amount)), value, queryId: 8n });
    }

    async function jettonEscrow(o: Parameters<typeof escrowConfig>[1] = {}) {
        const d = await deployEscrow(env, escrowConfig(env, { jettonMaster: usd.minter.address, ...o }));
        return d;
    }

    beforeEach(async () => {
        env = await createEscrowEnv();
        usd = await deployTestUsd(env.blockchain, await env.blockchain.treasury('usd-admin'));
        await usd.mint(env.client.address, 1000n * TEST_USD);
        const d = await jettonEscrow();
        escrow = d.escrow;
        escrowWallet = usd.walletAddressOf(escrow.address);
    });

    describe('wallet discovery (TEP-89)', () => {
        it('escrow_deploy asks the master and learns its own wallet', async () => {
            const cfg = escrowConfig(env, { jettonMaster: usd.minter.address, projectId: 500n });
            const { escrow: e, result } = await deployEscrow(env, cfg);
            expect(result.transactions).toHaveTransaction({ from: e.address, to: usd.minter.address, op: Op.provide_wallet_address, success: true });
            expect(result.transactions).toHaveTransaction({ from: usd.minter.address, to: e.address, op: Op.take_wallet_address, success: true });
            const wallet = usd.walletAddressOf(e.address);
            expect((await e.getJettonWallet())!.equals(wallet)).toBe(true);
            expectEvents(result, e.address, [{ kind: 'jetton_wallet_learned', wallet }]);
            const d = await e.getEscrowData();
            expect(plain(d)).toMatchObject(plain({ jettonMaster: usd.minter.address, jettonWallet: wallet, budget: 0n }));
            // the discovery's leftover TON stays as float
            expect(await balanceOf(env.blockchain, e.address)).toBeGreaterThan(EscrowAttach.deploy - toNano('0.03'));
        });

        it('refuses a jetton escrow_deploy without TON for the discovery', async () => {
            const e = env.blockchain.openContract(
                Escrow.createFromConfig(escrowConfig(env, { jettonMaster: usd.minter.address, projectId: 501n }), env.code),
            );
            await e.sendTopUp(env.deployer.getSender(), toNano('0.05')); // deployed, wallet unknown
            const r = await e.sendDeploy(env.deployer.getSender(), toNano('0.01'));
            expect(r.transactions).toHaveTransaction({ to: e.address, success: false, exitCode: EscrowError.notEnoughTon });
            expect(await e.getJettonWallet()).toBeNull();
        });

        it('attack: take_wallet_address from a non-master refused', async () => {
            const e = env.blockchain.openContract(
                Escrow.createFromConfig(escrowConfig(env, { jettonMaster: usd.minter.address, projectId: 502n }), env.code),
            );
            await e.sendTopUp(env.deployer.getSender(), toNano('0.05'));
            const mallory = await env.blockchain.treasury('mallory');
            const r = await e.sendRaw(mallory.getSender(), toNano('0.05'), takeWalletAddressBody(0n, mallory.address, null));
            expect(r.transactions).toHaveTransaction({ to: e.address, success: false, exitCode: EscrowError.notJettonMaster });
            expect(await e.getJettonWallet()).toBeNull();
            expect(escrowEvents(r, e.address)).toHaveLength(0);
            // addr_none from the real master is refused as well
            const none = await env.blockchain.sendMessage(
                internal({ from: usd.minter.address, to: e.address, value: toNano('0.05'), body: takeWalletAddressBody(0n, null, null) }),
            );
            expect(none.transactions).toHaveTransaction({ to: e.address, success: false, exitCode: EscrowError.noWalletAddress });
            expect(await e.getJettonWallet()).toBeNull();
        });

        it('take_wallet_address is accepted only once, even from the master', async () => {
            const mallory = await env.blockchain.treasury('mallory');
            const r = await env.blockchain.sendMessage(
                internal({ from: usd.minter.address, to: escrow.address, value: toNano('0.05'), body: takeWalletAddressBody(0n, mallory.address, null) }),
            );
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.walletAlreadyKnown });
            expect((await escrow.getJettonWallet())!.equals(escrowWallet)).toBe(true);
        });

        it('a second escrow_deploy does not ask again', async () => {
            const r = await escrow.sendDeploy(env.deployer.getSender());
            expect(r.transactions).not.toHaveTransaction({ from: escrow.address, to: usd.minter.address });
        });
    });

    describe('deposits', () => {
        it('credits a transfer_notification from its own wallet', async () => {
            const r = await sendUsd(env.client, escrow.address, 250n * TEST_USD, { queryId: 77n });
            expect(r.transactions).toHaveTransaction({ from: escrowWallet, to: escrow.address, op: Op.transfer_notification, success: true });
            expectEvents(r, escrow.address, [
                { kind: 'deposit', queryId: 77n, from: env.client.address, amount: 250n * TEST_USD, deposited: 250n * TEST_USD },
            ]);
            expect(await escrow.getBudget()).toBe(250n * TEST_USD);
            expect(await usdOf(escrow.address)).toBe(250n * TEST_USD);
            const r2 = await sendUsd(env.client, escrow.address, 50n * TEST_USD);
            expect(escrowEvents(r2, escrow.address)[0]).toMatchObject({ kind: 'deposit', amount: 50n * TEST_USD, deposited: 300n * TEST_USD });
        });

        it('refuses escrow_deposit (TON) on a jetton escrow', async () => {
            const r = await escrow.sendDeposit(env.client.getSender(), { amount: toNano('1') });
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.notTonEscrow });
            expect(await escrow.getBudget()).toBe(0n);
        });

        it('attack: forged transfer_notification credits nothing and is returned to its sender', async () => {
            const mallory = await env.blockchain.treasury('mallory');
            const body = transferNotificationBody({ queryId: 1n, amount: 1_000_000n * TEST_USD, sender: mallory.address, forwardPayload: null });
            const before = await balanceOf(env.blockchain, escrow.address);
            const r = await escrow.sendRaw(mallory.getSender(), toNano('0.1'), body);
            expect(r.transactions).toHaveTransaction({ from: mallory.address, to: escrow.address, success: true });
            // the only message goes back to the forger itself, as a jetton `transfer`
            const tx = computeOf(r, escrow.address, mallory.address).tx;
            expect(tx.outMessagesCount).toBe(1);
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: mallory.address, op: Op.transfer });
            const back = parseJettonTransfer(computeOf(r, mallory.address, escrow.address).tx.inMessage!.body);
            expect(back.amount).toBe(1_000_000n * TEST_USD);
            expect(back.destination.equals(mallory.address)).toBe(true);
            expect(escrowEvents(r, escrow.address)).toHaveLength(0);
            expect(await escrow.getEscrowData()).toMatchObject({ deposited: 0n, budget: 0n });
            expect(await usdOf(escrow.address)).toBe(0n);
            // the forger paid for the return message (mode 64); the escrow kept its float
            expect(await balanceOf(env.blockchain, escrow.address)).toBeGreaterThanOrEqual(before);
        });

        it('attack: foreign jetton returned to sender', async () => {
            const other = await deployTestUsd(env.blockchain, await env.blockchain.treasury('other-admin'));
            expect(other.minter.address.equals(usd.minter.address)).toBe(false);
            await other.mint(env.client.address, 500n);
            const r = await sendUsd(env.client, escrow.address, 500n, { token: other, forwardTonAmount: toNano('0.05') });
            const foreignWallet = other.walletAddressOf(escrow.address);
            expect(r.transactions).toHaveTransaction({ from: foreignWallet, to: escrow.address, op: Op.transfer_notification, success: true });
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: foreignWallet, op: Op.transfer, success: true });
            expect(escrowEvents(r, escrow.address)).toHaveLength(0);
            expect(await escrow.getBudget()).toBe(0n);
            expect(await usdOf(escrow.address, other)).toBe(0n);
            expect(await usdOf(env.client.address, other)).toBe(500n);
        });

        it('returns a deposit that arrives while the wallet is unknown', async () => {
            const e = env.blockchain.openContract(
                Escrow.createFromConfig(escrowConfig(env, { jettonMaster: usd.minter.address, projectId: 503n }), env.code),
            );
            await e.sendTopUp(env.deployer.getSender(), toNano('0.05')); // deployed without discovery
            const r = await sendUsd(env.client, e.address, 40n * TEST_USD, { forwardTonAmount: toNano('0.05') });
            expect(r.transactions).toHaveTransaction({ from: e.address, to: usd.walletAddressOf(e.address), op: Op.transfer });
            expect(await e.getBudget()).toBe(0n);
            expect(await usdOf(e.address)).toBe(0n);
            expect(await usdOf(env.client.address)).toBe(1000n * TEST_USD);
            // once it learns its wallet, deposits count
            await e.sendDeploy(env.deployer.getSender());
            await sendUsd(env.client, e.address, 40n * TEST_USD);
            expect(await e.getBudget()).toBe(40n * TEST_USD);
        });

        it('books late deposits (after the deadline, after close) so the client can refund them; nothing gets stuck', async () => {
            await sendUsd(env.client, escrow.address, 10n * TEST_USD);
            env.blockchain.now = NOW + 30 * DAY;
            // only the minimum forward: a return transfer could not be paid from it, booking can
            const late = await sendUsd(env.client, escrow.address, 5n * TEST_USD);
            expect(late.transactions).not.toHaveTransaction({ from: escrow.address, to: escrowWallet, op: Op.transfer });
            expect(escrowEvents(late, escrow.address)).toMatchObject([{ kind: 'deposit', amount: 5n * TEST_USD }]);
            expect(await escrow.getBudget()).toBe(15n * TEST_USD);
            expect(await usdOf(escrow.address)).toBe(15n * TEST_USD);
            // past the deadline the signer may still settle earned work until the client refunds
            const rel = await escrow.sendRelease(env.relayer.getSender(), { ...(await signedRelease(env, escrow, 1n)), value: EscrowAttach.releaseJetton });
            expect(rel.transactions).toHaveTransaction({ to: escrow.address, success: true });
            const ref = await escrow.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
            expect(escrowEvents(ref, escrow.address).find((e) => e.kind === 'refund')).toMatchObject({ amount: 15n * TEST_USD - 1n - releaseFee(1n, 250) });
            expect(await usdOf(escrow.address)).toBe(0n);

            const e = (await jettonEscrow({ projectId: 504n })).escrow;
            await e.sendClose(env.relayer.getSender(), await signedClose(env, e));
            const before = await usdOf(env.client.address);
            const closed = await sendUsd(env.client, e.address, 5n * TEST_USD);
            expect(escrowEvents(closed, e.address)).toMatchObject([{ kind: 'deposit', amount: 5n * TEST_USD }]);
            expect(await e.getBudget()).toBe(5n * TEST_USD);
            // closed: a release is refused, the refund brings the late deposit home
            const refused = await e.sendRelease(env.relayer.getSender(), { ...(await signedRelease(env, e, 1n)), value: EscrowAttach.releaseJetton });
            expect(refused.transactions).toHaveTransaction({ to: e.address, success: false, exitCode: EscrowError.closed });
            await e.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
            expect(await usdOf(e.address)).toBe(0n);
            expect(await usdOf(env.client.address)).toBe(before);
        });

        it('a zero-amount notification from its own wallet credits nothing', async () => {
            const r = await env.blockchain.sendMessage(
                internal({
                    from: escrowWallet,
                    to: escrow.address,
                    value: toNano('0.05'),
                    body: transferNotificationBody({ queryId: 1n, amount: 0n, sender: env.client.address, forwardPayload: null }),
                }),
            );
            expect(r.transactions).toHaveTransaction({ from: escrowWallet, to: escrow.address, success: true, outMessagesCount: 0 });
            expect(await escrow.getEscrowData()).toMatchObject({ deposited: 0n });
        });
    });

    describe('releases', () => {
        beforeEach(async () => {
            await sendUsd(env.client, escrow.address, 400n * TEST_USD);
        });

        it('pays the vault and the treasury through its own wallet; the float pays no gas', async () => {
            const amount = 100n * TEST_USD;
            const fee = releaseFee(amount, 250);
            const tonBefore = await balanceOf(env.blockchain, escrow.address);
            const r = await release(escrow, amount);

            expect(r.transactions).toHaveTransaction({ from: env.relayer.address, to: escrow.address, success: true, op: Op.escrow_release });
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: escrowWallet, op: Op.transfer, success: true });
            // the vault is notified with vault_fund in the forward payload and VAULT_NOTIFY_TON
            const note = computeOf(r, env.vault.address, usd.walletAddressOf(env.vault.address)).tx.inMessage!;
            expect(note.info.type === 'internal' && note.info.value.coins).toBe(EscrowFeeParams.vaultNotifyTon);
            const n = parseTransferNotification(note.body);
            expect(n.amount).toBe(amount);
            expect(n.sender!.equals(escrow.address)).toBe(true);
            expect(parseVaultFund(n.forwardPayload!)).toEqual({ queryId: legQueryId(Leg.vault, 0), projectId: 42n, amount });
            // the excesses go to the carrier of the release
            expect(r.transactions).toHaveTransaction({ to: env.relayer.address, op: Op.excesses });

            expect(await usdOf(env.vault.address)).toBe(amount);
            expect(await usdOf(env.treasury.address)).toBe(fee);
            expect(await usdOf(escrow.address)).toBe(400n * TEST_USD - amount - fee);
            expect(await balanceOf(env.blockchain, escrow.address)).toBe(tonBefore);
            expectEvents(r, escrow.address, [{ kind: 'release', seqno: 0n, amount, fee, remaining: 400n * TEST_USD - amount - fee }]);
            expect(await escrow.getEscrowData()).toMatchObject({ seqno: 1, released: amount, feesPaid: fee, budget: 400n * TEST_USD - amount - fee });

            // both legs carry their leg query id
            const legs = r.transactions
                .filter((t) => t.inMessage?.info.src instanceof Address && t.inMessage.info.src.equals(escrow.address))
                .filter((t) => t.inMessage!.body.beginParse().preloadUint(32) === Op.transfer)
                .map((t) => parseJettonTransfer(t.inMessage!.body));
            expect(legs.map((l) => [l.queryId, l.amount])).toEqual([
                [legQueryId(Leg.vault, 0), amount],
                [legQueryId(Leg.fee, 0), fee],
            ]);
            expect(legs.every((l) => l.responseDestination!.equals(env.relayer.address))).toBe(true);
        });

        it('one transfer only when the fee is 0', async () => {
            const r = await release(escrow, 39n);
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: escrowWallet, op: Op.transfer });
            expect(computeOf(r, escrow.address, env.relayer.address).tx.outMessagesCount).toBe(2); // transfer + event
            expect(await usdOf(env.vault.address)).toBe(39n);
            expect(await usdOf(env.treasury.address)).toBe(0n);
        });

        it('attack: not enough TON attached for a jetton release: nothing changes', async () => {
            const signed = await signedRelease(env, escrow, TEST_USD);
            const tonBefore = await balanceOf(env.blockchain, escrow.address);
            const r = await escrow.sendRelease(env.relayer.getSender(), { ...signed, value: toNano('0.05') });
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.notEnoughTon });
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: env.relayer.address, inMessageBounced: true });
            expect(await escrow.getEscrowData()).toMatchObject({ seqno: 0, released: 0n, budget: 400n * TEST_USD });
            expect(await balanceOf(env.blockchain, escrow.address)).toBe(tonBefore);
            const ok = await escrow.sendRelease(env.relayer.getSender(), { ...signed, value: EscrowAttach.releaseJetton });
            expect(ok.transactions).toHaveTransaction({ to: escrow.address, success: true, op: Op.escrow_release });
        });

        it('attack: release beyond the jetton budget refused', async () => {
            const r = await release(escrow, 400n * TEST_USD);
            expect(r.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.insufficientBudget });
            expect(await usdOf(escrow.address)).toBe(400n * TEST_USD);
        });

        it('bounced jetton vault leg restores the budget', async () => {
            // the wallet refuses a transfer to a masterchain recipient: the escrow's `transfer` bounces
            const e = (await jettonEscrow({ projectId: 600n, vault: nowhere(0x44, -1) })).escrow;
            await sendUsd(env.client, e.address, 100n * TEST_USD);
            const amount = 40n * TEST_USD;
            const fee = releaseFee(amount, 250);
            const r = await release(e, amount);
            const w = usd.walletAddressOf(e.address);
            expect(r.transactions).toHaveTransaction({ from: e.address, to: w, op: Op.transfer, success: false });
            expect(r.transactions).toHaveTransaction({ from: w, to: e.address, inMessageBounced: true, success: true });
            expectEvents(r, e.address, [
                { kind: 'release', seqno: 0n, amount, fee, remaining: 100n * TEST_USD - amount - fee },
                { kind: 'release_bounced', queryId: legQueryId(Leg.vault, 0), amount, remaining: 100n * TEST_USD - fee },
            ]);
            expect(await e.getEscrowData()).toMatchObject({ seqno: 1, released: 0n, feesPaid: fee, budget: 100n * TEST_USD - fee });
            expect(await usdOf(e.address)).toBe(100n * TEST_USD - fee);
        });

        it('bounced jetton fee leg restores fees_paid', async () => {
            const e = (await jettonEscrow({ projectId: 601n, treasury: nowhere(0x55, -1) })).escrow;
            await sendUsd(env.client, e.address, 100n * TEST_USD);
            const amount = 40n * TEST_USD;
            const fee = releaseFee(amount, 250);
            const r = await release(e, amount);
            expectEvents(r, e.address, [
                { kind: 'release', seqno: 0n, amount, fee, remaining: 100n * TEST_USD - amount - fee },
                { kind: 'release_bounced', queryId: legQueryId(Leg.fee, 0), amount: fee, remaining: 100n * TEST_USD - amount },
            ]);
            expect(await e.getEscrowData()).toMatchObject({ released: amount, feesPaid: 0n, budget: 100n * TEST_USD - amount });
            expect(await usdOf(env.vault.address)).toBe(amount);
        });
    });

    describe('refunds', () => {
        beforeEach(async () => {
            await sendUsd(env.client, escrow.address, 300n * TEST_USD);
            await release(escrow, 100n * TEST_USD);
        });
        const remaining = 300n * TEST_USD - 100n * TEST_USD - releaseFee(100n * TEST_USD, 250);

        it('refund after signed close returns the remaining jettons to the client', async () => {
            await escrow.sendClose(env.relayer.getSender(), await signedClose(env, escrow));
            const tonBefore = await balanceOf(env.blockchain, escrow.address);
            const clientBefore = await usdOf(env.client.address);
            const r = await escrow.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: escrowWallet, op: Op.transfer, success: true });
            expect(r.transactions).toHaveTransaction({ to: env.client.address, op: Op.excesses });
            expectEvents(r, escrow.address, [{ kind: 'refund', queryId: legQueryId(Leg.refund, 2), to: env.client.address, amount: remaining }]);
            expect(await usdOf(env.client.address)).toBe(clientBefore + remaining);
            expect(await usdOf(escrow.address)).toBe(0n);
            expect(await escrow.getEscrowData()).toMatchObject({ state: EscrowState.closed, refunded: remaining, budget: 0n });
            expect(await balanceOf(env.blockchain, escrow.address)).toBe(tonBefore);
        });

        it('refund after the deadline closes with seqno 0xffffffff', async () => {
            env.blockchain.now = NOW + 30 * DAY;
            const r = await escrow.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
            expectEvents(r, escrow.address, [
                { kind: 'closed', seqno: CLOSED_BY_DEADLINE_SEQNO, remaining },
                { kind: 'refund', queryId: legQueryId(Leg.refund, 1), to: env.client.address, amount: remaining },
            ]);
            expect(await usdOf(escrow.address)).toBe(0n);
            expect(await escrow.getState()).toBe(EscrowState.closed);
        });

        it('attack: non-client and early refunds refused', async () => {
            const r1 = await escrow.sendRefund(env.relayer.getSender(), { value: EscrowAttach.refundJetton });
            expect(r1.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.notClient });
            const r2 = await escrow.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
            expect(r2.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.refundTooEarly });
            expect(await usdOf(escrow.address)).toBe(remaining);
        });

        it('bounced jetton refund restores refunded', async () => {
            // a masterchain client: the wallet refuses to pay it, the refund transfer bounces
            const client = nowhere(0x66, -1);
            const e = (await jettonEscrow({ projectId: 700n, client })).escrow;
            await sendUsd(env.client, e.address, 20n * TEST_USD);
            env.blockchain.now = NOW + 30 * DAY;
            const r = await env.blockchain.sendMessage(
                internal({ from: client, to: e.address, value: EscrowAttach.refundJetton, body: buildEscrowRefund({ queryId: 0n }) }),
            );
            expectEvents(r, e.address, [
                { kind: 'closed', seqno: CLOSED_BY_DEADLINE_SEQNO, remaining: 20n * TEST_USD },
                { kind: 'refund', queryId: legQueryId(Leg.refund, 0), to: client, amount: 20n * TEST_USD },
                { kind: 'refund_bounced', queryId: legQueryId(Leg.refund, 0), amount: 20n * TEST_USD },
            ]);
            expect(await e.getEscrowData()).toMatchObject({ state: EscrowState.closed, refunded: 0n, budget: 20n * TEST_USD });
            expect(await usdOf(e.address)).toBe(20n * TEST_USD);
        });
    });

    it(`an escrow above the fee cap never learns its wallet: a jetton deposit goes back to the depositor`, async () => {
        const { escrow: e, result } = await jettonEscrow({ feeBps: MAX_FEE_BPS + 1, projectId: 990n });
        expect(result.transactions).toHaveTransaction({ to: e.address, success: false, exitCode: EscrowError.feeTooHigh });
        expect(result.transactions).not.toHaveTransaction({ from: e.address, to: usd.minter.address });
        // even a take_wallet_address from the real master is refused
        const learn = await env.blockchain.sendMessage(
            internal({ from: usd.minter.address, to: e.address, value: toNano('0.05'), body: takeWalletAddressBody(0n, usd.walletAddressOf(e.address), null) }),
        );
        expect(learn.transactions).toHaveTransaction({ to: e.address, success: false, exitCode: EscrowError.feeTooHigh });
        const before = await usdOf(env.client.address);
        const r = await sendUsd(env.client, e.address, 25n * TEST_USD);
        expect(r.transactions).toHaveTransaction({ from: e.address, to: usd.walletAddressOf(e.address), op: Op.transfer });
        expect(escrowEvents(r, e.address)).toHaveLength(0);
        expect(await usdOf(env.client.address)).toBe(before);
        expect(await usdOf(e.address)).toBe(0n);
        expect(await e.getEscrowData()).toMatchObject({ jettonWallet: null, budget: 0n });
    });

    describe('deposit forward TON (EscrowAttach.jettonDepositForward)', () => {
        /** Sends `amount` of a foreign jetton with `forward` TON; true if the client got it back. */
        async function foreignReturns(other: TestUsd, forward: bigint): Promise<boolean> {
            const before = await usdOf(env.client.address, other);
            await sendUsd(env.client, escrow.address, 500n, { token: other, forwardTonAmount: forward });
            return (await usdOf(env.client.address, other)) === before;
        }

        it('measures the minimum forward for the foreign-jetton return of the test USD; the default is above it', async () => {
            const other = await deployTestUsd(env.blockchain, await env.blockchain.treasury('other-admin'));
            await other.mint(env.client.address, 1000n);
            const start = env.blockchain.snapshot();
            const at = async (forward: bigint) => {
                await env.blockchain.loadFrom(start);
                return foreignReturns(other, forward);
            };
            // binary search to the nanoTON: ok(lo) is false, ok(hi) is true
            let lo = 0n;
            let hi = toNano('0.1');
            expect(await at(lo)).toBe(false);
            expect(await at(hi)).toBe(true);
            while (hi - lo > 1n) {
                const mid = (lo + hi) / 2n;
                if (await at(mid)) hi = mid;
                else lo = mid;
            }
            console.log(`foreign test USD return: minimum forward_ton_amount ${hi} nanoTON; default ${EscrowAttach.jettonDepositForward}`);
            // the figure documented in the READMEs and exported by the wrapper (and the Rust ABI)
            expect(hi).toBe(FOREIGN_RETURN_MIN_FORWARD_TEST_USD);
            // below it the foreign jettons stay stuck in the escrow's foreign wallet
            await env.blockchain.loadFrom(start);
            expect(await foreignReturns(other, hi - 1n)).toBe(false);
            expect(await usdOf(escrow.address, other)).toBe(500n);
            // at the default (over twice the minimum) they go home, and the escrow books nothing
            await env.blockchain.loadFrom(start);
            expect(EscrowAttach.jettonDepositForward).toBeGreaterThanOrEqual(2n * hi);
            expect(await foreignReturns(other, EscrowAttach.jettonDepositForward)).toBe(true);
            expect(await usdOf(escrow.address, other)).toBe(0n);
            expect(await escrow.getBudget()).toBe(0n);
        });

        it('the default forward also books an own-wallet deposit and leaves the rest as float', async () => {
            const tonBefore = await balanceOf(env.blockchain, escrow.address);
            const r = await sendUsd(env.client, escrow.address, 7n * TEST_USD);
            const note = computeOf(r, escrow.address, escrowWallet);
            expect(note.compute.success).toBe(true);
            expect(await escrow.getBudget()).toBe(7n * TEST_USD);
            const kept = (await balanceOf(env.blockchain, escrow.address)) - tonBefore;
            expect(kept).toBeGreaterThan(0n);
            expect(kept).toBeLessThan(EscrowAttach.jettonDepositForward);
        });
    });

    describe('jetton recovery (jetton_recover)', () => {
        /** Tokens that reach the escrow's wallet without telling the escrow (no notification). */
        async function silentlyAdd(amount: bigint) {
            const r = await sendUsd(env.client, escrow.address, amount, { forwardTonAmount: 0n });
            expect(r.transactions).not.toHaveTransaction({ from: escrowWallet, to: escrow.address });
            return r;
        }

        async function recover(amount: bigint, o: { from?: SandboxContract<TreasuryContract>; value?: bigint; e?: SandboxContract<Escrow> } = {}) {
            const e = o.e ?? escrow;
            return e.sendRecover((o.from ?? env.relayer).getSender(), { amount, value: o.value, queryId: 3n });
        }

        /** The escrow's books equal what its jetton wallet holds. */
        async function expectBooksMatchWallet(e: SandboxContract<Escrow> = escrow) {
            expect(await e.getBudget()).toBe(await usdOf(e.address));
        }

        /** Starts a recovery and stops after the escrow's own transaction (the request is in flight). */
        async function startRecovery(amount: bigint) {
            const it = await env.blockchain.sendMessageIter(
                internal({ from: env.relayer.address, to: escrow.address, value: EscrowAttach.recover, body: buildJettonRecover({ queryId: 3n, amount }) }),
                { allowParallel: true },
            );
            const first = await it.next();
            expect(first.done).toBe(false);
            const tx = first.value as BlockchainTransaction;
            expect(tx.description.type === 'generic' && tx.description.computePhase.type === 'vm' && tx.description.computePhase.success).toBe(true);
            return it;
        }

        async function drain(it: AsyncIterator<BlockchainTransaction>): Promise<BlockchainTransaction[]> {
            const txs: BlockchainTransaction[] = [];
            for (let n = await it.next(); !n.done; n = await it.next()) txs.push(n.value);
            return txs;
        }

        beforeEach(async () => {
            await sendUsd(env.client, escrow.address, 100n * TEST_USD);
        });

        it('books tokens sent to its wallet without a notification; anyone may ask and pays the gas', async () => {
            await silentlyAdd(30n * TEST_USD);
            expect(await escrow.getBudget()).toBe(100n * TEST_USD);
            expect(await usdOf(escrow.address)).toBe(130n * TEST_USD);
            const stranger = await env.blockchain.treasury('stranger');
            const tonBefore = await balanceOf(env.blockchain, escrow.address);
            const strangerBefore = await balanceOf(env.blockchain, stranger.address);
            const r = await recover(30n * TEST_USD, { from: stranger });
            const nonce = legQueryId(Leg.recovery, 1);
            // the escrow asks its own wallet for a transfer of books + X to itself
            const ask = parseJettonTransfer(computeOf(r, escrowWallet, escrow.address).tx.inMessage!.body);
            expect(ask).toMatchObject({ queryId: nonce, amount: 130n * TEST_USD, forwardTonAmount: EscrowFeeParams.recoveryNotifyTon });
            expect(ask.destination.equals(escrow.address)).toBe(true);
            expect(ask.responseDestination!.equals(stranger.address)).toBe(true);
            // the answer comes from the own wallet with sender = the escrow
            const note = parseTransferNotification(computeOf(r, escrow.address, escrowWallet).tx.inMessage!.body);
            expect(note.sender!.equals(escrow.address)).toBe(true);
            expect(r.transactions).toHaveTransaction({ to: stranger.address, op: Op.excesses });
            expectEvents(r, escrow.address, [{ kind: 'jetton_recovered', queryId: nonce, amount: 30n * TEST_USD, booked: 130n * TEST_USD }]);
            expect(await escrow.getEscrowData()).toMatchObject({ deposited: 100n * TEST_USD, recovered: 30n * TEST_USD, recoveries: 1, recoverySince: 0, budget: 130n * TEST_USD });
            await expectBooksMatchWallet();
            // the self-transfer moved nothing; the escrow's float did not pay for it
            expect(await balanceOf(env.blockchain, escrow.address)).toBeGreaterThanOrEqual(tonBefore);
            const cost = strangerBefore - (await balanceOf(env.blockchain, stranger.address));
            console.log(`jetton_recover: the caller spent ${cost} nanoTON`);
            expect(cost).toBeLessThan(EscrowAttach.recover);
            // the recovered tokens are budget like any other: released and refunded
            const rel = await release(escrow, 100n * TEST_USD);
            expect(rel.transactions).toHaveTransaction({ to: escrow.address, success: true, op: Op.escrow_release });
            await escrow.sendClose(env.relayer.getSender(), await signedClose(env, escrow));
            await escrow.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
            expect(await usdOf(escrow.address)).toBe(0n);
            expect(await escrow.getBudget()).toBe(0n);
        });

        it('attack: a false claim books nothing (the own wallet refuses to transfer more than it holds)', async () => {
            await silentlyAdd(30n * TEST_USD);
            const before = plain(await escrow.getEscrowData());
            const r = await recover(31n * TEST_USD);
            const nonce = legQueryId(Leg.recovery, 1);
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: escrowWallet, success: false, exitCode: JettonError.insufficientBalance });
            expect(r.transactions).toHaveTransaction({ from: escrowWallet, to: escrow.address, inMessageBounced: true, success: true });
            expectEvents(r, escrow.address, [{ kind: 'jetton_recovery_failed', queryId: nonce }]);
            expect(plain(await escrow.getEscrowData())).toEqual({ ...before, recoveries: 1 });
            expect(await usdOf(escrow.address)).toBe(130n * TEST_USD);
            // with nothing extra at all
            const e = (await jettonEscrow({ projectId: 950n })).escrow;
            await sendUsd(env.client, e.address, 10n * TEST_USD);
            const r2 = await recover(1n, { e });
            expectEvents(r2, e.address, [{ kind: 'jetton_recovery_failed', queryId: nonce }]);
            expect(await e.getEscrowData()).toMatchObject({ recovered: 0n, recoverySince: 0, budget: 10n * TEST_USD });
            // the truthful claim afterwards books exactly the extra, never more
            const ok = await recover(30n * TEST_USD);
            expectEvents(ok, escrow.address, [{ kind: 'jetton_recovered', queryId: legQueryId(Leg.recovery, 2), amount: 30n * TEST_USD, booked: 130n * TEST_USD }]);
            await expectBooksMatchWallet();
            const again = await recover(1n);
            expect(escrowEvents(again, escrow.address)).toMatchObject([{ kind: 'jetton_recovery_failed' }]);
            await expectBooksMatchWallet();
        });

        it('a smaller claim books only what was claimed; the rest can be claimed later', async () => {
            await silentlyAdd(30n * TEST_USD);
            const r = await recover(10n * TEST_USD);
            expect(escrowEvents(r, escrow.address)).toMatchObject([{ kind: 'jetton_recovered', amount: 10n * TEST_USD, booked: 110n * TEST_USD }]);
            await recover(20n * TEST_USD);
            await expectBooksMatchWallet();
        });

        it('attack: concurrent recoveries are refused: the same tokens are never proven twice', async () => {
            await silentlyAdd(30n * TEST_USD);
            const first = await startRecovery(30n * TEST_USD);
            expect(await escrow.getEscrowData()).toMatchObject({ recoveries: 1, recoverySince: NOW });
            const second = await recover(30n * TEST_USD);
            expect(second.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.recoveryPending });
            expect(second.transactions).not.toHaveTransaction({ from: escrow.address, to: escrowWallet });
            const rest = await drain(first);
            expect(rest.length).toBeGreaterThan(2);
            expect(await escrow.getEscrowData()).toMatchObject({ recovered: 30n * TEST_USD, recoverySince: 0, budget: 130n * TEST_USD });
            await expectBooksMatchWallet();
        });

        it('attack: releases and refunds are refused while a recovery is pending', async () => {
            await silentlyAdd(30n * TEST_USD);
            const pending = await startRecovery(30n * TEST_USD);
            const rel = await release(escrow, TEST_USD);
            expect(rel.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.recoveryPending });
            // a close moves no tokens: allowed
            const cl = await escrow.sendClose(env.relayer.getSender(), await signedClose(env, escrow));
            expect(cl.transactions).toHaveTransaction({ to: escrow.address, success: true, op: Op.escrow_close });
            env.blockchain.now = NOW + RECOVERY_TIMEOUT - 1;
            const ref = await escrow.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
            expect(ref.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.recoveryPending });
            expect(ref.transactions).not.toHaveTransaction({ from: escrow.address, to: escrowWallet });
            await drain(pending);
            const ok = await escrow.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
            expect(escrowEvents(ok, escrow.address)).toMatchObject([{ kind: 'refund', amount: 130n * TEST_USD }]);
            expect(await usdOf(escrow.address)).toBe(0n);
            await expectBooksMatchWallet();
        });

        it('a deposit racing a recovery is not double-booked', async () => {
            await silentlyAdd(30n * TEST_USD);
            // 1. the request leaves the escrow, 2. the own wallet makes the self-transfer
            const rec = await startRecovery(30n * TEST_USD);
            const walletTx = await rec.next();
            expect(walletTx.done).toBe(false);
            // a 20 USD deposit reaches the own wallet now, between the self-transfer's two hops:
            // its notification overtakes the recovery's answer
            const dep = await sendUsd(env.client, escrow.address, 20n * TEST_USD);
            expect(escrowEvents(dep, escrow.address)).toMatchObject([{ kind: 'deposit', amount: 20n * TEST_USD, deposited: 120n * TEST_USD }]);
            const rest = await drain(rec);
            const events = rest.flatMap((t) => escrowEvents({ transactions: [t] }, escrow.address));
            // A = 130 was proven, 120 is booked by now: only 10 more is booked (never 30 + 20)
            expect(plain(events)).toEqual(plain([{ kind: 'jetton_recovered', queryId: legQueryId(Leg.recovery, 1), amount: 10n * TEST_USD, booked: 130n * TEST_USD }]));
            expect(await escrow.getBudget()).toBe(130n * TEST_USD);
            expect(await usdOf(escrow.address)).toBe(150n * TEST_USD);
            // the books never exceed the wallet; a second recovery proves the rest
            await recover(20n * TEST_USD);
            await expectBooksMatchWallet();
        });

        it('a deposit in flight when the recovery is asked is booked once even if the claim includes it', async () => {
            await silentlyAdd(30n * TEST_USD);
            // the deposit's notification is on its way when jetton_recover arrives
            const dep = await env.blockchain.sendMessageIter(
                internal({
                    from: env.client.address,
                    to: usd.walletAddressOf(env.client.address),
                    value: toNano('0.1') + EscrowAttach.jettonDepositForward,
                    body: jettonTransferBody({
                        queryId: 1n,
                        amount: 20n * TEST_USD,
                        destination: escrow.address,
                        responseDestination: env.client.address,
                        forwardTonAmount: EscrowAttach.jettonDepositForward,
                    }),
                }),
                { allowParallel: true },
            );
            await dep.next(); // client's wallet
            await dep.next(); // escrow's wallet: balance 150, notification queued
            expect(await usdOf(escrow.address)).toBe(150n * TEST_USD);
            // the claimant also claims the 20 in flight: A = 100 + 50 = 150, which the wallet holds
            const rec = await startRecovery(50n * TEST_USD);
            await drain(dep); // the deposit is booked: 120
            expect(await escrow.getBudget()).toBe(120n * TEST_USD);
            const rest = await drain(rec);
            const events = rest.flatMap((t) => escrowEvents({ transactions: [t] }, escrow.address));
            expect(events).toMatchObject([{ kind: 'jetton_recovered', amount: 30n * TEST_USD, booked: 150n * TEST_USD }]);
            await expectBooksMatchWallet();
        });

        it('a stuck recovery times out: releases go on and its late answer books nothing', async () => {
            await silentlyAdd(50n * TEST_USD);
            const stuck = await startRecovery(10n * TEST_USD); // A = 110, never delivered for now
            env.blockchain.now = NOW + RECOVERY_TIMEOUT - 1;
            const early = await release(escrow, 20n * TEST_USD);
            expect(early.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.recoveryPending });
            env.blockchain.now = NOW + RECOVERY_TIMEOUT;
            const rel = await release(escrow, 20n * TEST_USD);
            expect(rel.transactions).toHaveTransaction({ to: escrow.address, success: true, op: Op.escrow_release });
            const fee = releaseFee(20n * TEST_USD, 250);
            // (recovery_since keeps the stale start time: the recovery is over because it expired)
            expect(await escrow.getEscrowData()).toMatchObject({ recoverySince: NOW, budget: 80n * TEST_USD - fee });
            // the stale request now reaches the wallet (it still holds 130 - fee >= 110) and answers
            const late = await drain(stuck);
            expect(late.some((t) => t.inMessage?.info.src instanceof Address && t.inMessage.info.src.equals(escrowWallet) && t.inMessage.info.dest instanceof Address && t.inMessage.info.dest.equals(escrow.address))).toBe(true);
            expect(late.flatMap((t) => escrowEvents({ transactions: [t] }, escrow.address))).toEqual([]);
            expect(await escrow.getEscrowData()).toMatchObject({ recovered: 0n, budget: 80n * TEST_USD - fee });
            // a fresh recovery proves the 50 that came without notification
            const ok = await recover(50n * TEST_USD);
            expect(escrowEvents(ok, escrow.address)).toMatchObject([{ kind: 'jetton_recovered', queryId: legQueryId(Leg.recovery, 2), amount: 50n * TEST_USD }]);
            await expectBooksMatchWallet();
        });

        it('after the timeout a new recovery replaces the stuck one; the stale answer books nothing', async () => {
            await silentlyAdd(30n * TEST_USD);
            const stuck = await startRecovery(30n * TEST_USD);
            const refused = await recover(30n * TEST_USD);
            expect(refused.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.recoveryPending });
            env.blockchain.now = NOW + RECOVERY_TIMEOUT;
            const fresh = await recover(30n * TEST_USD);
            expect(escrowEvents(fresh, escrow.address)).toMatchObject([{ kind: 'jetton_recovered', queryId: legQueryId(Leg.recovery, 2), amount: 30n * TEST_USD }]);
            const late = await drain(stuck);
            expect(late.flatMap((t) => escrowEvents({ transactions: [t] }, escrow.address))).toEqual([]);
            expect(await escrow.getEscrowData()).toMatchObject({ recovered: 30n * TEST_USD, recoveries: 2, budget: 130n * TEST_USD });
            await expectBooksMatchWallet();
        });

        it('attack: a forged recovery answer books nothing', async () => {
            await silentlyAdd(30n * TEST_USD);
            const mallory = await env.blockchain.treasury('mallory');
            const stuck = await startRecovery(30n * TEST_USD); // pending nonce legQueryId(4, 1)
            const marker = buildJettonRecovery({ nonce: legQueryId(Leg.recovery, 1) });
            // from mallory (not the own wallet): a foreign notification, sent back to its sender
            const body = buildTransferNotification({ queryId: legQueryId(Leg.recovery, 1), amount: 1_000n * TEST_USD, sender: escrow.address, forwardPayload: marker });
            const r = await escrow.sendRaw(mallory.getSender(), toNano('0.1'), body);
            expect(r.transactions).toHaveTransaction({ from: escrow.address, to: mallory.address, op: Op.transfer });
            expect(escrowEvents(r, escrow.address)).toHaveLength(0);
            // from the own wallet with sender = the escrow but another nonce: nothing
            const wrongNonce = await env.blockchain.sendMessage(
                internal({
                    from: escrowWallet,
                    to: escrow.address,
                    value: toNano('0.05'),
                    body: buildTransferNotification({ queryId: 0n, amount: 1_000n * TEST_USD, sender: escrow.address, forwardPayload: buildJettonRecovery({ nonce: legQueryId(Leg.recovery, 2) }) }),
                }),
            );
            expect(wrongNonce.transactions).toHaveTransaction({ from: escrowWallet, to: escrow.address, success: true, outMessagesCount: 0 });
            // sender = the escrow without a marker: a self-transfer is never a deposit
            const noMarker = await env.blockchain.sendMessage(
                internal({
                    from: escrowWallet,
                    to: escrow.address,
                    value: toNano('0.05'),
                    body: buildTransferNotification({ queryId: 0n, amount: 5n * TEST_USD, sender: escrow.address, forwardPayload: null }),
                }),
            );
            expect(noMarker.transactions).toHaveTransaction({ from: escrowWallet, to: escrow.address, success: true, outMessagesCount: 0 });
            expect(await escrow.getEscrowData()).toMatchObject({ deposited: 100n * TEST_USD, recovered: 0n, recoverySince: NOW });
            await drain(stuck);
            expect(await escrow.getEscrowData()).toMatchObject({ recovered: 30n * TEST_USD, recoverySince: 0 });
            await expectBooksMatchWallet();
        });

        it('reads the marker in both forward_payload forms (inline and by reference)', async () => {
            // (the sandbox lets the test speak as the own wallet: this checks the parsing only)
            for (const [i, inline] of [true, false].entries()) {
                const e = (await jettonEscrow({ projectId: 960n + BigInt(i) })).escrow;
                const pending = await env.blockchain.sendMessageIter(
                    internal({ from: env.relayer.address, to: e.address, value: EscrowAttach.recover, body: buildJettonRecover({ queryId: 0n, amount: 7n }) }),
                    { allowParallel: true },
                );
                await pending.next(); // the request is never delivered
                const nonce = legQueryId(Leg.recovery, 1);
                const r = await env.blockchain.sendMessage(
                    internal({
                        from: usd.walletAddressOf(e.address),
                        to: e.address,
                        value: toNano('0.05'),
                        body: buildTransferNotification({ queryId: nonce, amount: 7n, sender: e.address, forwardPayload: buildJettonRecovery({ nonce }), forwardPayloadInline: inline }),
                    }),
                );
                expect(escrowEvents(r, e.address)).toMatchObject([{ kind: 'jetton_recovered', queryId: nonce, amount: 7n, booked: 7n }]);
            }
        });

        it('refuses jetton_recover with a named code: zero, beyond Coins, too little TON, wallet unknown, TON escrow', async () => {
            const zero = await recover(0n);
            expect(zero.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.badRecoveryAmount });
            const huge = await recover((1n << 120n) - 1n);
            expect(huge.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.badRecoveryAmount });
            const poor = await recover(TEST_USD, { value: toNano('0.03') });
            expect(poor.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.notEnoughTon });
            const unknown = env.blockchain.openContract(
                Escrow.createFromConfig(escrowConfig(env, { jettonMaster: usd.minter.address, projectId: 970n }), env.code),
            );
            await unknown.sendTopUp(env.deployer.getSender(), toNano('0.05'));
            const u = await recover(TEST_USD, { e: unknown });
            expect(u.transactions).toHaveTransaction({ to: unknown.address, success: false, exitCode: EscrowError.jettonWalletUnknown });
            const ton = (await deployEscrow(env, escrowConfig(env, { projectId: 971n }))).escrow;
            const t = await recover(TEST_USD, { e: ton });
            expect(t.transactions).toHaveTransaction({ to: ton.address, success: false, exitCode: EscrowError.notJettonEscrow });
            expect(await escrow.getEscrowData()).toMatchObject({ recoveries: 0, recoverySince: 0 });
        });

        it('a closed escrow recovers returned tokens and the client refunds them', async () => {
            await escrow.sendClose(env.relayer.getSender(), await signedClose(env, escrow));
            await escrow.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
            expect(await escrow.getEscrowData()).toMatchObject({ state: EscrowState.closed, budget: 0n });
            await silentlyAdd(5n * TEST_USD); // what a refund refused by a locked client wallet leaves
            const r = await recover(5n * TEST_USD);
            expect(escrowEvents(r, escrow.address)).toMatchObject([{ kind: 'jetton_recovered', amount: 5n * TEST_USD, booked: 5n * TEST_USD }]);
            const before = await usdOf(env.client.address);
            const again = await escrow.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
            expect(escrowEvents(again, escrow.address)).toMatchObject([{ kind: 'refund', amount: 5n * TEST_USD }]);
            expect(await usdOf(env.client.address)).toBe(before + 5n * TEST_USD);
            await expectBooksMatchWallet();
        });
    });

    it('a year of storage fees: release and refund still work and the budget is intact', async () => {
        const e = (await jettonEscrow({ projectId: 800n, deadline: NOW + 400 * DAY })).escrow;
        await sendUsd(env.client, e.address, 100n * TEST_USD);
        env.blockchain.now = NOW + 365 * DAY;
        const amount = 30n * TEST_USD;
        const fee = releaseFee(amount, 250);
        const r = await release(e, amount);
        expect(r.transactions).toHaveTransaction({ from: e.address, to: usd.walletAddressOf(e.address), op: Op.transfer, success: true });
        expect(await usdOf(env.vault.address)).toBe(amount);
        expect(await e.getBudget()).toBe(100n * TEST_USD - amount - fee);
        expect(await balanceOf(env.blockchain, e.address)).toBeGreaterThanOrEqual(EscrowFeeParams.minStorageReserve);

        await e.sendClose(env.relayer.getSender(), await signedClose(env, e));
        await e.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
        expect(await e.getBudget()).toBe(0n);
        expect(await usdOf(e.address)).toBe(0n);
    });
});

// USDT's admin can lock any wallet (call_to + set_status); the test USD has the same feature. A
// jetton leg refused by a locked recipient wallet bounces between the two wallets and restores
// the escrow wallet's balance without telling the escrow; jetton_recover books it again.
describe.each([
    ['plain wallet code', false],
    ['library-cell wallet code (as USDT on mainnet)', true],
])('Escrow (jetton): locked recipients, %s', (_mode, library) => {
    let env: EscrowEnv;
    let usd: TestUsd;
    let escrow: SandboxContract<Escrow>;
    let escrowWallet: Address;

    async function sendUsd(from: SandboxContract<TreasuryContract>, to: Address, amount: bigint) {
        return usd.walletOf(from.address).sendTransfer(from.getSender(), {
            value: toNano('0.1') + EscrowAttach.jettonDepositForward,
            amount,
            destination: to,
            responseDestination: from.address,
            forwardTonAmount: EscrowAttach.jettonDepositForward,
        });
    }

    const usdOf = (owner: Address) => usd.walletOf(owner).getJettonBalance().catch(() => 0n);

    async function expectBooksMatchWallet() {
        expect(await escrow.getBudget()).toBe(await usdOf(escrow.address));
    }

    async function release(amount: bigint) {
        return escrow.sendRelease(env.relayer.getSender(), { ...(await signedRelease(env, escrow, amount)), value: EscrowAttach.releaseJetton });
    }

    /** The internal_transfer the escrow's wallet sent to `owner`'s wallet was refused (exit 45) and bounced back. */
    function expectRefusedAt(r: { transactions: BlockchainTransaction[] }, owner: Address) {
        const theirs = usd.walletAddressOf(owner);
        expect(r.transactions).toHaveTransaction({ from: escrowWallet, to: theirs, op: Op.internal_transfer, success: false, exitCode: JettonError.contractLocked });
        expect(r.transactions).toHaveTransaction({ from: theirs, to: escrowWallet, inMessageBounced: true, success: true });
        // the escrow hears nothing of it
        expect(r.transactions).not.toHaveTransaction({ from: escrowWallet, to: escrow.address, inMessageBounced: true });
    }

    beforeEach(async () => {
        env = await createEscrowEnv();
        usd = await deployTestUsd(env.blockchain, await env.blockchain.treasury('usd-admin'), { library });
        await usd.mint(env.client.address, 1000n * TEST_USD);
        escrow = (await deployEscrow(env, escrowConfig(env, { jettonMaster: usd.minter.address }))).escrow;
        escrowWallet = usd.walletAddressOf(escrow.address);
        expect((await escrow.getJettonWallet())!.equals(escrowWallet)).toBe(true);
        await sendUsd(env.client, escrow.address, 100n * TEST_USD);
        await expectBooksMatchWallet();
    });

    it('refund to a locked client wallet: recovered, then refunded exactly once when unlocked', async () => {
        await escrow.sendClose(env.relayer.getSender(), await signedClose(env, escrow));
        await usd.setStatus(env.client.address, WalletStatus.receiveLocked);
        const before = await usdOf(env.client.address);
        const refused = await escrow.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
        expectRefusedAt(refused, env.client.address);
        // the escrow booked the refund; its wallet still holds the tokens
        expect(await escrow.getEscrowData()).toMatchObject({ refunded: 100n * TEST_USD, budget: 0n });
        expect(await usdOf(escrow.address)).toBe(100n * TEST_USD);
        expect(await usdOf(env.client.address)).toBe(before);

        // anyone books them again: the wallet proves it holds budget (0) + 100
        const rec = await escrow.sendRecover(env.relayer.getSender(), { amount: 100n * TEST_USD });
        expectEvents(rec, escrow.address, [{ kind: 'jetton_recovered', queryId: legQueryId(Leg.recovery, 1), amount: 100n * TEST_USD, booked: 100n * TEST_USD }]);
        await expectBooksMatchWallet();
        // a second recovery finds nothing more
        const again = await escrow.sendRecover(env.relayer.getSender(), { amount: 1n });
        expect(escrowEvents(again, escrow.address)).toMatchObject([{ kind: 'jetton_recovery_failed' }]);
        await expectBooksMatchWallet();

        // unlocked, the client refunds again and is paid exactly once
        await usd.setStatus(env.client.address, WalletStatus.unlocked);
        const ok = await escrow.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
        expect(ok.transactions).toHaveTransaction({ from: escrowWallet, to: usd.walletAddressOf(env.client.address), op: Op.internal_transfer, success: true });
        expect(await usdOf(env.client.address)).toBe(before + 100n * TEST_USD);
        expect(await escrow.getEscrowData()).toMatchObject({ refunded: 200n * TEST_USD, recovered: 100n * TEST_USD, budget: 0n });
        await expectBooksMatchWallet();
        expect(await usdOf(escrow.address)).toBe(0n);
        const none = await escrow.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
        expect(none.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.nothingToRefund });
    });

    it('platform fee to a locked treasury wallet: recovered into the budget; the next fee is paid exactly once', async () => {
        await usd.setStatus(env.treasury.address, WalletStatus.receiveLocked);
        const amount = 40n * TEST_USD;
        const fee = releaseFee(amount, 250);
        const r = await release(amount);
        expectRefusedAt(r, env.treasury.address);
        expect(await usdOf(env.vault.address)).toBe(amount);
        expect(await usdOf(env.treasury.address)).toBe(0n);
        expect(await escrow.getEscrowData()).toMatchObject({ released: amount, feesPaid: fee, budget: 100n * TEST_USD - amount - fee });
        expect(await usdOf(escrow.address)).toBe(100n * TEST_USD - amount);

        const rec = await escrow.sendRecover(env.relayer.getSender(), { amount: fee });
        expect(escrowEvents(rec, escrow.address)).toMatchObject([{ kind: 'jetton_recovered', amount: fee, booked: 100n * TEST_USD - amount }]);
        await expectBooksMatchWallet();

        // the treasury unlocked: the next release pays its own fee, once
        await usd.setStatus(env.treasury.address, WalletStatus.unlocked);
        const amount2 = 20n * TEST_USD;
        const fee2 = releaseFee(amount2, 250);
        const r2 = await release(amount2);
        expect(r2.transactions).toHaveTransaction({ from: escrowWallet, to: usd.walletAddressOf(env.treasury.address), op: Op.internal_transfer, success: true });
        expect(await usdOf(env.treasury.address)).toBe(fee2);
        expect(await usdOf(env.vault.address)).toBe(amount + amount2);
        await expectBooksMatchWallet();
        // and the client's refund takes exactly what is left
        await escrow.sendClose(env.relayer.getSender(), await signedClose(env, escrow));
        const before = await usdOf(env.client.address);
        await escrow.sendRefund(env.client.getSender(), { value: EscrowAttach.refundJetton });
        expect(await usdOf(env.client.address)).toBe(before + 100n * TEST_USD - amount - amount2 - fee2);
        expect(await usdOf(escrow.address)).toBe(0n);
        await expectBooksMatchWallet();
    });

    it("release refused by the vault's jetton wallet: recovered, and the signer releases again", async () => {
        await usd.setStatus(env.vault.address, WalletStatus.receiveLocked);
        const amount = 30n * TEST_USD;
        const fee = releaseFee(amount, 250);
        const r = await release(amount);
        expectRefusedAt(r, env.vault.address);
        expect(await usdOf(env.vault.address)).toBe(0n);
        expect(await usdOf(env.treasury.address)).toBe(fee);
        const rec = await escrow.sendRecover(env.relayer.getSender(), { amount });
        expect(escrowEvents(rec, escrow.address)).toMatchObject([{ kind: 'jetton_recovered', amount, booked: 100n * TEST_USD - fee }]);
        await expectBooksMatchWallet();

        await usd.setStatus(env.vault.address, WalletStatus.unlocked);
        const again = await release(amount);
        expect(again.transactions).toHaveTransaction({ from: escrowWallet, to: usd.walletAddressOf(env.vault.address), op: Op.internal_transfer, success: true });
        expect(await usdOf(env.vault.address)).toBe(amount);
        expect(await escrow.getEscrowData()).toMatchObject({ seqno: 2, released: 2n * amount, feesPaid: 2n * fee, recovered: amount });
        await expectBooksMatchWallet();
    });
});
