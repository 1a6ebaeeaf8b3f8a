// Writes api/data/wallets.json from the pinned npm packages in contracts/node_modules: for wallets
// v3r2, v4r2 and v5r1 (@ton/ton), the code BOC, its hash, and one StateInit @ton/ton builds for a
// fixed public-only key, with the address it derives. labelmint-api's tests check the crate's
// embedded code hashes, its StateInit -> address check and its public-key reading against them.
// Run from the repository root (after `make node-deps`): node api/scripts/wallet-vectors.js
'use strict';
const path = require('path');
const fs = require('fs');
const nm = path.join(__dirname, '..', '..', 'contracts', 'node_modules');
const { WalletContractV3R2, WalletContractV4, WalletContractV5R1 } = require(path.join(nm, '@ton/ton'));
const { beginCell, storeStateInit } = require(path.join(nm, '@ton/core'));

const publicKey = Buffer.alloc(32, 0x5a);
const wallets = {
  v3r2: WalletContractV3R2.create({ workchain: 0, publicKey }),
  v4r2: WalletContractV4.create({ workchain: 0, publicKey }),
  v5r1: WalletContractV5R1.create({ workchain: 0, publicKey }),
};
const out = {
  source: '@ton/ton ' + require(path.join(nm, '@ton/ton/package.json')).version,
  publicKey: publicKey.toString('hex'),
  wallets: {},
};
for (const [name, w] of Object.entries(wallets)) {
  const init = beginCell().store(storeStateInit(w.init)).endCell();
  out.wallets[name] = {
    code: w.init.code.toBoc({ idx: false, crc32: true }).toString('base64'),
    codeHash: w.init.code.hash().toString('hex'),
    stateInit: init.toBoc({ idx: false, crc32: true }).toString('base64'),
    address: w.address.toRawString(),
  };
}
fs.writeFileSync(path.join(__dirname, '..', 'data', 'wallets.json'), JSON.stringify(out, null, 2) + '\n');
for (const [k, v] of Object.entries(out.wallets)) console.log(k, v.codeHash, v.address);
