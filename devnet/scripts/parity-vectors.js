// Parity vectors: wallet v4r2 and escrow scenarios run on @ton/sandbox (TON's emulator),
// written to devnet/data/parity-vectors.json; the Rust test engine::parity replays the same
// external messages on the devnet, one block per step, and compares hashes, exit codes, gas
// and fees. Run from the repository root: node devnet/scripts/parity-vectors.js
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
const { WalletContractV4 } = require(path.join(nm, '@ton/ton'));
const { Address, Cell, beginCell, external, internal, storeMessage, toNano } = require(path.join(nm, '@ton/core'));
const { keyPairFromSeed } = require(path.join(nm, '@ton/crypto'));
const EscrowWrapper = require(path.join(root, 'contracts', 'wrappers', 'Escrow.ts'));

const NOW = 1_800_000_000;
const SEED = Buffer.alloc(32, 0x5e);
const BALANCE = 1000n * 1_000_000_000n; // the devnet's EXTRA_WALLET_BALANCE

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

// steps: one array of internal messages per external the wallet sends (seqno 0, 1, ...)
async function scenario(name, steps, deploy = false) {
  const blockchain = await Blockchain.create();
  blockchain.now = NOW;
  const keys = keyPairFromSeed(SEED);
  const wallet = WalletContractV4.create({ workchain: 0, publicKey: keys.publicKey });
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
  const out = [];
  for (let seqno = 0; seqno < steps.length; seqno++) {
    const body = await wallet.createTransfer({
      seqno,
      secretKey: keys.secretKey,
      timeout: NOW + 600,
      sendMode: 3,
      messages: steps[seqno],
    });
    const msg = external({ to: wallet.address, body, init: deploy && seqno === 0 ? wallet.init : undefined });
    const boc = beginCell().store(storeMessage(msg)).endCell().toBoc().toString('hex');
    const res = await blockchain.sendMessage(msg);
    out.push({ externalBoc: boc, transactions: res.transactions.map(txVector) });
  }
  return { name, deploy, now: NOW, wallet: wallet.address.toRawString(), steps: out };
}

function escrowSteps(client) {
  const escrow = EscrowWrapper.Escrow.createFromConfig(
    {
      projectId: 42n,
      signerKey: Buffer.alloc(32, 9),
      deadline: 2_000_000_000,
      feeBps: 250,
      client,
      jettonMaster: null,
      vault: Address.parse('0:' + '0a'.repeat(32)),
      treasury: Address.parse('0:' + '0b'.repeat(32)),
    },
    loadCode('Escrow'),
  );
  return [
    [internal({ to: escrow.address, value: toNano('1'), bounce: false, init: escrow.init, body: EscrowWrapper.buildEscrowDeploy({ queryId: 1n }) })],
    [internal({ to: escrow.address, value: toNano('5.1'), bounce: true, body: EscrowWrapper.buildEscrowDeposit({ queryId: 2n, amount: toNano('5') }) })],
  ];
}

(async () => {
  const keys = keyPairFromSeed(SEED);
  const walletAddress = WalletContractV4.create({ workchain: 0, publicKey: keys.publicKey }).address;
  const to = (hex, value, bounce) => [internal({ to: Address.parse('0:' + hex.repeat(32)), value, bounce })];
  const vectors = {
    source: 'devnet/scripts/parity-vectors.js',
    sandboxVersion: require(path.join(nm, '@ton/sandbox/package.json')).version,
    seedHex: SEED.toString('hex'),
    balance: BALANCE.toString(),
    scenarios: [
      await scenario('v4r2_transfer_to_new_address', [to('21', toNano('1'), false)]),
      await scenario('v4r2_bounce_from_nobody', [to('77', toNano('2'), true)]),
      await scenario('v4r2_deploy_with_first_transfer', [to('21', toNano('1'), false)], true),
      await scenario('escrow_deploy_and_ton_deposit', escrowSteps(walletAddress)),
    ],
  };
  const out = path.join(__dirname, '..', 'data', 'parity-vectors.json');
  fs.writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n');
  for (const s of vectors.scenarios) {
    console.log(s.name, s.steps.map((st) => st.transactions.map((t) => `${t.exitCode}/${t.gasUsed}/${t.totalFees}`).join(' ')).join(' | '));
  }
})().catch((e) => { console.error(e); process.exit(1); });
