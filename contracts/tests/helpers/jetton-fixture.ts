// Test USD fixture: deploys a minter with a known admin and mints to given owners. Used by the
// jetton, escrow and vault tests; keep the API stable.
//
//   const usd = await deployTestUsd(blockchain, admin);
//   await usd.mint(alice.address, 100n * TEST_USD);              // default 0.05 TON to the wallet
//   const w = usd.walletOf(alice.address);                       // SandboxContract<JettonWallet>
//   await w.getJettonBalance();
//
// USDT's lock (call_to + set_status from the admin):
//
//   await usd.setStatus(worker.address, WalletStatus.receiveLocked);   // refuses incoming transfers
//   await usd.setStatus(worker.address, WalletStatus.unlocked);
//
// Library mode, as USDT runs on mainnet: `deployTestUsd(blockchain, admin, { library: true })`
// publishes the wallet code in `blockchain.libs` (config param 45 style) and gives the minter a
// library cell referencing it as wallet code; every wallet's StateInit then carries that library
// cell, and addresses are derived from it (`usd.walletCode` is the library cell in that mode).
import { Address, beginCell, Cell, Dictionary } from '@ton/core';
import { Blockchain, SandboxContract, SendMessageResult, TreasuryContract } from '@ton/sandbox';
import { loadCode } from '../../scripts/compile';
import {
    JettonMinter,
    offchainContentCell,
    SendMintOpts,
    TEST_USD_METADATA_URL,
} from '../../wrappers/JettonMinter';
import { JettonWallet, jettonWalletAddress, libraryCell } from '../../wrappers/JettonWallet';

export { WalletStatus } from '../../wrappers/JettonWallet';

/** Options of `mint`: everything of SendMintOpts but `to` and `amount`. */
export type MintOpts = Omit<SendMintOpts, 'to' | 'amount'>;

export interface DeployTestUsdOpts {
    /** Deploy wallets with a library cell as code (USDT's mainnet layout). Default false. */
    library?: boolean;
}

export interface TestUsd {
    minter: SandboxContract<JettonMinter>;
    admin: SandboxContract<TreasuryContract>;
    minterCode: Cell;
    /** The wallet code as the minter stores it and wallets carry it: a library cell in library mode. */
    walletCode: Cell;
    /** The compiled wallet code (what `walletCode` references in library mode). */
    walletCodeResolved: Cell;
    /** Whether wallets run from a library cell. */
    library: boolean;
    /** The owner's jetton wallet (derived off-chain; it may not be deployed yet). */
    walletOf(owner: Address): SandboxContract<JettonWallet>;
    /** The owner's jetton wallet address (derived off-chain). */
    walletAddressOf(owner: Address): Address;
    /** Mints `amount` base units to `to` (admin -> minter -> wallet of `to`). */
    mint(to: Address, amount: bigint, opts?: MintOpts): Promise<SendMessageResult>;
    /**
     * The admin sets the lock nibble of `owner`'s wallet (call_to + set_status; WalletStatus).
     * Deploys the wallet (empty) if it does not exist yet. Throws if the wallet did not take it.
     */
    setStatus(owner: Address, status: bigint): Promise<SendMessageResult>;
}

/** Adds `code` to the blockchain's libraries (keeps the ones already there). */
export function publishLibrary(blockchain: Blockchain, code: Cell): void {
    const libs = Dictionary.empty(Dictionary.Keys.Buffer(32), Dictionary.Values.Cell());
    const current = blockchain.libs;
    if (current) {
        const old = Dictionary.loadDirect(Dictionary.Keys.Buffer(32), Dictionary.Values.Cell(), current);
        for (const [k, v] of old) libs.set(k, v);
    }
    libs.set(code.hash(), code);
    blockchain.libs = beginCell().storeDictDirect(libs).endCell();
}

export async function deployTestUsd(
    blockchain: Blockchain,
    admin: SandboxContract<TreasuryContract>,
    opts: DeployTestUsdOpts = {},
): Promise<TestUsd> {
    const library = opts.library ?? false;
    const minterCode = loadCode('JettonMinter');
    const walletCodeResolved = loadCode('JettonWallet');
    if (library) publishLibrary(blockchain, walletCodeResolved);
    const walletCode = library ? libraryCell(walletCodeResolved) : walletCodeResolved;
    const minter = blockchain.openContract(
        JettonMinter.createFromConfig(
            { totalSupply: 0n, admin: admin.address, walletCode, content: offchainContentCell(TEST_USD_METADATA_URL) },
            minterCode,
        ),
    );
    const deployed = await minter.sendDeploy(admin.getSender(), 100_000_000n);
    const tx = deployed.transactions.find(
        (t) => t.inMessage?.info.dest instanceof Address && t.inMessage.info.dest.equals(minter.address),
    );
    if (!tx || tx.description.type !== 'generic' || tx.description.computePhase.type !== 'vm' || !tx.description.computePhase.success) {
        throw new Error('test USD minter deployment failed');
    }
    const walletAddressOf = (owner: Address) => jettonWalletAddress(owner, minter.address, walletCode);
    const walletOf = (owner: Address) => blockchain.openContract(JettonWallet.createFromAddress(walletAddressOf(owner)));
    return {
        minter,
        admin,
        minterCode,
        walletCode,
        walletCodeResolved,
        library,
        walletAddressOf,
        walletOf,
        mint: (to: Address, amount: bigint, mintOpts: MintOpts = {}) =>
            minter.sendMint(admin.getSender(), { ...mintOpts, to, amount }),
        setStatus: async (owner: Address, status: bigint) => {
            const res = await minter.sendSetStatus(admin.getSender(), { owner, status });
            const wallet = walletAddressOf(owner);
            const taken = res.transactions.find((t) => {
                const d = t.description;
                return (
                    t.inMessage?.info.dest instanceof Address &&
                    t.inMessage.info.dest.equals(wallet) &&
                    d.type === 'generic' &&
                    d.computePhase.type === 'vm' &&
                    d.computePhase.success
                );
            });
            if (!taken) throw new Error(`set_status ${status} was not taken by the wallet of ${owner}`);
            return res;
        },
    };
}
