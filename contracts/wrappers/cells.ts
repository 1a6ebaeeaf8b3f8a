// Small cell helpers shared by every wrapper (no message layouts here).
import { beginCell, Cell, Slice } from '@ton/core';

/** Loads a 32-bit opcode and throws unless it is `op`. */
export function expectOp(s: Slice, op: number): void {
    const got = s.loadUint(32);
    if (got !== op) {
        throw new Error(`expected op 0x${op.toString(16)}, got 0x${got.toString(16)}`);
    }
}

/** A text comment body (op 0 + UTF-8 snake string), as wallets display it. */
export function commentBody(text: string): Cell {
    return beginCell().storeUint(0, 32).storeStringTail(text).endCell();
}
