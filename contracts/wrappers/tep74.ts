// Short-hand constructors for TEP-74 / TEP-89 bodies used by tests and scripts. No layout is
// written here: each function calls the one builder/parser in wrappers/JettonWallet.ts or
// wrappers/JettonMinter.ts (the TS copy of the ABI that the Rust vectors check).
import { Address, Cell } from '@ton/core';
import {
    buildBurn,
    buildExcesses,
    buildInternalTransfer,
    buildTransfer,
    buildTransferNotification,
    parseTransfer,
    parseTransferNotification as parseNotification,
    TransferFields,
    TransferNotificationFields,
} from './JettonWallet';
import { buildProvideWalletAddress, buildTakeWalletAddress } from './JettonMinter';

export { commentBody, expectOp } from './cells';

export interface JettonTransfer {
    queryId: bigint;
    amount: bigint;
    destination: Address;
    responseDestination: Address | null;
    customPayload?: Cell | null;
    forwardTonAmount: bigint;
    /** Stored by reference (Either's right branch) when given. */
    forwardPayload?: Cell | null;
}

export function jettonTransferBody(t: JettonTransfer): Cell {
    return buildTransfer({ ...t, customPayload: t.customPayload ?? null, forwardPayload: t.forwardPayload ?? null });
}

export function parseJettonTransfer(body: Cell): TransferFields {
    return parseTransfer(body);
}

export interface TransferNotification {
    queryId: bigint;
    amount: bigint;
    sender: Address | null;
    forwardPayload: Cell | null;
}

export function transferNotificationBody(n: TransferNotification): Cell {
    return buildTransferNotification(n);
}

export function parseTransferNotification(body: Cell): TransferNotificationFields {
    return parseNotification(body);
}

export function internalTransferBody(t: {
    queryId: bigint;
    amount: bigint;
    from: Address | null;
    responseAddress: Address | null;
    forwardTonAmount: bigint;
    forwardPayload?: Cell | null;
}): Cell {
    return buildInternalTransfer({ ...t, forwardPayload: t.forwardPayload ?? null });
}

export function excessesBody(queryId: bigint): Cell {
    return buildExcesses({ queryId });
}

export function burnBody(queryId: bigint, amount: bigint, responseDestination: Address | null): Cell {
    return buildBurn({ queryId, amount, responseDestination, customPayload: null });
}

export function provideWalletAddressBody(queryId: bigint, owner: Address, includeAddress: boolean): Cell {
    return buildProvideWalletAddress({ queryId, ownerAddress: owner, includeAddress });
}

export function takeWalletAddressBody(queryId: bigint, wallet: Address | null, owner: Address | null): Cell {
    return buildTakeWalletAddress({ queryId, walletAddress: wallet, ...(owner ? { ownerAddress: owner } : {}) });
}
