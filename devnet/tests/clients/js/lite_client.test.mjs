// ton-lite-client (npm) with @ton/core and @ton/ton's wallet class against a running devnet
// (devnet/tests/clients/run.sh starts it). Every check compares with the devnet's own facts:
// its files (faucet.json, global-config.json), the mint run.sh made, and other answers that
// must agree.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Address, Cell, TupleReader, beginCell, internal, loadAccount, loadTransaction, parseTuple, serializeTuple } from '@ton/core';
import { keyPairFromSeed } from '@ton/crypto';
import { WalletContractV4 } from '@ton/ton';
import { Functions } from 'ton-lite-client/dist/schema.js';
import { BASECHAIN_SHARD, check, faucet, faucetAddress, globalConfig, minterAddress, sleep, usdMinted } from './support.mjs';

const V4R2_CODE_HASH = 'feb5ff6820e2ff0d9483e7e0d62c817d846789fb4ae580c878866d959dabd5c0';
const DEVNET_GLOBAL_ID = 2026;

async function last(client) {
  return (await client.getMasterchainInfo()).last;
}

async function getter(client, address, method, args, block) {
  const res = await client.runMethod(address, method, serializeTuple(args).toBoc(), block);
  assert.equal(res.exitCode, 0, `${method} exit code`);
  return new TupleReader(parseTuple(Cell.fromBase64(res.result)));
}

// The devnet's account, from the raw getAccountState answer's state BOC without the client's
// parsing of the proof (the reference the client's own answers are compared with).
async function referenceAccount(client, address, block) {
  const res = await client.engine.query(Functions.liteServer_getAccountState, {
    kind: 'liteServer.getAccountState',
    id: { kind: 'tonNode.blockIdExt', ...block },
    account: { kind: 'liteServer.accountId', workchain: address.workChain, id: address.hash },
  });
  if (res.state.length === 0) return null;
  const slice = Cell.fromBoc(res.state)[0].beginParse();
  return slice.loadBit() ? loadAccount(slice) : null;
}

function walletData(account) {
  assert.equal(account.storage.state.type, 'active');
  return account.storage.state.state.data.beginParse();
}

check('masterchain info', async (client) => {
  const info = await client.getMasterchainInfo();
  const zero = globalConfig.validator.zero_state;
  assert.equal(info.init.rootHash.toString('base64'), zero.root_hash);
  assert.equal(info.init.fileHash.toString('base64'), zero.file_hash);
  assert.equal(info.last.workchain, -1);
  await sleep(1000); // a block every 400 ms
  assert.ok((await last(client)).seqno > info.last.seqno);
});

check('config', async (client) => {
  const extra = await client.getConfig(await last(client));
  const p19 = extra.config.get(19);
  assert.ok(p19, 'config param 19');
  assert.equal(p19.beginParse().loadInt(32), DEVNET_GLOBAL_ID);
  assert.ok(extra.config.get(34), 'config param 34');
});

check('account state', async (client) => {
  const state = await client.getAccountState(faucetAddress, await last(client));
  assert.ok(state.state, 'the faucet exists');
  assert.ok(state.balance.coins > 0n);
  assert.equal(state.state.storage.state.state.code.hash().toString('hex'), V4R2_CODE_HASH);
  const data = walletData(state.state);
  data.skip(64); // seqno, wallet id
  assert.equal(data.loadBuffer(32).toString('hex'), faucet.public_key_hex);
  assert.ok(state.lastTx && state.lastTx.lt > 0n);
});

check('get-method seqno', async (client) => {
  const block = await last(client);
  const account = await referenceAccount(client, faucetAddress, block);
  const seqno = (await getter(client, faucetAddress, 'seqno', [], block)).readNumber();
  assert.equal(seqno, walletData(account).loadUint(32));
});

check('get-method get_wallet_address', async (client) => {
  // The test USD minter's answer for the faucet, which run.sh minted to: a live jetton wallet
  // that names the faucet and holds the minted amount.
  const block = await last(client);
  const owner = beginCell().storeAddress(faucetAddress).endCell();
  const jettonWallet = (await getter(client, minterAddress, 'get_wallet_address', [{ type: 'slice', cell: owner }], block)).readAddress();
  const data = await getter(client, jettonWallet, 'get_wallet_data', [], block);
  assert.equal(data.readBigNumber(), usdMinted);
  assert.ok(data.readAddress().equals(faucetAddress));
  assert.ok(data.readAddress().equals(minterAddress));
});

check('shards', async (client) => {
  const block = await last(client);
  const all = await client.getAllShardsInfo(block);
  assert.deepEqual(Object.keys(all.shards), ['0']);
  assert.deepEqual(Object.keys(all.shards['0']), [BASECHAIN_SHARD]);
  const seqno = all.shards['0'][BASECHAIN_SHARD];
  const header = await client.lookupBlockByID({ workchain: 0, shard: BASECHAIN_SHARD, seqno });
  assert.equal(header.id.seqno, seqno);
  const full = await client.getFullBlock(block.seqno);
  const base = full.shards.find((s) => s.workchain === 0);
  assert.equal(base.seqno, seqno);
  assert.ok(base.rootHash.equals(header.id.rootHash));
});

