// TEP-74 / TEP-89 message bodies (builders and parsers), shared by every wrapper and test.
import { Address, beginCell, Builder, Cell, Slice } from '@ton/core';
import { Op } from './opcodes';

export interface JettonTransfer {
    queryId: bigint;
    amount: bigint;
    destination: Address;
    responseDestination: Address | null;
    customPayload?: Cell | null;
    forwardTonAmount: bigint;
    /** Stored by reference when given (Either's right branch); empty inline otherwise. */
    forwardPayload?: Cell | null;
}

export function storeForwardPayload(b: Builder, payload: Cell | null | undefined): Builder {
    if (payload) {
        return b.storeBit(1).storeRef(payload);
    }
    return b.storeBit(0);
}

export function jettonTransferBody(t: JettonTransfer): Cell {
    const b = beginCell()
        .storeUint(Op.transfer, 32)
        .storeUint(t.queryId, 64)
        .storeCoins(t.amount)
        .storeAddress(t.destination)
        .storeAddress(t.responseDestination)
        .storeMaybeRef(t.customPayload ?? null)
        .storeCoins(t.forwardTonAmount);
    return storeForwardPayload(b, t.forwardPayload).endCell();
}

export function parseJettonTransfer(body: Cell): JettonTransfer {
    const s = body.beginParse();
    expectOp(s, Op.transfer);
    const queryId = s.loadUintBig(64);
    const amount = s.loadCoins();
    const destination = s.loadAddress();
    const responseDestination = s.loadMaybeAddress();
    const customPayload = s.loadMaybeRef();
    const forwardTonAmount = s.loadCoins();
    const forwardPayload = loadForwardPayload(s);
    return { queryId, amount, destination, responseDestination, customPayload, forwardTonAmount, forwardPayload };
}

/** Reads `Either Cell ^Cell`: the referenced cell, or the inline remainder as a cell. */
export function loadForwardPayload(s: Slice): Cell | null {
    if (s.remainingBits === 0 && s.remainingRefs === 0) return null;
    if (s.loadBit()) return s.loadRef();
    if (s.remainingBits === 0 && s.remainingRefs === 0) return null;
    return beginCell().storeSlice(s).endCell();
}

export interface TransferNotification {
    queryId: bigint;
    amount: bigint;
    sender: Address | null;
    forwardPayload: Cell | null;
}

export function transferNotificationBody(n: TransferNotification): Cell {
    const b = beginCell()
        .storeUint(Op.transfer_notification, 32)
        .storeUint(n.queryId, 64)
        .storeCoins(n.amount)
        .storeAddress(n.sender);
    return storeForwardPayload(b, n.forwardPayload).endCell();
}

export function parseTransferNotification(body: Cell): TransferNotification {
    const s = body.beginParse();
    expectOp(s, Op.transfer_notification);
    return {
        queryId: s.loadUintBig(64),
        amount: s.loadCoins(),
        sender: s.loadMaybeAddress(),
        forwardPayload: loadForwardPayload(s),
    };
}

export function internalTransferBody(t: {
    queryId: bigint;
    amount: bigint;
    from: Address | null;
    responseAddress: Address | null;
    forwardTonAmount: bigint;
    forwardPayload?: Cell | null;
}): Cell {
    const b = beginCell()
        .storeUint(Op.internal_transfer, 32)
        .storeUint(t.queryId, 64)
        .storeCoins(t.amount)
        .storeAddress(t.from)
        .storeAddress(t.responseAddress)
        .storeCoins(t.forwardTonAmount);
    return storeForwardPayload(b, t.forwardPayload).endCell();
}

export function excessesBody(queryId: bigint): Cell {
    return beginCell().storeUint(Op.excesses, 32).storeUint(queryId, 64).endCell();
}

export function burnBody(queryId: bigint, amount: bigint, responseDestination: Address | null): Cell {
    return beginCell()
        .storeUint(Op.burn, 32)
        .storeUint(queryId, 64)
        .storeCoins(amount)
        .storeAddress(responseDestination)
        .storeMaybeRef(null)
        .endCell();
}

export function provideWalletAddressBody(queryId: bigint, owner: Address, includeAddress: boolean): Cell {
    return beginCell()
        .storeUint(Op.provide_wallet_address, 32)
        .storeUint(queryId, 64)
        .storeAddress(owner)
        .storeBit(includeAddress)
        .endCell();
}

export function takeWalletAddressBody(queryId: bigint, wallet: Address | null, owner: Address | null): Cell {
    return beginCell()
        .storeUint(Op.take_wallet_address, 32)
        .storeUint(queryId, 64)
        .storeAddress(wallet)
        .storeMaybeRef(owner ? beginCell().storeAddress(owner).endCell() : null)
        .endCell();
}

/** A text comment body (op 0 + UTF-8), as wallets display it. */
export function commentBody(text: string): Cell {
    return beginCell().storeUint(0, 32).storeStringTail(text).endCell();
}

export function expectOp(s: Slice, op: number): void {
    const got = s.loadUint(32);
    if (got !== op) {
        throw new Error(`expected op 0x${op.toString(16)}, got 0x${got.toString(16)}`);
    }
}
