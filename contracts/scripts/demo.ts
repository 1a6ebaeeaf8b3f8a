// `make up` (for now): the money flow of LabelMint Pay end to end on @ton/sandbox with the
// committed contract code. A client funds a TON and a USD project, the signer releases part of
// each budget to the payout vaults, the vaults pay workers in one batch each (one TON payout
// bounces from a wallet that does not exist), the TON project is closed and refunded.
// Prints addresses, every transaction with its result and fees, decoded events and balances.
import { Address, fromNano } from '@ton/core';
import { SendMessageResult } from '@ton/sandbox';
import { createWorld, freshAddresses, Kind, TON } from './world';
import { describe, Names } from './report';
import { PayoutItem } from '../wrappers/PayoutVault';
import { TEST_USD } from '../wrappers/JettonMinter';

function fmt(kind: Kind, v: bigint): string {
    if (kind === 'ton') return `${fromNano(v)} TON`;
    const whole = v / TEST_USD;
    const frac = (v % TEST_USD).toString().padStart(6, '0');
    return `${whole}.${frac} USD`;
}

async function main() {
    const w = await createWorld();
    const names = new Names();
    names.set(w.admin.address, 'platform-admin');
    names.set(w.client.address, 'client');
    names.set(w.relayer.address, 'relayer');
    names.set(w.treasury.address, 'treasury');
    names.set(w.usd.minter.address, 'usd-minter');
    names.set(w.vaults.ton.address, 'ton-vault');
    names.set(w.vaults.usd.address, 'usd-vault');

    const step = (title: string, res: SendMessageResult) => {
        console.log(`\n== ${title}`);
        for (const line of describe(res.transactions, names)) console.log(line);
    };

    const tonEscrow = await w.deployEscrow('ton', 1n);
    const usdEscrow = await w.deployEscrow('usd', 2n);
    names.set(tonEscrow.address, 'ton-escrow#1');
    names.set(usdEscrow.address, 'usd-escrow#2');
    for (const [owner, label] of [
        [w.client.address, 'client'],
        [usdEscrow.address, 'usd-escrow#2'],
        [w.vaults.usd.address, 'usd-vault'],
        [w.treasury.address, 'treasury'],
    ] as [Address, string][]) {
        names.set(w.usd.walletAddressOf(owner), `${label}.usdw`);
    }

    console.log('LabelMint Pay — demo on @ton/sandbox (committed contract code, throwaway signer key)');
    console.log(`  signer public key  ${w.signer.publicKey.toString('hex')}`);
    for (const [label, a] of [
        ['test USD minter', w.usd.minter.address],
        ['TON vault', w.vaults.ton.address],
        ['USD vault', w.vaults.usd.address],
        ['TON escrow #1', tonEscrow.address],
        ['USD escrow #2', usdEscrow.address],
    ] as [string, Address][]) {
        console.log(`  ${label.padEnd(18)} ${a.toString()}`);
    }

    step('client deposits 100 TON into project #1', await w.deposit('ton', tonEscrow, 100n * TON));
    step('client deposits 5,000 USD into project #2', await w.deposit('usd', usdEscrow, 5_000n * TEST_USD));
    step('signer releases 40 TON (+2.5% fee) from project #1 to the TON vault', await w.release('ton', tonEscrow, 40n * TON));
    step('signer releases 1,200 USD (+2.5% fee) from project #2 to the USD vault', await w.release('usd', usdEscrow, 1_200n * TEST_USD));

    const workers = freshAddresses(3, 'demo-workers');
    workers.forEach((a, i) => {
        names.set(a, `worker-${i + 1}`);
        names.set(w.usd.walletAddressOf(a), `worker-${i + 1}.usdw`);
    });
    const ghost = freshAddresses(1, 'demo-ghost')[0];
    names.set(ghost, 'ghost-wallet');
    const tonItems: PayoutItem[] = [
        { itemId: 1001n, bounceable: false, dest: workers[0], amount: 12n * TON },
        { itemId: 1002n, bounceable: false, dest: workers[1], amount: 7n * TON + 500_000_000n },
        { itemId: 1003n, bounceable: true, dest: ghost, amount: 3n * TON },
    ];
    step('TON vault pays a batch of 3 (item 1003 goes to a wallet that does not exist: bounces)', await w.payout('ton', tonItems, 1n));
    const usdItems: PayoutItem[] = workers.map((dest, i) => ({
        itemId: 2001n + BigInt(i),
        bounceable: true,
        dest,
        amount: BigInt(100 + 50 * i) * TEST_USD,
    }));
    step('USD vault pays a batch of 3 in test USD', await w.payout('usd', usdItems, 1n));

    step('signer closes project #1', await w.close(tonEscrow));
    step('client takes the refund of project #1', await w.refund('ton', tonEscrow));

    console.log('\n== balances');
    const t = await tonEscrow.getEscrowData();
    const u = await usdEscrow.getEscrowData();
    console.log(`  project #1 (TON): deposited ${fmt('ton', t.deposited)}, released ${fmt('ton', t.released)}, fees ${fmt('ton', t.feesPaid)}, refunded ${fmt('ton', t.refunded)}, budget ${fmt('ton', await tonEscrow.getBudget())}, state ${t.state === 1 ? 'closed' : 'active'}`);
    console.log(`  project #2 (USD): deposited ${fmt('usd', u.deposited)}, released ${fmt('usd', u.released)}, fees ${fmt('usd', u.feesPaid)}, refunded ${fmt('usd', u.refunded)}, budget ${fmt('usd', await usdEscrow.getBudget())}`);
    for (const kind of ['ton', 'usd'] as Kind[]) {
        const d = await w.vaults[kind].getVaultData();
        console.log(`  ${kind.toUpperCase()} vault: funded ${fmt(kind, d.funded)}, paid ${fmt(kind, d.paid)}, bounced back ${fmt(kind, d.bounced)}${kind === 'usd' ? `, jetton balance ${fmt(kind, d.jettonBalance)}` : ''}, TON balance ${fromNano((await w.blockchain.getContract(w.vaults[kind].address)).balance)}`);
    }
    for (const [i, a] of workers.entries()) {
        const ton = (await w.blockchain.getContract(a)).balance;
        const usd = await w.usd.walletOf(a).getWalletData().then((d) => d.balance).catch(() => 0n);
        console.log(`  worker-${i + 1}: ${fmt('ton', ton)} and ${fmt('usd', usd)}`);
    }
    console.log(`  ghost-wallet: ${fmt('ton', (await w.blockchain.getContract(ghost)).balance)} (payout bounced back to the vault)`);
    console.log(`  treasury: ${fmt('usd', await w.usd.walletOf(w.treasury.address).getWalletData().then((d) => d.balance))} in fees`);
}

main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
});
