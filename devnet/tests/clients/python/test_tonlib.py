"""The official tonlib (libtonlibjson, the prebuilt library shipped in the PyPI package pytonlib,
driven through pytonlib's TonlibClient) against the devnet's global-config.json: it connects,
syncs from the init block (tonlib checks the masterchain from there by validator signatures),
then answers masterchain info, account state, a get-method, transactions and a send.

tonlib is started and synced once for the module; a check that needs a synced tonlib fails at
once with the sync's error when the sync failed (bounded: SYNC_TIMEOUT)."""

import asyncio
import base64
import os
import tempfile
import time

import pytest
from nacl.bindings import crypto_sign_seed_keypair
from pytoniq import WalletV4R2
from pytoniq_core import Address, Cell
from pytonlib import TonlibClient

SYNC_TIMEOUT = 20.0
CALL_TIMEOUT = 10.0
V4R2_WALLET_ID = 698983191  # the basechain default, as the devnet's faucet uses
V4R2_CODE_HASH = "feb5ff6820e2ff0d9483e7e0d62c817d846789fb4ae580c878866d959dabd5c0"


class Tonlib:
    def __init__(self, devnet):
        self.loop = asyncio.new_event_loop()
        self.keystore = tempfile.TemporaryDirectory(prefix="tonlib-keystore-")
        self.client = TonlibClient(
            0, devnet.global_config, self.keystore.name, loop=self.loop, tonlib_timeout=CALL_TIMEOUT
        )
        self.synced = None
        self.sync_error = None
        try:
            self.run(self.client.init(), CALL_TIMEOUT)
            self.synced = self.run(self.client.sync_tonlib(), SYNC_TIMEOUT)
        except BaseException as e:  # noqa: BLE001 (reported by every check that needs the sync)
            self.sync_error = e

    def run(self, coro, timeout=CALL_TIMEOUT):
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    def call(self, coro):
        """A call that needs the synced tonlib."""
        if self.sync_error is not None:
            coro.close()
            raise AssertionError(f"tonlib did not sync: {type(self.sync_error).__name__}: {self.sync_error}")
        return self.run(coro)

    def close(self):
        try:
            self.run(self.client.close())
        finally:
            self.loop.close()
            self.keystore.cleanup()


@pytest.fixture(scope="module")
def tonlib(devnet):
    t = Tonlib(devnet)
    yield t
    t.close()


def test_sync(tonlib):
    if tonlib.sync_error is not None:
        raise tonlib.sync_error
    assert tonlib.synced["workchain"] == -1
    assert tonlib.synced["seqno"] >= 1


def test_masterchain_info(tonlib, devnet):
    info = tonlib.call(tonlib.client.get_masterchain_info())
    zero = devnet.global_config["validator"]["zero_state"]
    assert info["init"]["root_hash"] == zero["root_hash"]
    assert info["last"]["seqno"] >= tonlib.synced["seqno"]


def faucet_state(tonlib, devnet):
    state = tonlib.call(tonlib.client.raw_get_account_state(devnet.faucet["address"]))
    code = Cell.one_from_boc(base64.b64decode(state["code"]))
    data = Cell.one_from_boc(base64.b64decode(state["data"]))
    return state, code, data


def test_account_state(tonlib, devnet):
    state, code, data = faucet_state(tonlib, devnet)
    assert int(state["balance"]) > 0
    assert code.hash.hex() == V4R2_CODE_HASH
    s = data.begin_parse()
    s.skip_bits(64)
    assert s.load_bytes(32).hex() == devnet.faucet["public_key_hex"]


def test_get_method(tonlib, devnet):
    _, _, data = faucet_state(tonlib, devnet)
    answer = tonlib.call(tonlib.client.raw_run_method(devnet.faucet["address"], "seqno", []))
    assert answer["exit_code"] == 0
    assert int(answer["stack"][0][1], 16) == data.begin_parse().load_uint(32)


def test_transactions(tonlib, devnet):
    state, _, _ = faucet_state(tonlib, devnet)
    last = state["last_transaction_id"]
    txs = tonlib.call(
        tonlib.client.raw_get_transactions(
            devnet.faucet["address"], last["lt"], base64.b64decode(last["hash"]).hex()
        )
    )["transactions"]
    assert len(txs) >= 2  # genesis deployment, the run.sh mint
    assert txs[0]["transaction_id"]["lt"] == last["lt"]
    assert txs[0]["transaction_id"]["hash"] == last["hash"]
    for newer, older in zip(txs, txs[1:]):
        assert int(newer["transaction_id"]["lt"]) > int(older["transaction_id"]["lt"])


def test_send(tonlib, devnet):
    """A faucet transfer (signed offline by pytoniq's WalletV4R2 body builder, the external
    wrapped by pytoniq_core) sent through tonlib's raw.sendMessage, then seen through tonlib."""
    _, code, data = faucet_state(tonlib, devnet)
    seqno = data.begin_parse().load_uint(32)
    _, secret = crypto_sign_seed_keypair(bytes.fromhex(devnet.faucet["seed_hex"]))
    to = Address((0, os.urandom(32)))
    amount = 50_000_007
    msg = WalletV4R2.create_wallet_internal_message(destination=to, value=amount, bounce=False)
    body = WalletV4R2.raw_create_transfer_msg(secret, seqno, V4R2_WALLET_ID, [msg])
    ext = WalletV4R2.create_external_msg(dest=Address(devnet.faucet["address"]), body=body)
    tonlib.call(tonlib.client.raw_send_message(ext.serialize().to_boc()))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(0.4)
        state = tonlib.call(tonlib.client.raw_get_account_state(to.to_str()))
        if int(state["balance"]) > 0:
            assert int(state["balance"]) == amount
            return
    raise AssertionError(f"the transfer to {to} was not seen through tonlib after 20 s")
