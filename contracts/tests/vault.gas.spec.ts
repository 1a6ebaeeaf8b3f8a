// Gas and fees of the PayoutVault.
//
// Per-item cost of a batch, measured like highload-wallet-v3:
//   cost per item = (the vault's transaction total fees + forward fees of its outgoing messages) / items
// with distinct payloads (item ids) and recipients that do not exist yet. total fees = import fee of
// the external + gas + action fees (1/3 of each forward fee) + storage; the outgoing messages carry
// the other 2/3 of their forward fee. Printed for 1, 10, 100 and 250 items, TON and jetton vaults.
//
// Pre-accept gas: an external refused at the last check (so every check before it ran) must stay
// well under the 10,000 gas credit, with large replay dicts.
import '@ton/test-utils';
import { contractAddress, external, toNano, Transaction } from '@ton/core';
import { Blockchain, createShardAccount } from '@ton/sandbox';
import { TEST_USD } from '../wrappers/JettonMinter';
import {
    batchGasLimit,
    buildVaultBatchRequest,
    buildVaultParams,
    buildVaultStats,
    buildVaultStorage,
    commentByRef,
    DEFAULT_ADMIN_DELAY,
    GlobalId,
    PayoutVault,
    signBatch,
    VaultError,
    VaultFees,
    ZERO_VAULT_STATS,
} from '../wrappers/PayoutVault';
import { readFileSync } from 'fs';
import path from 'path';
import { deployTestUsd } from './helpers/jetton-fixture';
import { createVaultEnv, findTx, keyPair, makeItems, NOW, TIMEOUT, TON, txSucceeded, WINDOW_LEN } from './helpers/vault-fixture';
import { loadCode } from '../scripts/compile';

interface Cost {
    perItem: bigint;
    gas: bigint;
    gasFees: bigint;
    importFee: bigint;
    actionFees: bigint;
    fwdRemainder: bigint;
    total: bigint;
}

function costOf(tx: Transaction, items: number): Cost {
    let fwdRemainder = 0n;
    for (const m of tx.outMessages.values()) {
        if (m.info.type === 'internal') fwdRemainder += m.info.forwardFee;
    }
    const d = tx.description;
    if (d.type !== 'generic' || d.computePhase.type !== 'vm') throw new Error('no compute phase');
    const gasFees = d.computePhase.gasFees;
    const actionFees = d.actionPhase?.totalActionFees ?? 0n;
    const storage = d.storagePhase?.storageFeesCollected ?? 0n;
    const importFee = tx.totalFees.coins - gasFees - actionFees - storage;
    const total = tx.totalFees.coins + fwdRemainder;
    return { perItem: total / BigInt(items), gas: d.computePhase.gasUsed, gasFees, importFee, actionFees, fwdRemainder, total };
}

const fmt = (n: bigint) => (Number(n) / 1e9).toFixed(6);

function report(title: string, rows: [number, Cost][]) {
    const lines = [`${title}: cost per item (TON) = (total fees + forward fees of outgoing messages) / items`];
    lines.push('items  per-item   total      gas     gas/item  import     gas fees   action     fwd(out)');
    for (const [n, c] of rows) {
        lines.push(
            `${String(n).padEnd(6)} ${fmt(c.perItem)}  ${fmt(c.total)}  ${String(c.gas).padEnd(7)} ${String(c.gas / BigInt(n)).padEnd(9)} ${fmt(c.importFee)}  ${fmt(c.gasFees)}  ${fmt(c.actionFees)}  ${fmt(c.fwdRemainder)}`,
        );
    }
    const [n1, c1] = rows[rows.length - 2];
    const [n2, c2] = rows[rows.length - 1];
    lines.push(`marginal gas per item (${n1} -> ${n2} items): ${(c2.gas - c1.gas) / BigInt(n2 - n1)}`);
    console.log(lines.join('\n'));
}

/** Gas used by an external refused before accept, read from the emulator's log line. */
async function refusedGas(p: Promise<unknown>, code: number): Promise<number> {
    try {
        await p;
    } catch (e) {
        const err = e as { exitCode?: number; blockchainLogs?: string };
        expect(err.exitCode).toBe(code);
        const m = /gas: used=(\d+)/.exec(err.blockchainLogs ?? '');
        if (!m) throw new Error('no gas line in the emulator log');
        return Number(m[1]);
    }
    throw new Error('external was accepted');
}

