// Compiles contracts into build/<name>.compiled.json (blueprint's format: { hex }, plus the
// code hash and compiler version). Run: npm run build [-- Name ...]
import { writeFileSync, mkdirSync } from 'fs';
import path from 'path';
import { CONTRACTS } from './contracts';
import { compileTolk, ROOT } from './compile';

async function main() {
    const only = process.argv.slice(2);
    const unknown = only.filter((n) => !CONTRACTS.some((c) => c.name === n));
    if (unknown.length > 0) {
        throw new Error(`unknown contract(s): ${unknown.join(', ')}; known: ${CONTRACTS.map((c) => c.name).join(', ')}`);
    }
    mkdirSync(path.join(ROOT, 'build'), { recursive: true });
    for (const c of CONTRACTS) {
        if (only.length > 0 && !only.includes(c.name)) continue;
        const out = await compileTolk(c.entrypoint);
        const file = path.join(ROOT, 'build', `${c.name}.compiled.json`);
        writeFileSync(file, JSON.stringify({ hex: out.hex, hash: out.hash, tolkVersion: out.tolkVersion }, null, 2) + '\n');
        console.log(`built ${c.name.padEnd(13)} ${out.hash} (${out.hex.length / 2} bytes)`);
    }
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
