// The escrow's TS ABI: every build<Name>/parse<Name> pair round-trips, writes the scheme's
// opcode and bit layout, and every parser refuses a wrong opcode. (The sandbox specs check the
// same builders and parsers against the compiled Tolk code.)
import { Address, beginCell, Cell } from '@ton/core';
import { keyPairFromSeed, signVerify } from '@ton/crypto';
import { Op, legQueryId } from '../wrappers/opcodes';
import * as E from '../wrappers/Escrow';
import * as R from '../wrappers/recovery';
import { plain } from './helpers/escrow-fixture';

const A = Address.parse('0:' + '11'.repeat(32));
const B = Address.parse('0:' + '22'.repeat(32));
const C = Address.parse('-1:' + '33'.repeat(32));
const MAX_COINS = (1n << 120n) - 1n;
const KEY = keyPairFromSeed(Buffer.alloc(32, 5));

type Pair = [string, number | null, (v: any) => Cell, (c: Cell) => any, any, number];

// [name, opcode, build, parse, sample, expected bit length of the sample]
const pairs: Pair[] = [
    ['EscrowDeploy', Op.escrow_deploy, E.buildEscrowDeploy, E.parseEscrowDeploy, { queryId: 2n ** 64n - 1n }, 96],
    ['EscrowDeposit', Op.escrow_deposit, E.buildEscrowDeposit, E.parseEscrowDeposit, { queryId: 1n, amount: MAX_COINS }, 96 + 124],
    [
        'ReleaseRequest',
        Op.release_request,
        E.buildReleaseRequest,
        E.parseReleaseRequest,
        { escrow: A, globalId: -239, seqno: 0xffffffffn, validUntil: 1n, amount: 5n },
        32 + 267 + 32 + 64 + 4 + 8,
    ],
    [
        'EscrowRelease',
        Op.escrow_release,
        E.buildEscrowRelease,
        E.parseEscrowRelease,
        { queryId: 3n, signature: Buffer.alloc(64, 9), request: E.buildReleaseRequest({ escrow: A, globalId: -3, seqno: 1n, validUntil: 2n, amount: 3n }) },
        96 + 512,
    ],
    ['CloseRequest', Op.close_request, E.buildCloseRequest, E.parseCloseRequest, { escrow: C, globalId: 2026, seqno: 7n, validUntil: 8n }, 32 + 267 + 32 + 64],
    [
        'EscrowClose',
        Op.escrow_close,
        E.buildEscrowClose,
        E.parseEscrowClose,
        { queryId: 4n, signature: Buffer.alloc(64, 1), request: E.buildCloseRequest({ escrow: A, globalId: -239, seqno: 1n, validUntil: 2n }) },
        96 + 512,
    ],
    ['EscrowRefund', Op.escrow_refund, E.buildEscrowRefund, E.parseEscrowRefund, { queryId: 5n }, 96],
    ['VaultFund', Op.vault_fund, E.buildVaultFund, E.parseVaultFund, { queryId: legQueryId(1, 9), projectId: 42n, amount: 1n }, 160 + 12],
    ['PlatformFee', Op.platform_fee, E.buildPlatformFee, E.parsePlatformFee, { queryId: legQueryId(2, 9), projectId: 42n, amount: 0n }, 164],
    [
        'EscrowRefundPayment',
        Op.escrow_refund_payment,
        E.buildEscrowRefundPayment,
        E.parseEscrowRefundPayment,
        { queryId: legQueryId(3, 9), projectId: 42n, amount: MAX_COINS },
        160 + 124,
    ],
    ['EvDeposit', Op.ev_deposit, E.buildEvDeposit, E.parseEvDeposit, { queryId: 1n, from: A, amount: MAX_COINS, deposited: MAX_COINS }, 611],
    ['EvRelease', Op.ev_release, E.buildEvRelease, E.parseEvRelease, { seqno: 1n, amount: 2n, fee: 0n, remaining: 3n }, 64 + 12 + 4 + 12],
    [
        'EvReleaseBounced',
        Op.ev_release_bounced,
        E.buildEvReleaseBounced,
        E.parseEvReleaseBounced,
        { queryId: legQueryId(1, 0), amount: 256n, remaining: 0n },
        96 + 4 + 16 + 4,
    ],
    ['EvRefund', Op.ev_refund, E.buildEvRefund, E.parseEvRefund, { queryId: legQueryId(3, 2), to: B, amount: 1n }, 96 + 267 + 12],
    ['EvRefundBounced', Op.ev_refund_bounced, E.buildEvRefundBounced, E.parseEvRefundBounced, { queryId: 6n, amount: 1n }, 96 + 12],
    ['EvClosed', Op.ev_closed, E.buildEvClosed, E.parseEvClosed, { seqno: 0xffffffffn, remaining: 0n }, 64 + 4],
    ['EvJettonWalletLearned', Op.ev_jetton_wallet_learned, E.buildEvJettonWalletLearned, E.parseEvJettonWalletLearned, { wallet: A }, 32 + 267],
    ['JettonRecover', Op.jetton_recover, R.buildJettonRecover, R.parseJettonRecover, { queryId: 1n, amount: MAX_COINS }, 96 + 124],
    ['JettonRecovery', Op.jetton_recovery, R.buildJettonRecovery, R.parseJettonRecovery, { nonce: legQueryId(4, 7) }, 96],
    [
        'EvJettonRecovered',
        Op.ev_jetton_recovered,
        R.buildEvJettonRecovered,
        R.parseEvJettonRecovered,
        { queryId: legQueryId(4, 1), amount: 0n, booked: MAX_COINS },
        96 + 4 + 124,
    ],
    ['EvJettonRecoveryFailed', Op.ev_jetton_recovery_failed, R.buildEvJettonRecoveryFailed, R.parseEvJettonRecoveryFailed, { queryId: 2n }, 96],
];