describe('PayoutVault gas', () => {
    it('TON vault: per-item cost for 1, 10, 100, 250 items', async () => {
        const rows: [number, Cost][] = [];
        for (const n of [1, 10, 100, 250]) {
            const env = await createVaultEnv({ deployValue: 1000n * TON });
            const items = makeItems(n, { bounceable: true });
            const res = await env.sendBatch({ items });
            const tx = findTx(res.transactions, env.vault.address)!;
            expect(txSucceeded(tx)).toBe(true);
            expect(tx.outMessagesCount).toBe(n + 1);
            rows.push([n, costOf(tx, n)]);
        }
        report('TON payouts', rows);
        // regression guard (see fees.tolk for the measured figures)
        expect(rows[3][1].perItem).toBeLessThanOrEqual(1_360_000n);
        const marginal = (rows[3][1].gas - rows[2][1].gas) / 150n;
        expect(marginal).toBeLessThanOrEqual(1810n);
        // the gas cap the balance check reserves for (fees.tolk) covers every measured batch
        expect(marginal).toBeLessThan(BigInt(VaultFees.gasPerTonItem));
        for (const [n, c] of rows) expect(c.gas).toBeLessThan(batchGasLimit(n));
        expect(rows[0][1].gas - marginal).toBeLessThan(BigInt(VaultFees.gasBatchBase) / 2n);
    });

    it('TS mirrors (VaultFees) equal fees.tolk', () => {
        const src = readFileSync(path.join(__dirname, '..', 'contracts', 'vault', 'fees.tolk'), 'utf-8');
        const num = (name: string) => {
            const m = new RegExp(`const ${name} = (\\d+)\\b`).exec(src);
            if (!m) throw new Error(`${name} not found in fees.tolk`);
            return Number(m[1]);
        };
        const ton = (name: string) => {
            const m = new RegExp(`const ${name} = ton\\("([0-9.]+)"\\)`).exec(src);
            if (!m) throw new Error(`${name} not found in fees.tolk`);
            return toNano(m[1]);
        };
        expect({
            gasBatchBase: num('GAS_BATCH_BASE'),
            gasPerTonItem: num('GAS_PER_TON_ITEM'),
            gasPerJettonItem: num('GAS_PER_JETTON_ITEM'),
            gasPerJettonItemByRef: num('GAS_PER_JETTON_ITEM_BY_REF'),
            jettonBodyMaxBits: num('JETTON_BODY_MAX_BITS'),
            commentMaxBits: num('COMMENT_MAX_BITS'),
            minTonReserve: ton('MIN_TON_RESERVE'),
            minAttach: ton('MIN_ATTACH'),
            maxAttach: ton('MAX_ATTACH'),
        }).toEqual({
            gasBatchBase: VaultFees.gasBatchBase,
            gasPerTonItem: VaultFees.gasPerTonItem,
            gasPerJettonItem: VaultFees.gasPerJettonItem,
            gasPerJettonItemByRef: VaultFees.gasPerJettonItemByRef,
            jettonBodyMaxBits: VaultFees.jettonBodyMaxBits,
            commentMaxBits: VaultFees.commentMaxBits,
            minTonReserve: VaultFees.minTonReserve,
            minAttach: VaultFees.minAttach,
            maxAttach: VaultFees.maxAttach,
        });
        const payouts = readFileSync(path.join(__dirname, '..', 'contracts', 'vault', 'payouts.tolk'), 'utf-8');
        expect(payouts).toContain(`const MAX_INLINE_AMOUNT_BYTES = ${VaultFees.maxInlineAmountBytes}`);
    });

    it('jetton vault: per-item cost for 1, 10, 100, 250 items', async () => {
        const rows: [number, Cost][] = [];
        for (const n of [1, 10, 100, 250]) {
            const blockchain = await Blockchain.create();
            blockchain.now = NOW;
            const usd = await deployTestUsd(blockchain, await blockchain.treasury('usd-admin'));
            const env = await createVaultEnv({ blockchain, jettonMaster: usd.minter.address, deployValue: 100n * TON });
            await usd.mint(env.funder.address, 1_000_000n * TEST_USD);
            await usd.walletOf(env.funder.address).sendTransfer(env.funder.getSender(), {
                value: toNano('0.2'),
                amount: 1_000_000n * TEST_USD,
                destination: env.vault.address,
                forwardTonAmount: toNano('0.01'),
                forwardPayload: null,
            });
            const items = makeItems(n, { amount: (i) => 1_000_000n + BigInt(i) });
            const res = await env.sendBatch({ items, attach: toNano('0.05'), forwardTon: 1n });
            const tx = findTx(res.transactions, env.vault.address)!;
            expect(txSucceeded(tx)).toBe(true);
            expect(tx.outMessagesCount).toBe(n + 1);
            rows.push([n, costOf(tx, n)]);
        }
        report('jetton payouts (vault transaction only; the jetton wallets pay their own hops from attach)', rows);
        expect(rows[3][1].perItem).toBeLessThanOrEqual(1_960_000n);
        const marginal = (rows[3][1].gas - rows[2][1].gas) / 150n;
        expect(marginal).toBeLessThan(BigInt(VaultFees.gasPerJettonItem));
        for (const [n, c] of rows) expect(c.gas).toBeLessThan(batchGasLimit(n, { byRef: false }));
    });

    it('jetton vault, comment by reference (huge amounts): the gas stays under its cap', async () => {
        const rows: [number, Cost][] = [];
        for (const n of [1, 100, 250]) {
            const blockchain = await Blockchain.create();
            blockchain.now = NOW;
            const usd = await deployTestUsd(blockchain, await blockchain.treasury('usd-admin'));
            const env = await createVaultEnv({ blockchain, jettonMaster: usd.minter.address, deployValue: 100n * TON, windowLimit: (1n << 120n) - 1n });
            await usd.mint(env.vault.address, (1n << 120n) - 1n, { forwardTonAmount: toNano('0.01'), forwardPayload: null });
            const items = makeItems(n, { amount: (i) => (1n << 112n) + BigInt(i) });
            const total = items.reduce((a, it) => a + it.amount, 0n);
            // one huge item is enough on its own for the rare path
            expect(commentByRef(total, 1n)).toBe(true);
            const res = await env.sendBatch({ items, attach: toNano('0.05'), forwardTon: 1n });
            const tx = findTx(res.transactions, env.vault.address)!;
            expect(txSucceeded(tx)).toBe(true);
            expect(tx.outMessagesCount).toBe(n + 1);
            rows.push([n, costOf(tx, n)]);
        }
        report('jetton payouts, comment by reference', rows);
        const marginal = (rows[2][1].gas - rows[1][1].gas) / 150n;
        expect(marginal).toBeLessThan(BigInt(VaultFees.gasPerJettonItemByRef));
        for (const [n, c] of rows) expect(c.gas).toBeLessThan(batchGasLimit(n, { byRef: true }));
    });

    it('pre-accept gas stays well under the 10,000 gas credit, even with large replay dicts', async () => {
        const code = loadCode('PayoutVault');
        const signer = keyPair('signer');
        const lines: string[] = [];
        for (const size of [0, 1000, 20000]) {
            const blockchain = await Blockchain.create();
            blockchain.now = NOW;
            const admin = await blockchain.treasury('admin');
            const ids = (offset: number) => Array.from({ length: size }, (_, i) => BigInt(offset + i * 7919) * 1_000_003n);
            const data = buildVaultStorage({
                signerKey: signer.publicKey,
                frozen: false,
                timeout: TIMEOUT,
                lastClean: NOW,
                queries: ids(1),
                oldQueries: ids(2),
                windowLen: WINDOW_LEN,
                windowLimit: 10n ** 15n,
                windowStart: NOW,
                curSpent: 0n,
                prevSpent: 0n,
                params: buildVaultParams({ admin: admin.address, jettonMaster: null, jettonWallet: null, vaultId: 1, adminDelay: DEFAULT_ADMIN_DELAY, pending: null }),
                stats: buildVaultStats(ZERO_VAULT_STATS),
            });
            const init = { code, data };
            const vault = blockchain.openContract(new PayoutVault(contractAddress(0, init), init));
            // a state this large cannot travel in a deploy message: install the account directly
            await blockchain.setShardAccount(vault.address, createShardAccount({ address: vault.address, code, data, balance: TON }));
            // everything passes but the balance check (the last one)
            const req = buildVaultBatchRequest({ vault: vault.address, globalId: GlobalId.mainnet, queryId: 5n, createdAt: NOW, items: makeItems(250, { amount: () => 10n * TON }) });
            const gas = await refusedGas(blockchain.sendMessage(external({ to: vault.address, body: signBatch(req, signer.secretKey) })), VaultError.insufficientTon);
            lines.push(`replay dicts of ${size} + ${size} ids: ${gas} gas before refusal`);
            // the credit is 10,000: keep a margin for code changes
            expect(gas).toBeLessThan(size <= 1000 ? 7500 : 8500);
        }
        console.log(lines.join('\n'));
    });
});
