// Printing sandbox runs for people: named accounts, opcodes by name, exit codes, fees, decoded
// events. Used by the demo (`make up`).
import { Address, Cell, fromNano, Transaction } from '@ton/core';
import { Op } from '../wrappers/opcodes';
import { parseEscrowEvent } from '../wrappers/Escrow';
import { parseVaultEvent } from '../wrappers/PayoutVault';

const OP_NAMES = new Map<number, string>(Object.entries(Op).map(([name, op]) => [op, name]));

export class Names {
    private readonly names = new Map<string, string>();
    set(address: Address, name: string): void {
        this.names.set(address.toRawString(), name);
    }
    of(address: Address | null | undefined): string {
        if (!address) return '-';
        return this.names.get(address.toRawString()) ?? `${address.toString({ bounceable: false }).slice(0, 10)}…`;
    }
}

export function opName(body: Cell | undefined): string {
    if (!body) return 'empty';
    const s = body.beginParse();
    if (s.remainingBits < 32) return 'empty';
    const op = s.loadUint(32);
    if (op === 0) return `comment "${s.loadStringTail()}"`;
    if (op === 0xffffffff) return `bounce(${opName(body.beginParse().skip(32).asCell())})`;
    return OP_NAMES.get(op) ?? `0x${op.toString(16)}`;
}

/** One line per transaction: account, incoming op, result, fees; then its decoded events. */
export function describe(txs: Transaction[], names: Names): string[] {
    const lines: string[] = [];
    for (const tx of txs) {
        const d = tx.description;
        if (d.type !== 'generic') continue;
        const account = names.of(new Address(0, Buffer.from(tx.address.toString(16).padStart(64, '0'), 'hex')));
        const inMsg = tx.inMessage;
        const from = inMsg?.info.type === 'internal' ? names.of(inMsg.info.src) : 'external';
        const compute = d.computePhase.type === 'vm' ? `exit ${d.computePhase.exitCode}, gas ${d.computePhase.gasUsed}` : 'skipped';
        // An account without code (a fresh wallet) just takes the value: compute is skipped.
        const credited = d.computePhase.type === 'skipped' && d.bouncePhase?.type !== 'ok';
        const ok = credited || (d.computePhase.type === 'vm' && d.computePhase.success && (d.actionPhase?.success ?? true) && !d.aborted);
        const what = inMsg?.info.type === 'external-in' ? 'signed external' : opName(inMsg?.body);
        lines.push(
            `  ${ok ? 'ok ' : 'ERR'} ${account.padEnd(18)} <- ${from.padEnd(18)} ${what.padEnd(28)} ${(credited ? 'credited (no code)' : compute).padEnd(22)} fees ${fromNano(tx.totalFees.coins)}`,
        );
        for (const m of tx.outMessages.values()) {
            if (m.info.type !== 'external-out') continue;
            lines.push(`        event ${eventText(m.body)}`);
        }
    }
    return lines;
}

function eventText(body: Cell): string {
    for (const parse of [parseEscrowEvent, parseVaultEvent]) {
        try {
            const ev = parse(body) as unknown as Record<string, unknown>;
            return JSON.stringify(ev, (_, v) =>
                typeof v === 'bigint' ? v.toString() : v instanceof Address ? v.toString({ bounceable: false }) : v,
            );
        } catch {
            // try the next decoder
        }
    }
    return `undecoded ${opName(body)}`;
}
