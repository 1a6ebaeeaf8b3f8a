// Randomized conservation: at least 1,000 random sequences of deposits, releases, payouts,
// bounces, closes and refunds over the whole system (test USD jetton, TON and USD escrows,
// TON and USD vaults). After every step:
//   - every TON that moved is explained: for each escrow/vault transaction, the balance change
//     equals the amounts its events carry, minus the fees the transaction reports;
//   - the messages that carry money (vault_fund, platform_fee, refund, payouts) carry exactly the
//     amounts of the events; nothing else leaves;
//   - the getters equal the running sums of the events, and those equal what was requested;
//   - jetton balances (escrow and vault wallets) equal the contracts' books exactly.
// The seed is fixed (CONSERVATION_SEED to change it, CONSERVATION_SEQUENCES for the count).
// The sequences are split into shards, one spec file each (tests/conservation.N.spec.ts), so
// jest runs them side by side; shard i draws its sequences from seed CONSERVATION_SEED + i.
import '@ton/test-utils';
import { Address, Cell, Transaction } from '@ton/core';
import { BlockchainSnapshot, SandboxContract, SendMessageResult } from '@ton/sandbox';
import { createWorld, freshAddresses, Kind, TON, World } from '../../scripts/world';
import { Escrow, EscrowError, parseEscrowEvent, parseEscrowStorage, releaseFee } from '../../wrappers/Escrow';
import { PayoutItem, parseVaultEvent, parseVaultStats, parseVaultStorage } from '../../wrappers/PayoutVault';
import { parseJettonWalletStorage } from '../../wrappers/JettonWallet';
import { TEST_USD } from '../../wrappers/JettonMinter';
import { eventBodies } from '../../wrappers/events';
import { Op } from '../../wrappers/opcodes';

const TOTAL_SEQUENCES = Number(process.env.CONSERVATION_SEQUENCES ?? 1000);
const SEED = Number(process.env.CONSERVATION_SEED ?? 20261125);
const FEE_BPS = 250n;

