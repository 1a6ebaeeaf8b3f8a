// Test USD fixture: deploys a minter with a known admin and mints to given owners. Used by the
// jetton, escrow and vault tests; keep the API stable.
//
//   const usd = await deployTestUsd(blockchain, admin);
//   await usd.mint(alice.address, 100n * TEST_USD);              // default 0.05 TON to the wallet
//   const w = usd.walletOf(alice.address);                       // SandboxContract<JettonWallet>
//   await w.getJettonBalance();
import { Address, Cell } from '@ton/core';
import { Blockchain, SandboxContract, SendMessageResult, TreasuryContract } from '@ton/sandbox';
import { loadCode } from '../../scripts/compile';
import {
    JettonMinter,
    offchainContentCell,
    SendMintOpts,
    TEST_USD_METADATA_URL,
} from '../../wrappers/JettonMinter';
import { JettonWallet, jettonWalletAddress } from '../../wrappers/JettonWallet';

/** Options of `mint`: everything of SendMintOpts but `to` and `amount`. */
export type MintOpts = Omit<SendMintOpts, 'to' | 'amount'>;

export interface TestUsd {
    minter: SandboxContract<JettonMinter>;
    admin: SandboxContract<TreasuryContract>;
    minterCode: Cell;
    walletCode: Cell;
    /** The owner's jetton wallet (derived off-chain; it may not be deployed yet). */
    walletOf(owner: Address): SandboxContract<JettonWallet>;
    /** The owner's jetton wallet address (derived off-chain). */
    walletAddressOf(owner: Address): Address;
    /** Mints `amount` base units to `to` (admin -> minter -> wallet of `to`). */
    mint(to: Address, amount: bigint, opts?: MintOpts): Promise<SendMessageResult>;
}

export async function deployTestUsd(
    blockchain: Blockchain,
    admin: SandboxContract<TreasuryContract>,
): Promise<TestUsd> {
    const minterCode = loadCode('JettonMinter');
    const walletCode = loadCode('JettonWallet');
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
    return {
        minter,
        admin,
        minterCode,
        walletCode,
        walletAddressOf,
        walletOf: (owner: Address) => blockchain.openContract(JettonWallet.createFromAddress(walletAddressOf(owner))),
        mint: (to: Address, amount: bigint, opts: MintOpts = {}) =>
            minter.sendMint(admin.getSender(), { ...opts, to, amount }),
    };
}
