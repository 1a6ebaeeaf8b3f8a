// Cross-checks the ABI's single sources: every LabelMint tag in contracts/scheme.tlb is
// crc32(name) & 0x7fffffff (TEP-74/89 and USDT's call_to / set_status keep their own tags); the
// TS Op table equals the scheme; every opcode the Tolk sources declare (struct (0x...)) is a
// scheme constructor with the same tag.
import { readFileSync, readdirSync, statSync } from 'fs';
import path from 'path';
import { crc32 } from 'zlib';
import { Op } from '../wrappers/opcodes';

const ROOT = path.resolve(__dirname, '..');
const STANDARD = new Set([
    'transfer',
    'internal_transfer',
    'transfer_notification',
    'excesses',
    'burn',
    'burn_notification',
    'provide_wallet_address',
    'take_wallet_address',
    // USDT's admin operations (ton-blockchain/stablecoin-contract): USDT's tags, kept so the test
    // USD's lock behaves like USDT's
    'call_to',
    'set_status',
]);

function schemeTags(): Map<string, number> {
    const text = readFileSync(path.join(ROOT, 'contracts', 'scheme.tlb'), 'utf-8');
    const tags = new Map<string, number>();
    for (const line of text.split('\n')) {
        if (line.trimStart().startsWith('//')) continue;
        const m = /^([a-z_0-9]+)#([0-9a-f]{8})\b/.exec(line.trim());
        if (m) {
            const prev = tags.get(m[1]);
            const tag = parseInt(m[2], 16);
            if (prev !== undefined && prev !== tag) throw new Error(`${m[1]} has two tags`);
            tags.set(m[1], tag);
        }
    }
    return tags;
}

function tolkFiles(dir: string): string[] {
    return readdirSync(dir).flatMap((f) => {
        const p = path.join(dir, f);
        if (statSync(p).isDirectory()) return tolkFiles(p);
        return p.endsWith('.tolk') ? [p] : [];
    });
}

describe('ABI scheme', () => {
    const tags = schemeTags();

    it('derives every LabelMint tag as crc32(name) & 0x7fffffff', () => {
        expect(tags.size).toBeGreaterThan(30);
        for (const [name, tag] of tags) {
            if (STANDARD.has(name)) continue;
            expect({ name, tag: (crc32(name) & 0x7fffffff) >>> 0 }).toEqual({ name, tag });
        }
    });

    it('has no two constructors with one tag', () => {
        const seen = new Map<number, string>();
        for (const [name, tag] of tags) {
            // the same event may be declared for two contracts under one name
            const other = seen.get(tag);
            if (other !== undefined) expect(other).toBe(name);
            seen.set(tag, name);
        }
    });

    it('TS Op table equals the scheme', () => {
        const fromTs = new Map(Object.entries(Op));
        expect(new Set(fromTs.keys())).toEqual(new Set(tags.keys()));
        for (const [name, tag] of tags) expect({ name, tag: fromTs.get(name) }).toEqual({ name, tag });
    });

    it('every opcode declared in the Tolk sources is a scheme tag', () => {
        const known = new Set(tags.values());
        const files = tolkFiles(path.join(ROOT, 'contracts'));
        let declared = 0;
        for (const f of files) {
            const src = readFileSync(f, 'utf-8');
            for (const m of src.matchAll(/struct\s*\(\s*0x([0-9a-fA-F]+)\s*\)\s*(\w+)/g)) {
                const tag = parseInt(m[1], 16);
                // 0xFFFFFFFE (rich bounce) and 0x00 (log bucket) are stdlib's, not ours
                if (tag === 0 || tag === 0xfffffffe) continue;
                declared++;
                if (!known.has(tag)) {
                    throw new Error(`${path.relative(ROOT, f)}: struct ${m[2]} uses 0x${m[1]}, not in scheme.tlb`);
                }
            }
        }
        expect(declared).toBeGreaterThan(20);
    });
});
