// Parity vectors: wallet (v4r2, v5r1), escrow, vault and jetton scenarios run on @ton/sandbox
// (TON's emulator), written to devnet/data/parity-vectors.json; the Rust test engine::parity
// replays the same external messages on the devnet, one block per step, and compares hashes,
// exit codes, gas and fees. Every step is one external message: a wallet transfer (seqno
// 0, 1, ...) or a signed vault batch. The signer key is a THROWAWAY key from a public seed.
// Run from the repository root: node devnet/scripts/parity-vectors.js
'use strict';
const path = require('path');
const fs = require('fs');
const root = path.join(__dirname, '..', '..');
const nm = path.join(root, 'contracts', 'node_modules');
require(path.join(nm, 'ts-node')).register({
  transpileOnly: true,
  project: path.join(root, 'contracts', 'tsconfig.json'),
});
const { Blockchain, createShardAccount } = require(path.join(nm, '@ton/sandbox'));
const { WalletContractV4, WalletContractV5R1 } = require(path.join(nm, '@ton/ton'));
const { Address, Cell, Dictionary, beginCell, external, internal, storeMessage, toNano } = require(path.join(nm, '@ton/core'));
const { keyPairFromSeed } = require(path.join(nm, '@ton/crypto'));
const EscrowWrapper = require(path.join(root, 'contracts', 'wrappers', 'Escrow.ts'));
const VaultWrapper = require(path.join(root, 'contracts', 'wrappers', 'PayoutVault.ts'));
const MinterWrapper = require(path.join(root, 'contracts', 'wrappers', 'JettonMinter.ts'));
const WalletWrapper = require(path.join(root, 'contracts', 'wrappers', 'JettonWallet.ts'));

const NOW = 1_800_000_000;
const SEED = Buffer.alloc(32, 0x5e);
// THROWAWAY signer of the escrow / vault scenarios (public seed; devnet parity only).
const SIGNER = keyPairFromSeed(Buffer.alloc(32, 0x51));
const BALANCE = 1000n * 1_000_000_000n; // the devnet's EXTRA_WALLET_BALANCE
// The devnet's network id (config param 19; labelmint_devnet::engine::ton_config::DEVNET_GLOBAL_ID).
const DEVNET_GLOBAL_ID = 2026;

// A sandbox with the devnet's config: sandbox's default (mainnet) with param 19 = the devnet id.
async function devnetBlockchain() {
  const blockchain = await Blockchain.create();
  const params = Dictionary.loadDirect(Dictionary.Keys.Int(32), Dictionary.Values.Cell(), blockchain.config);
  params.set(19, beginCell().storeInt(DEVNET_GLOBAL_ID, 32).endCell());
  blockchain.setConfig(beginCell().storeDictDirect(params).endCell());
  return blockchain;
}

function loadCode(name) {
  const json = JSON.parse(fs.readFileSync(path.join(root, 'contracts', 'build', `${name}.compiled.json`), 'utf-8'));
  return Cell.fromBoc(Buffer.from(json.hex, 'hex'))[0];
}

function txVector(tx) {
  const d = tx.description;
  const compute = d.type === 'generic' ? d.computePhase : undefined;
  return {
    address: new Address(0, Buffer.from(tx.address.toString(16).padStart(64, '0'), 'hex')).toRawString(),
    lt: tx.lt.toString(),
    hash: tx.hash().toString('hex'),
    totalFees: tx.totalFees.coins.toString(),
    computeSkipped: !compute || compute.type !== 'vm',
    exitCode: compute && compute.type === 'vm' ? compute.exitCode : null,
    gasUsed: compute && compute.type === 'vm' ? compute.gasUsed.toString() : null,
    aborted: d.type === 'generic' ? d.aborted : null,
    outMessages: tx.outMessagesCount,
    endStatus: tx.endStatus,
  };
}

// A scenario: `wallet` (v4r2, or v5r1) is a funded account (active, or uninit when `deploy`:
// it deploys itself with its first external); `steps` are functions (ctx) => external message,
// where ctx.transfer(messages) signs the wallet's next transfer.
async function scenario(name, steps, { deploy = false, v5 = false } = {}) {
  const blockchain = await devnetBlockchain();
  blockchain.now = NOW;
  const keys = keyPairFromSeed(SEED);
  const wallet = v5
    ? WalletContractV5R1.create({ workchain: 0, publicKey: keys.publicKey })
    : WalletContractV4.create({ workchain: 0, publicKey: keys.publicKey });
  if (deploy) {
    // A funded uninit account: the wallet deploys itself with its first external.
    await blockchain.setShardAccount(wallet.address, {
      account: {
        addr: wallet.address,
        storageStats: { used: { cells: 0n, bits: 0n }, lastPaid: 0, duePayment: null, storageExtra: null },
        storage: { lastTransLt: 0n, balance: { coins: BALANCE }, state: { type: 'uninit' } },
      },
      lastTransactionLt: 0n,
      lastTransactionHash: 0n,
    });
  } else {
    await blockchain.setShardAccount(
      wallet.address,
      createShardAccount({ address: wallet.address, code: wallet.init.code, data: wallet.init.data, balance: BALANCE, workchain: 0 }),
    );
  }
  let seqno = 0;
  const ctx = {
    blockchain,
    wallet: wallet.address,
    async transfer(messages) {
      const body = await wallet.createTransfer({ seqno, secretKey: keys.secretKey, timeout: NOW + 600, sendMode: 3, messages });
      const msg = external({ to: wallet.address, body, init: deploy && seqno === 0 ? wallet.init : undefined });
      seqno += 1;
      return msg;
    },
  };
  const out = [];
  for (const step of steps) {
    const msg = await step(ctx);
    const boc = beginCell().store(storeMessage(msg)).endCell().toBoc().toString('hex');
    const res = await blockchain.sendMessage(msg);
    out.push({ externalBoc: boc, transactions: res.transactions.map(txVector) });
  }
  return { name, deploy, wallet: v5 ? 'v5r1' : 'v4r2', now: NOW, address: wallet.address.toRawString(), steps: out };
}

