// Collecting the external-out event bodies a contract emitted in a sandbox run.
import { Address, Cell, Transaction } from '@ton/core';

/** Event bodies emitted by `from` (external-out messages), in emission order. */
export function eventBodies(txs: Transaction[], from: Address): Cell[] {
    const out: Cell[] = [];
    for (const tx of txs) {
        for (const m of tx.outMessages.values()) {
            if (m.info.type === 'external-out' && m.info.src.equals(from)) {
                out.push(m.body);
            }
        }
    }
    return out;
}

/** The opcode of an event body. */
export function eventOp(body: Cell): number {
    return body.beginParse().preloadUint(32);
}
