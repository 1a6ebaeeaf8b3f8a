// Compiles contracts into build/<name>.compiled.json (blueprint's format: { hex }, plus the
// code hash and compiler version). Run: npm run build [-- Name ...]
// With --check nothing is written: it fails when a committed output differs from a fresh
// compile (make test runs this before jest, so stale build outputs never pass CI).
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'fs';
import path from 'path';
import { CONTRACTS } from './contracts';
import { compileTolk, ROOT } from './compile';

async function main() {
    const args = process.argv.slice(2);
    const check = args.includes('--check');
    const only = args.filter((a) => a !== '--check');
    let stale = 0;
    const unknown = only.filter((n) => !CONTRACTS.some((c) => c.name === n));
    if (unknown.length > 0) {
        throw new Error(`unknown contract(s): ${unknown.join(', ')}; known: ${CONTRACTS.map((c) => c.name).join(', ')}`);
    }
    mkdirSync(path.join(ROOT, 'build'), { recursive: true });
    for (const c of CONTRACTS) {
        if (only.length > 0 && !only.includes(c.name)) continue;
        const out = await compileTolk(c.entrypoint);
        const file = path.join(ROOT, 'build', `${c.name}.compiled.json`);
        const json = JSON.stringify({ hex: out.hex, hash: out.hash, tolkVersion: out.tolkVersion }, null, 2) + '\n';
        if (check) {
            const same = existsSync(file) && readFileSync(file, 'utf-8') === json;
            console.log(`${same ? 'up to date' : 'STALE     '} ${c.name.padEnd(13)} ${out.hash}`);
            if (!same) stale++;
            continue;
        }
        writeFileSync(file, json);
        console.log(`built ${c.name.padEnd(13)} ${out.hash} (${out.hex.length / 2} bytes)`);
    }
    if (stale > 0) {
        throw new Error(`${stale} committed build output(s) differ from the sources: run 'npm run build' in contracts/ and commit build/`);
    }
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