const transfers = (...messages) => (ctx) => ctx.transfer(messages);
const addr = (hex) => Address.parse('0:' + hex.repeat(32));

function tonVault(admin, vaultId) {
  return VaultWrapper.PayoutVault.createFromConfig(
    { signerKey: SIGNER.publicKey, timeout: 3600, windowLen: 86_400, windowLimit: 10n ** 15n, admin, jettonMaster: null, vaultId, adminDelay: VaultWrapper.DEFAULT_ADMIN_DELAY },
    loadCode('PayoutVault'),
  );
}

function escrowOf(client, vault, jettonMaster = null, projectId = 7n) {
  return EscrowWrapper.Escrow.createFromConfig(
    { projectId, signerKey: SIGNER.publicKey, deadline: 2_000_000_000, feeBps: 250, client, jettonMaster, vault, treasury: client },
    loadCode('Escrow'),
  );
}

function release(escrow, seqno, amount, value) {
  const signed = EscrowWrapper.signRelease({ escrow: escrow.address, globalId: DEVNET_GLOBAL_ID, seqno, validUntil: BigInt(NOW + 600), amount }, SIGNER.secretKey);
  return internal({ to: escrow.address, value, bounce: true, body: EscrowWrapper.buildEscrowRelease({ queryId: 3n, ...signed }) });
}

function batch(vault, queryId, items) {
  const request = VaultWrapper.buildVaultBatchRequest({ vault: vault.address, globalId: DEVNET_GLOBAL_ID, queryId, createdAt: NOW, items });
  return () => external({ to: vault.address, body: VaultWrapper.signBatch(request, SIGNER.secretKey) });
}

// TON escrow: deploy (with its vault), deposit, signed release (vault_fund + platform fee to
// the client), signed close, refund.
function escrowTonLifecycle(client) {
  const vault = tonVault(client, 1);
  const escrow = escrowOf(client, vault.address);
  const closed = EscrowWrapper.signClose({ escrow: escrow.address, globalId: DEVNET_GLOBAL_ID, seqno: 1n, validUntil: BigInt(NOW + 600) }, SIGNER.secretKey);
  return [
    transfers(
      internal({ to: vault.address, value: toNano('1'), bounce: false, init: vault.init, body: VaultWrapper.buildVaultTopUp({ queryId: 1n }) }),
      internal({ to: escrow.address, value: toNano('1'), bounce: false, init: escrow.init, body: EscrowWrapper.buildEscrowDeploy({ queryId: 1n }) }),
    ),
    transfers(internal({ to: escrow.address, value: toNano('100.01'), bounce: true, body: EscrowWrapper.buildEscrowDeposit({ queryId: 2n, amount: toNano('100') }) })),
    transfers(release(escrow, 0n, toNano('40'), toNano('0.04'))),
    transfers(internal({ to: escrow.address, value: toNano('0.03'), bounce: true, body: EscrowWrapper.buildEscrowClose({ queryId: 4n, ...closed }) })),
    transfers(internal({ to: escrow.address, value: toNano('0.04'), bounce: true, body: EscrowWrapper.buildEscrowRefund({ queryId: 5n }) })),
  ];
}

// TON vault: deploy and fund, a batch of 250 payouts to new addresses, then a batch whose
// bounceable payout to an address with no account bounces back to the vault.
function vaultBatches(admin) {
  const vault = tonVault(admin, 2);
  const items = Array.from({ length: 250 }, (_, i) => ({
    itemId: BigInt(1000 + i),
    bounceable: false,
    dest: new Address(0, Buffer.from(BigInt(0xb000 + i).toString(16).padStart(64, '0'), 'hex')),
    amount: toNano('0.1'),
  }));
  return [
    transfers(
      internal({ to: vault.address, value: toNano('1'), bounce: false, init: vault.init, body: VaultWrapper.buildVaultTopUp({ queryId: 1n }) }),
      internal({ to: vault.address, value: toNano('60'), bounce: true, body: VaultWrapper.buildVaultFund({ queryId: 2n, projectId: 9n, amount: toNano('60') }) }),
    ),
    batch(vault, 1n, items),
    batch(vault, 2n, [
      { itemId: 2001n, bounceable: false, dest: addr('c1'), amount: toNano('1') },
      { itemId: 2002n, bounceable: true, dest: addr('c2'), amount: toNano('2') },
    ]),
  ];
}

