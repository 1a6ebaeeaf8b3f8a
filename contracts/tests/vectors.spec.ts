// vectors/abi.json is generated (npm run vectors) and checked by the Rust ABI crate (abi/tests/it).
// This test fails when the committed file differs from what writeVectors would write now: after a
// wrapper, scheme or contract change, rerun `npm run vectors` and commit the result, so that
// `cargo test` checks Rust against the current TypeScript.
import { readFileSync } from 'fs';
import { renderVectors, VECTORS_FILE } from '../scripts/writeVectors';

describe('vectors/abi.json', () => {
    it('is what `npm run vectors` writes now', () => {
        const committed = readFileSync(VECTORS_FILE, 'utf-8');
        const fresh = renderVectors();
        if (committed !== fresh) {
            const a = committed.split('\n');
            const b = fresh.split('\n');
            const line = a.findIndex((l, i) => l !== b[i]);
            throw new Error(
                `vectors/abi.json is stale (first difference at line ${line + 1}:\n` +
                    `  committed: ${a[line]}\n  fresh:     ${b[line]})\nrun \`npm run vectors\` and commit the result`,
            );
        }
    });

    it('covers every kind at least twice or with a reason', () => {
        const doc = JSON.parse(readFileSync(VECTORS_FILE, 'utf-8')) as { vectors: { kind: string }[] };
        const counts = new Map<string, number>();
        for (const v of doc.vectors) counts.set(v.kind, (counts.get(v.kind) ?? 0) + 1);
        const single = [...counts].filter(([kind, n]) => n < 2 && !kind.startsWith('signed_')).map(([k]) => k);
        expect(single).toEqual([]);
    });
});
