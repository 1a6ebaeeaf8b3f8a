// Writes the devnet's data files from the pinned npm packages in contracts/node_modules:
//   devnet/data/ton-config.boc        TON's default blockchain config (@ton/sandbox's defaultConfig)
//   devnet/data/wallet-v4r2.code.boc  wallet v4r2 code (@ton/ton's WalletContractV4)
//   devnet/data/wallet-v4r2.vector.json  one address derived by @ton/ton, checked by the Rust tests
// Run from the repository root: node devnet/scripts/extract-data.js
'use strict';
const path = require('path');
const fs = require('fs');
const nm = path.join(__dirname, '..', '..', 'contracts', 'node_modules');
const { defaultConfig, defaultConfigSeqno } = require(path.join(nm, '@ton/sandbox/dist/config/defaultConfig.js'));
const { WalletContractV4 } = require(path.join(nm, '@ton/ton'));
const { Cell } = require(path.join(nm, '@ton/core'));

const out = path.join(__dirname, '..', 'data');
fs.mkdirSync(out, { recursive: true });

const config = Cell.fromBase64(defaultConfig);
fs.writeFileSync(path.join(out, 'ton-config.boc'), config.toBoc({ idx: false, crc32: true }));

const publicKey = Buffer.alloc(32, 0x42);
const wallet = WalletContractV4.create({ workchain: 0, publicKey });
fs.writeFileSync(path.join(out, 'wallet-v4r2.code.boc'), wallet.init.code.toBoc({ idx: false, crc32: true }));
const vector = {
  publicKey: publicKey.toString('hex'),
  walletId: wallet.walletId,
  address: wallet.address.toRawString(),
  codeHash: wallet.init.code.hash().toString('hex'),
  configHash: config.hash().toString('hex'),
  configSeqno: defaultConfigSeqno,
  sandboxVersion: require(path.join(nm, '@ton/sandbox/package.json')).version,
  tonVersion: require(path.join(nm, '@ton/ton/package.json')).version,
};
fs.writeFileSync(path.join(out, 'wallet-v4r2.vector.json'), JSON.stringify(vector, null, 2) + '\n');
console.log(vector);
