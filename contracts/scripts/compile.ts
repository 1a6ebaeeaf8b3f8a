import { readFileSync } from 'fs';
import path from 'path';
import { runTolkCompiler } from '@ton/tolk-js';
import { Cell } from '@ton/core';

export const ROOT = path.resolve(__dirname, '..');

export interface Compiled {
    hex: string;
    hash: string;
    tolkVersion: string;
}

/** Compiles one Tolk entry point (relative to contracts/) and returns its code as hex BOC. */
export async function compileTolk(entrypoint: string): Promise<Compiled> {
    const res = await runTolkCompiler({
        entrypointFileName: entrypoint,
        fsReadCallback: (p) => readFileSync(path.resolve(ROOT, p), 'utf-8'),
        optimizationLevel: 2,
        withStackComments: false,
    });
    if (res.status !== 'ok') {
        throw new Error(`tolk: ${entrypoint}: ${res.message}`);
    }
    const cell = Cell.fromBase64(res.codeBoc64);
    return {
        hex: cell.toBoc().toString('hex'),
        hash: cell.hash().toString('hex'),
        tolkVersion: res.tolkVersion,
    };
}

/** Loads committed code from build/<name>.compiled.json. */
export function loadCode(name: string): Cell {
    const json = JSON.parse(readFileSync(path.join(ROOT, 'build', `${name}.compiled.json`), 'utf-8'));
    return Cell.fromBoc(Buffer.from(json.hex, 'hex'))[0];
}
