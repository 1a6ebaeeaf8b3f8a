// Fixtures for the ton-lite-client checks: the running devnet's files (DEVNET_STATE_DIR), a
// connected client, and `check`, which runs a check as required or as an expected failure.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Address } from '@ton/core';
import { LiteClient, LiteSingleEngine } from 'ton-lite-client';
import { EXPECTED } from './expected.mjs';

const stateDir = process.env.DEVNET_STATE_DIR;
if (!stateDir) {
  throw new Error('DEVNET_STATE_DIR is not set: run devnet/tests/clients/run.sh');
}
export const globalConfig = JSON.parse(readFileSync(join(stateDir, 'global-config.json'), 'utf8'));
export const faucet = JSON.parse(readFileSync(join(stateDir, 'faucet.json'), 'utf8'));
// run.sh mints this many test USD base units to the faucet before the clients run.
export const usdMinted = BigInt(process.env.DEVNET_USD_MINTED ?? '0');
export const faucetAddress = Address.parse(faucet.address);
export const minterAddress = Address.parse(faucet.jetton_minter);
export const BASECHAIN_SHARD = '-9223372036854775808';
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function ip(n) {
  const u = n >>> 0;
  return [u >>> 24, (u >>> 16) & 255, (u >>> 8) & 255, u & 255].join('.');
}

export async function connect() {
  const ls = globalConfig.liteservers[0];
  const engine = new LiteSingleEngine({
    host: `tcp://${ip(ls.ip)}:${ls.port}`,
    publicKey: Buffer.from(ls.id.key, 'base64'),
  });
  const deadline = Date.now() + 10_000;
  while (!engine.isReady()) {
    if (Date.now() > deadline) throw new Error(`no ADNL connection to ${ip(ls.ip)}:${ls.port} in 10 s`);
    await sleep(20);
  }
  return new LiteClient({ engine });
}

// One check: required, or (listed in expected.mjs) an expected failure that must still fail.
export function check(name, fn) {
  const expected = EXPECTED[name];
  const reason = expected?.reason;
  test(reason ? `${name} [expected failure]` : name, async (t) => {
    const client = await connect();
    try {
      if (!reason) {
        try {
          await fn(client);
        } catch (e) {
          report(name, 'failed', undefined, e);
          throw e;
        }
        report(name, 'passed');
        return;
      }
      let error;
      try {
        await fn(client);
      } catch (e) {
        error = e;
      }
      if (!error) {
        report(name, 'xpass', reason);
        throw new Error(`XPASS: "${name}" passes now: remove it from expected.mjs (${reason})`);
      }
      if (!expected.error.test(String(error.message ?? error))) {
        report(name, 'failed', reason, error);
        throw error; // failing, but not for the expected reason
      }
      t.diagnostic(`expected failure (${reason}): ${String(error.message ?? error).slice(0, 300)}`);
      report(name, 'xfail', reason, error);
    } finally {
      client.engine.close();
    }
  });
}

function report(name, outcome, expected, error) {
  const path = process.env.CLIENTS_REPORT;
  if (!path) return;
  const row = { check: `ton-lite-client::${name}`, outcome, expected };
  if (error !== undefined) row.error = String(error?.message ?? error).slice(0, 300);
  appendFileSync(path, JSON.stringify(row) + '\n');
}