check('blocks', async (client) => {
  const block = await last(client);
  const byId = await client.lookupBlockByID({ workchain: -1, shard: BASECHAIN_SHARD, seqno: block.seqno });
  assert.ok(byId.id.rootHash.equals(block.rootHash));
  assert.ok(byId.id.fileHash.equals(block.fileHash));
  const header = await client.getBlockHeader(block);
  assert.ok(header.id.rootHash.equals(block.rootHash));
  const prev = await client.lookupBlockByUtime({ workchain: -1, shard: BASECHAIN_SHARD, utime: Math.floor(Date.now() / 1000) - 1 });
  assert.ok(prev.id.seqno <= block.seqno);
});

// The faucet's last transaction (the run.sh mint or a later transfer) and its basechain block,
// from raw answers: the account's storage last_trans_lt (the lt just past its last
// transaction, as on TON), lookupBlock by lt, the account's latest transaction in the block.
async function faucetLastTx(client) {
  const account = await referenceAccount(client, faucetAddress, await last(client));
  const before = account.storage.lastTransLt - 1n;
  const header = await client.lookupBlockByLt({ workchain: 0, shard: BASECHAIN_SHARD, lt: before });
  const listed = await client.listBlockTransactions(header.id, { mode: 7, count: 1024 });
  const mine = listed.ids.filter((t) => t.account.equals(faucetAddress.hash) && BigInt(t.lt) <= before);
  assert.ok(mine.length > 0);
  const t = mine.reduce((a, b) => (BigInt(a.lt) > BigInt(b.lt) ? a : b));
  return { lt: BigInt(t.lt), hash: t.hash, block: header.id };
}

check('block transactions with paging', async (client) => {
  const { lt, hash, block } = await faucetLastTx(client);
  const whole = await client.listBlockTransactions(block, { mode: 7, count: 1024 });
  assert.equal(whole.incomplete, false);
  const paged = [];
  let after = null;
  for (let page = 0; page < 100; page++) {
    const res = await client.listBlockTransactions(block, { mode: after ? 7 | 128 : 7, count: 1, after });
    paged.push(...res.ids);
    assert.ok(res.ids.length <= 1);
    if (!res.incomplete) break;
    const t = res.ids[res.ids.length - 1];
    after = { kind: 'liteServer.transactionId3', account: t.account, lt: t.lt };
  }
  const key = (t) => `${t.account.toString('hex')}:${t.lt}:${t.hash.toString('hex')}`;
  assert.ok(whole.ids.length >= 2);
  assert.deepEqual(paged.map(key), whole.ids.map(key));
  const mine = whole.ids.filter((t) => t.account.equals(faucetAddress.hash) && BigInt(t.lt) === lt);
  assert.equal(mine.length, 1);
  assert.ok(mine[0].hash.equals(hash));
});

check('account transactions', async (client) => {
  const { lt, hash, block } = await faucetLastTx(client);
  const res = await client.getAccountTransactions(faucetAddress, lt.toString(), hash, 3);
  const txs = Cell.fromBoc(res.transactions).map((c) => ({ cell: c, tx: loadTransaction(c.beginParse()) }));
  assert.ok(txs.length >= 2); // genesis deployment, the run.sh mint
  assert.equal(txs[0].tx.lt, lt);
  assert.ok(txs[0].cell.hash().equals(hash));
  for (let i = 1; i < txs.length; i++) {
    assert.equal(txs[i - 1].tx.prevTransactionLt, txs[i].tx.lt);
    assert.equal(txs[i - 1].tx.prevTransactionHash, BigInt('0x' + txs[i].cell.hash().toString('hex')));
  }
  const one = await client.getAccountTransaction(faucetAddress, lt.toString(), block);
  assert.ok(Cell.fromBoc(one.transaction)[0].hash().equals(hash));
});

check('transfer', async (client) => {
  // @ton/ton's WalletContractV4 from the faucet seed (sha256("labelmint-devnet/" + phrase)),
  // opened on ton-lite-client's provider, sends 0.05 TON to a fresh address.
  const keys = keyPairFromSeed(Buffer.from(faucet.seed_hex, 'hex'));
  const wallet = client.open(WalletContractV4.create({ workchain: 0, publicKey: keys.publicKey }));
  assert.ok(wallet.address.equals(faucetAddress));
  const seqno = await wallet.getSeqno();
  const to = new Address(0, randomBytes(32));
  const amount = 50_000_009n;
  await wallet.sendTransfer({ seqno, secretKey: keys.secretKey, sendMode: 3, messages: [internal({ to, value: amount, bounce: false })] });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    await sleep(400);
    const block = await last(client);
    const account = await referenceAccount(client, to, block);
    if (account) {
      assert.equal(account.storage.balance.coins, amount);
      assert.equal((await getter(client, faucetAddress, 'seqno', [], block)).readNumber(), seqno + 1);
      return;
    }
  }
  assert.fail(`the transfer to ${to} was not on chain after 20 s`);
});
