// The committed build outputs (build/*.compiled.json) must be exactly what the Tolk sources
// compile to now: the Rust ABI crate and the devnet embed these files.
import { readFileSync } from 'fs';
import path from 'path';
import { CONTRACTS } from '../scripts/contracts';
import { compileTolk, ROOT } from '../scripts/compile';

describe('committed build outputs', () => {
    for (const c of CONTRACTS) {
        it(`${c.name} matches a fresh compile of ${c.entrypoint}`, async () => {
            const committed = JSON.parse(readFileSync(path.join(ROOT, 'build', `${c.name}.compiled.json`), 'utf-8'));
            const fresh = await compileTolk(c.entrypoint);
            expect(committed.hash).toBe(fresh.hash);
            expect(committed.hex).toBe(fresh.hex);
            expect(committed.tolkVersion).toBe(fresh.tolkVersion);
        });
    }
});