// Test USD: deploy the minter (admin: the wallet), mint to the wallet, deploy a jetton vault and
// a jetton escrow (both learn their jetton wallets, TEP-89), deposit by jetton transfer with a
// notification, signed jetton release to the vault.
function jettonDepositRelease(wallet) {
  const walletCode = loadCode('JettonWallet');
  const minter = MinterWrapper.JettonMinter.createFromConfig(
    { totalSupply: 0n, admin: wallet, walletCode, content: MinterWrapper.offchainContentCell(MinterWrapper.TEST_USD_METADATA_URL) },
    loadCode('JettonMinter'),
  );
  const vault = VaultWrapper.PayoutVault.createFromConfig(
    { signerKey: SIGNER.publicKey, timeout: 3600, windowLen: 86_400, windowLimit: 10n ** 15n, admin: wallet, jettonMaster: minter.address, vaultId: 3, adminDelay: VaultWrapper.DEFAULT_ADMIN_DELAY },
    loadCode('PayoutVault'),
  );
  const escrow = escrowOf(wallet, vault.address, minter.address, 8n);
  const usd = 1_000_000n;
  const mint = MinterWrapper.buildLabelmintMint({
    queryId: 1n,
    to: wallet,
    tonAmount: toNano('0.05'),
    masterMsg: WalletWrapper.buildInternalTransfer({ queryId: 1n, amount: 10_000n * usd, from: wallet, responseAddress: wallet, forwardTonAmount: 0n, forwardPayload: null }),
  });
  const deposit = WalletWrapper.buildTransfer({
    queryId: 2n,
    amount: 5_000n * usd,
    destination: escrow.address,
    responseDestination: wallet,
    customPayload: null,
    forwardTonAmount: EscrowWrapper.EscrowAttach.jettonDepositForward,
    forwardPayload: null,
  });
  const myJettonWallet = WalletWrapper.jettonWalletAddress(wallet, minter.address, walletCode);
  return [
    transfers(internal({ to: minter.address, value: toNano('0.1'), bounce: false, init: minter.init, body: beginCell().endCell() })),
    transfers(internal({ to: minter.address, value: toNano('0.1'), bounce: true, body: mint })),
    transfers(
      internal({ to: vault.address, value: toNano('1'), bounce: false, init: vault.init, body: VaultWrapper.buildVaultTopUp({ queryId: 1n }) }),
      internal({ to: escrow.address, value: toNano('1'), bounce: false, init: escrow.init, body: EscrowWrapper.buildEscrowDeploy({ queryId: 1n }) }),
    ),
    transfers(internal({ to: myJettonWallet, value: EscrowWrapper.EscrowAttach.jettonDepositForward + toNano('0.05'), bounce: true, body: deposit })),
    transfers(release(escrow, 0n, 1_200n * usd, EscrowWrapper.EscrowAttach.releaseJetton)),
  ];
}

(async () => {
  const keys = keyPairFromSeed(SEED);
  const walletAddress = WalletContractV4.create({ workchain: 0, publicKey: keys.publicKey }).address;
  const to = (hex, value, bounce) => internal({ to: addr(hex), value, bounce });
  const vectors = {
    source: 'devnet/scripts/parity-vectors.js',
    sandboxVersion: require(path.join(nm, '@ton/sandbox/package.json')).version,
    seedHex: SEED.toString('hex'),
    balance: BALANCE.toString(),
    // The contract code the vectors were made with (labelmint-abi embeds the same build).
    codeHashes: Object.fromEntries(['Escrow', 'PayoutVault', 'JettonMinter', 'JettonWallet'].map((n) => [n, loadCode(n).hash().toString('hex')])),
    scenarios: [
      await scenario('v4r2_transfer_to_new_address', [transfers(to('21', toNano('1'), false))]),
      await scenario('v4r2_bounce_from_nobody', [transfers(to('77', toNano('2'), true))]),
      await scenario('v4r2_deploy_with_first_transfer', [transfers(to('21', toNano('1'), false))], { deploy: true }),
      await scenario('v5r1_deploy_and_transfers', [
        transfers(to('21', toNano('1'), false)),
        transfers(to('22', toNano('2'), false), to('77', toNano('3'), true)),
      ], { deploy: true, v5: true }),
      await scenario('escrow_ton_deposit_release_close_refund', escrowTonLifecycle(walletAddress)),
      await scenario('vault_batch_of_250_and_a_bounce', vaultBatches(walletAddress)),
      await scenario('jetton_deposit_and_release', jettonDepositRelease(walletAddress)),
    ],
  };
  const out = path.join(__dirname, '..', 'data', 'parity-vectors.json');
  fs.writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n');
  for (const s of vectors.scenarios) {
    console.log(s.name, s.steps.map((st) => st.transactions.map((t) => `${t.exitCode}/${t.gasUsed}/${t.totalFees}`).join(' ')).join(' | '));
  }
})().catch((e) => { console.error(e); process.exit(1); });