describe('Escrow TS ABI', () => {
    for (const [name, op, build, parse, sample, bits] of pairs) {
        it(`${name}: round-trips, opcode 0x${op!.toString(16)}, ${bits} bits`, () => {
            const cell = build(sample);
            expect(cell.beginParse().preloadUint(32)).toBe(op);
            expect(cell.bits.length).toBe(bits);
            expect(plain(parse(cell))).toEqual(plain(sample));
            const wrong = beginCell().storeUint(op! ^ 1, 32).storeSlice(cell.beginParse().skip(32)).endCell();
            expect(() => parse(wrong)).toThrow(/expected op/);
        });
    }

    it('parses any event by its opcode', () => {
        for (const [name, , build, , sample] of pairs.filter(([n]) => n.startsWith('Ev'))) {
            const ev = E.parseEscrowEvent(build(sample));
            expect(ev.kind).toBe(name.slice(2).replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase());
        }
        expect(() => E.parseEscrowEvent(E.buildEscrowRefund({ queryId: 1n }))).toThrow(/not an escrow event/);
    });

    it('storage and config round-trip; initial data is state 0, seqno 0, counters 0, no wallet', () => {
        const cfg: E.EscrowConfig = {
            projectId: 9n,
            signerKey: KEY.publicKey,
            deadline: 1_900_000_000,
            feeBps: 10000,
            client: A,
            jettonMaster: C,
            vault: B,
            treasury: A,
        };
        const st = E.parseEscrowStorage(E.escrowConfigToCell(cfg));
        expect(plain(st)).toEqual(
            plain({
                state: 0n,
                seqno: 0n,
                deposited: 0n,
                released: 0n,
                feesPaid: 0n,
                refunded: 0n,
                recovered: 0n,
                recoveries: 0n,
                recoverySince: 0n,
                jettonWallet: null,
                params: {
                    projectId: 9n,
                    signerKey: KEY.publicKey,
                    deadline: 1_900_000_000n,
                    feeBps: 10000n,
                    client: A,
                    jettonMaster: C,
                    routes: { vault: B, treasury: A },
                },
            }),
        );
        const full = { ...st, seqno: 5n, jettonWallet: B, deposited: MAX_COINS, recovered: MAX_COINS, recoveries: 0xffffffffn, recoverySince: 1n };
        const again = E.buildEscrowStorage(full);
        expect(plain(E.parseEscrowStorage(again))).toEqual(plain(full));
        // every counter at its widest still fits the root cell (1023 bits)
        const widest = E.buildEscrowStorage({ ...full, released: MAX_COINS, feesPaid: MAX_COINS, refunded: MAX_COINS });
        expect(widest.bits.length).toBe(8 + 32 + 5 * 124 + 32 + 32 + 267);
        // a TON escrow stores addr_none as jetton_master
        const ton = E.parseEscrowStorage(E.escrowConfigToCell({ ...cfg, jettonMaster: null }));
        expect(ton.params.jettonMaster).toBeNull();
    });

    it('signRelease / signClose sign the hash of the request cell', () => {
        const rel = E.signRelease({ escrow: A, globalId: -239, seqno: 1n, validUntil: 2n, amount: 3n }, KEY.secretKey);
        expect(signVerify(rel.request.hash(), rel.signature, KEY.publicKey)).toBe(true);
        expect(plain(E.parseReleaseRequest(rel.request))).toEqual(plain({ escrow: A, globalId: -239, seqno: 1n, validUntil: 2n, amount: 3n }));
        const cl = E.signClose({ escrow: A, globalId: -239, seqno: 1n, validUntil: 2n }, KEY.secretKey);
        expect(signVerify(cl.request.hash(), cl.signature, KEY.publicKey)).toBe(true);
        // a release and a close for the same escrow and seqno never share a hash
        expect(cl.request.hash().equals(rel.request.hash())).toBe(false);
        // the same request for another network is another signed payload
        const testnet = E.signRelease({ escrow: A, globalId: E.GlobalId.testnet, seqno: 1n, validUntil: 2n, amount: 3n }, KEY.secretKey);
        expect(testnet.request.hash().equals(rel.request.hash())).toBe(false);
        expect(E.parseReleaseRequest(testnet.request).globalId).toBe(-3);
    });

    it('leg query ids split into leg and seqno', () => {
        expect(E.parseLegQueryId(legQueryId(E.Leg.fee, 0xfffffffe))).toEqual({ leg: 2, seqno: 0xfffffffe });
        expect(legQueryId(1, 0)).toBe(1n << 32n);
    });

    it('the platform fee floors', () => {
        expect(E.releaseFee(39n, 250)).toBe(0n);
        expect(E.releaseFee(40n, 250)).toBe(1n);
        expect(E.releaseFee(10n ** 9n, 250)).toBe(25_000_000n);
    });

    it('refuses malformed keys and signatures', () => {
        expect(() => E.buildEscrowRelease({ queryId: 0n, signature: Buffer.alloc(63), request: Cell.EMPTY })).toThrow();
        expect(() => E.escrowConfigToCell({ projectId: 1n, signerKey: Buffer.alloc(31), deadline: 0, feeBps: 0, client: A, jettonMaster: null, vault: A, treasury: A })).toThrow();
    });
});