function mulberry32(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

interface Books {
    deposited: bigint;
    released: bigint;
    fees: bigint;
    refunded: bigint;
    closed: boolean;
}

const UNIT: Record<Kind, bigint> = { ton: TON, usd: TEST_USD };

function on(tx: Transaction, a: Address): boolean {
    return tx.inMessage?.info.dest instanceof Address && tx.inMessage.info.dest.equals(a);
}

function opOf(body: Cell): number {
    const s = body.beginParse();
    return s.remainingBits >= 32 ? s.loadUint(32) : -1;
}

/** TON that left `tx`'s account in internal messages (value + forward fee), by opcode. */
function internalOut(tx: Transaction): { to: Address; value: bigint; fwd: bigint; op: number }[] {
    const out = [];
    for (const m of tx.outMessages.values()) {
        if (m.info.type !== 'internal') continue;
        out.push({ to: m.info.dest, value: m.info.value.coins, fwd: m.info.forwardFee, op: opOf(m.body) });
    }
    return out;
}

function inValue(tx: Transaction): bigint {
    return tx.inMessage?.info.type === 'internal' ? tx.inMessage.info.value.coins : 0n;
}

/** What a transaction's own accounting says the balance moved by. */
function netTon(tx: Transaction): bigint {
    return inValue(tx) - internalOut(tx).reduce((a, m) => a + m.value + m.fwd, 0n) - tx.totalFees.coins;
}

/** Shard `shard` of `shards`: its share of the sequences, from its own seed. */
export function conservationSuite(shard: number, shards: number): void {
    const SEQUENCES = Math.ceil(TOTAL_SEQUENCES / shards);
    const SHARD_SEED = SEED + shard;
    describe(`conservation over random sequences (shard ${shard + 1} of ${shards})`, () => {
        let w: World;
        let base: BlockchainSnapshot;
        let escrows: Record<Kind, SandboxContract<Escrow>>;

        beforeAll(async () => {
            w = await createWorld();
            escrows = { ton: await w.deployEscrow('ton', 101n), usd: await w.deployEscrow('usd', 102n) };
            // Seed the vaults so that payouts can start at once.
            for (const kind of ['ton', 'usd'] as Kind[]) {
                await w.deposit(kind, escrows[kind], 1000n * UNIT[kind]);
                await w.release(kind, escrows[kind], 300n * UNIT[kind]);
            }
            base = w.blockchain.snapshot();
        });

        // State is read from the accounts' data with the wrappers' storage parsers (microseconds)
        // rather than get-methods (~13 ms each); the getters have their own tests.
        const balance = async (a: Address) => (await w.blockchain.getContract(a)).balance;
        const dataOf = async (a: Address): Promise<Cell | null> => {
            const st = (await w.blockchain.getContract(a)).accountState;
            return st?.type === 'active' && st.state.data ? st.state.data : null;
        };
        const jettons = async (owner: Address) => {
            const data = await dataOf(w.usd.walletAddressOf(owner));
            return data ? parseJettonWalletStorage(data).balance : 0n;
        };
        const vaultJettonBook = async (kind: Kind) => parseVaultStats(parseVaultStorage((await dataOf(w.vaults[kind].address))!).stats).jettonBalance;

        async function books(kind: Kind): Promise<Books> {
            const d = parseEscrowStorage((await dataOf(escrows[kind].address))!);
            return { deposited: d.deposited, released: d.released, fees: d.feesPaid, refunded: d.refunded, closed: d.state === 1n };
        }

        /** Checks one step: escrow and vault accounting of every transaction in `res`. */
        async function checkStep(kind: Kind, res: SendMessageResult, before: { escrowTon: bigint; vaultTon: bigint; model: Books; vaultJettons: bigint }) {
            const escrow = escrows[kind];
            const vault = w.vaults[kind];
            // ---- escrow: events explain the money messages; getters equal the running sums.
            const evs = eventBodies(res.transactions, escrow.address).map(parseEscrowEvent);
            const m = { ...before.model };
            for (const e of evs) {
                if (e.kind === 'deposit') m.deposited += e.amount;
                if (e.kind === 'release') {
                    m.released += e.amount;
                    m.fees += e.fee;
                }
                if (e.kind === 'refund') m.refunded += e.amount;
                if (e.kind === 'closed') m.closed = true;
                if (e.kind === 'release_bounced' || e.kind === 'refund_bounced') throw new Error(`unexpected ${e.kind} in this world`);
            }
            expect(await books(kind)).toEqual(m);
            const budget = m.deposited - m.released - m.fees - m.refunded;
            const etx = res.transactions.filter((t) => on(t, escrow.address));
            expect(etx.reduce((a, t) => a + netTon(t), 0n)).toBe((await balance(escrow.address)) - before.escrowTon);
            const sent = (op: number) =>
                etx.flatMap(internalOut).filter((o) => o.op === op).reduce((a, o) => a + o.value, 0n);
            const relEvents = evs.filter((e) => e.kind === 'release');
            const refEvents = evs.filter((e) => e.kind === 'refund');
            if (kind === 'ton') {
                expect(sent(Op.vault_fund)).toBe(relEvents.reduce((a, e) => a + (e.kind === 'release' ? e.amount : 0n), 0n));
                expect(sent(Op.platform_fee)).toBe(relEvents.reduce((a, e) => a + (e.kind === 'release' ? e.fee : 0n), 0n));
                expect(sent(Op.escrow_refund_payment)).toBe(refEvents.reduce((a, e) => a + (e.kind === 'refund' ? e.amount : 0n), 0n));
                expect(await balance(escrow.address)).toBeGreaterThanOrEqual(budget);
            } else {
                expect(await jettons(escrow.address)).toBe(budget);
            }

            // ---- vault: every transaction is funding, a batch, a bounce or a harmless excess.
            const vevs = eventBodies(res.transactions, vault.address).map(parseVaultEvent);
            let funded = 0n;
            let paid = 0n;
            let bounced = 0n;
            for (const e of vevs) {
                if (e.kind === 'ev_vault_funded') funded += e.amount;
                if (e.kind === 'ev_batch_executed') paid += e.total;
                if (e.kind === 'ev_payout_bounced') bounced += e.amount;
            }
            const vtx = res.transactions.filter((t) => on(t, vault.address));
            if (kind === 'ton') {
                // Payout messages carry exactly the batch totals; funding and bounces bring exactly
                // the event amounts; so the balance moves by the events minus the fees.
                const payouts = vtx.flatMap(internalOut).filter((o) => o.op === 0).reduce((a, o) => a + o.value, 0n);
                expect(payouts).toBe(paid);
                const fees = vtx.reduce((a, t) => a + t.totalFees.coins + internalOut(t).reduce((b, o) => b + o.fwd, 0n), 0n);
                expect((await balance(vault.address)) - before.vaultTon).toBe(funded + bounced - paid - fees);
            } else {
                const book = await vaultJettonBook(kind);
                expect(book).toBe(before.vaultJettons + funded - paid + bounced);
                expect(await jettons(vault.address)).toBe(book);
            }
            return m;
        }

        it(`keeps every balance explained by events over ${SEQUENCES} random sequences (seed ${SHARD_SEED})`, async () => {
            const rnd = mulberry32(SHARD_SEED);
            const pick = (n: bigint) => (n <= 1n ? n : 1n + BigInt(Math.floor(rnd() * Number(n - 1n))));
            const counts: Record<string, number> = {};
            let queryId = 1n;
            for (let seq = 0; seq < SEQUENCES; seq++) {
                await w.blockchain.loadFrom(base);
                const steps = 3 + Math.floor(rnd() * 4);
                for (let step = 0; step < steps; step++) {
                    const kind: Kind = rnd() < 0.5 ? 'ton' : 'usd';
                    const escrow = escrows[kind];
                    const vault = w.vaults[kind];
                    const model = await books(kind);
                    const before = {
                        escrowTon: await balance(escrow.address),
                        vaultTon: await balance(vault.address),
                        vaultJettons: await vaultJettonBook(kind),
                        model,
                    };
                    const budget = model.deposited - model.released - model.fees - model.refunded;
                    const r = rnd();
                    let res: SendMessageResult;
                    let op: string;
                    if (r < 0.25) {
                        op = 'deposit';
                        const amount = pick(500n * UNIT[kind]);
                        res = await w.deposit(kind, escrow, amount);
                        const evs = eventBodies(res.transactions, escrow.address).map(parseEscrowEvent);
                        if (model.closed && kind === 'ton') {
                            // a TON deposit to a closed escrow bounces back to the client
                            expect(evs).toEqual([]);
                            expect(res.transactions).toHaveTransaction({ to: escrow.address, success: false, exitCode: EscrowError.closed });
                            op = 'deposit-refused';
                        } else {
                            // jettons from the escrow's own wallet are booked in every state (the
                            // client takes them back with a refund once closed)
                            expect(evs.map((e) => (e.kind === 'deposit' ? e.amount : -1n))).toEqual([amount]);
                        }
                    } else if (r < 0.5) {
                        const over = rnd() < 0.1;
                        const amount = over ? budget + 1n : pick((budget * 10000n) / (10000n + FEE_BPS));
                        if (amount <= 0n) continue;
                        res = await w.release(kind, escrow, amount);
                        const evs = eventBodies(res.transactions, escrow.address).map(parseEscrowEvent);
                        const fits = !model.closed && amount + releaseFee(amount, FEE_BPS) <= budget;
                        op = fits ? 'release' : 'release-refused';
                        if (fits) {
                            expect(evs[0]).toMatchObject({ kind: 'release', amount, fee: releaseFee(amount, FEE_BPS) });
                        } else {
                            expect(evs).toEqual([]);
                            expect(res.transactions).toHaveTransaction({
                                to: escrow.address,
                                success: false,
                                exitCode: model.closed ? EscrowError.closed : EscrowError.insufficientBudget,
                            });
                        }
                    } else if (r < 0.8) {
                        op = 'payout';
                        const available = kind === 'ton' ? before.vaultTon - 2n * TON : before.vaultJettons;
                        const n = 1 + Math.floor(rnd() * 4);
                        if (available < BigInt(n) * 1000n) continue;
                        const dests = freshAddresses(n, `seq${seq}-step${step}`);
                        const items: PayoutItem[] = dests.map((dest, i) => ({
                            itemId: BigInt(seq) * 1000n + BigInt(step) * 10n + BigInt(i),
                            // a bounceable TON payout to a wallet that doesn't exist comes back
                            bounceable: kind === 'ton' && rnd() < 0.25,
                            dest,
                            amount: pick(available / BigInt(n)),
                        }));
                        res = await w.payout(kind, items, queryId++);
                        const vevs = eventBodies(res.transactions, vault.address).map(parseVaultEvent);
                        expect(vevs[0]).toMatchObject({ kind: 'ev_batch_executed', count: n, total: items.reduce((a, it) => a + it.amount, 0n) });
                        const bouncedIds = vevs.filter((e) => e.kind === 'ev_payout_bounced').map((e) => (e.kind === 'ev_payout_bounced' ? e.itemId : 0n));
                        expect(bouncedIds.sort()).toEqual(items.filter((it) => it.bounceable).map((it) => it.itemId).sort());
                        for (const it of items) {
                            if (kind === 'usd') expect(await jettons(it.dest)).toBe(it.amount);
                            else if (!it.bounceable) expect(await balance(it.dest)).toBe(it.amount);
                        }
                    } else if (r < 0.9) {
                        op = 'close+refund';
                        if (!model.closed) await w.close(escrow);
                        const mid = { ...before, model: await books(kind), escrowTon: await balance(escrow.address), vaultTon: await balance(vault.address) };
                        res = await w.refund(kind, escrow);
                        const evs = eventBodies(res.transactions, escrow.address).map(parseEscrowEvent);
                        const left = mid.model.deposited - mid.model.released - mid.model.fees - mid.model.refunded;
                        if (left === 0n) {
                            expect(evs).toEqual([]);
                            op = 'refund-nothing';
                        } else {
                            expect(evs.find((e) => e.kind === 'refund')).toMatchObject({ amount: left });
                        }
                        await checkStep(kind, res, mid);
                        counts[op] = (counts[op] ?? 0) + 1;
                        continue;
                    } else {
                        op = 'time';
                        w.blockchain.now = (w.blockchain.now ?? 0) + 1 + Math.floor(rnd() * 7200);
                        continue;
                    }
                    if (process.env.CONSERVATION_DEBUG) console.log(seq, step, kind, op);
                    await checkStep(kind, res, before);
                    counts[op] = (counts[op] ?? 0) + 1;
                }
            }
            // every kind of step really happened, many times
            for (const op of ['deposit', 'release', 'release-refused', 'payout', 'close+refund']) {
                expect(counts[op] ?? 0).toBeGreaterThan(SEQUENCES / 50);
            }
            console.log(`conservation shard ${shard + 1}/${shards}: ${SEQUENCES} sequences, steps: ${JSON.stringify(counts)}`);
        });
    });
}
