// The project Escrow with a jetton (the test USD, tests/helpers/jetton-fixture.ts) as currency:
// TEP-89 wallet discovery, deposits by transfer_notification, forged and foreign notifications,
// jetton releases and refunds through the escrow's own wallet, and their bounces.
import { Address, toNano } from '@ton/core';
import { internal, SandboxContract, TreasuryContract } from '@ton/sandbox';
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
    releaseFee,
} from '../wrappers/Escrow';
import { TEST_USD } from '../wrappers/JettonMinter';
import { parseJettonTransfer, parseTransferNotification, takeWalletAddressBody, transferNotificationBody } from '../wrappers/tep74';
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
