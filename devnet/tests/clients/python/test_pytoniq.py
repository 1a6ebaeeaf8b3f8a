"""pytoniq (PyPI) against the devnet at trust levels 2 (trusts the liteserver), 1 (checks the
Merkle proofs of every answer) and 0 (also syncs the masterchain from the init block by
validator signatures). Every check compares with the devnet's own facts: its files
(faucet.json, global-config.json), the mint run.sh made, and other answers that must agree.

When a trust level cannot connect, the method checks at that level still run: they connect at
level 2 and then raise the client's trust level, so each method's own proof check is tested
(the connect check shows the start-up failure)."""

import asyncio
import base64
import os
import time

import pytest
from nacl.bindings import crypto_sign_seed_keypair
from pytoniq import LiteClient, WalletV4R2
from pytoniq_core import Address, Builder, Cell
from pytoniq_core.tlb.account import Account
from pytoniq_core.tl.block import BlockIdExt

from conftest import run

LEVELS = [pytest.param(2, id="trust2"), pytest.param(1, id="trust1"), pytest.param(0, id="trust0")]
BASECHAIN_SHARD = -(2**63)  # 0x8000000000000000 as pytoniq's signed shard id
V4R2_CODE_HASH = "feb5ff6820e2ff0d9483e7e0d62c817d846789fb4ae580c878866d959dabd5c0"
DEVNET_GLOBAL_ID = 2026


async def connect(devnet, level: int, fallback: bool = True) -> LiteClient:
    client = LiteClient.from_config(devnet.global_config, trust_level=level, timeout=10)
    try:
        await client.connect()
        return client
    except Exception:
        await client.close()
        if not fallback or level == 2:
            raise
    # The method checks still run at this level: connect trusting, then raise the level.
    client = LiteClient.from_config(devnet.global_config, trust_level=2, timeout=10)
    await client.connect()
    client.updater.cancel()  # its refresh would fail at the raised level
    client.trust_level = level
    if level == 0:
        client.last_key_block = client.init_key_block
    return client


async def last_block(client: LiteClient) -> BlockIdExt:
    """The last masterchain block, newer than the one the client synced to at connect (so at
    trust level 0 the client must prove it, whether or not its background refresh runs)."""
    synced = client.last_mc_block.seqno if client.last_mc_block else -1
    deadline = time.monotonic() + 5
    while True:
        blk = BlockIdExt.from_dict((await client.get_masterchain_info())["last"])
        if blk.seqno > synced or time.monotonic() > deadline:
            return blk
        await asyncio.sleep(0.1)


def with_client(devnet, level, check):
    async def go():
        client = await connect(devnet, level)
        try:
            return await check(client)
        finally:
            await client.close()

    return run(go())


def global_id(param19) -> int:
    """Config param 19 (global_id:int32); pytoniq leaves it as a raw slice."""
    return param19.copy().load_int(32)


def wallet_seqno(account) -> int:
    return account.storage.state.state_init.data.begin_parse().load_uint(32)


async def reference_account(client: LiteClient, address, blk: BlockIdExt):
    """The devnet's account, read from the raw getAccountState answer without the client's
    proof checks (the reference the client's own answers are compared with)."""
    address = Address(address) if isinstance(address, str) else address
    raw = await client.liteserver_request(
        "getAccountState", {"id": blk.to_dict(), "account": address.to_tl_account_id()}
    )
    if not raw["state"]:
        return None
    return Account.deserialize(Cell.one_from_boc(raw["state"]).begin_parse())


async def reference_last_tx(client: LiteClient, address):
    """(lt, hash, basechain block) of the account's last transaction, from raw answers: the
    account's storage last_trans_lt (the lt just past its last transaction, as on TON),
    lookupBlock by lt, and the account's latest transaction in listBlockTransactions."""
    address = Address(address) if isinstance(address, str) else address
    account = await reference_account(client, address, await last_block(client))
    lt = account.storage.last_trans_lt - 1
    looked = await client.liteserver_request(
        "lookupBlock", {"mode": 2, "id": {"workchain": 0, "shard": BASECHAIN_SHARD, "seqno": 0}, "lt": lt, "utime": None}
    )
    blk = BlockIdExt.from_dict(looked["id"])
    listed = await client.liteserver_request(
        "listBlockTransactions", {"id": blk.to_dict(), "mode": 7, "count": 1024, "want_proof": None}
    )
    mine = [t for t in listed["ids"] if t["account"] == address.hash_part.hex() and t["lt"] <= lt]
    assert mine, listed
    last = max(mine, key=lambda t: t["lt"])
    return last["lt"], bytes.fromhex(last["hash"]), blk


@pytest.mark.parametrize("level", LEVELS)
def test_connect(devnet, level):
    async def go():
        client = await connect(devnet, level, fallback=False)
        try:
            assert client.last_mc_block.workchain == -1
            assert client.last_mc_block.seqno >= 1
            if level == 0:
                assert client.last_key_block is not None
        finally:
            await client.close()

    run(go())


@pytest.mark.parametrize("level", LEVELS)
def test_masterchain_info(devnet, level):
    async def check(client):
        info = await client.get_masterchain_info()
        zero = devnet.global_config["validator"]["zero_state"]
        assert info["init"]["root_hash"] == base64.b64decode(zero["root_hash"]).hex()
        assert info["init"]["file_hash"] == base64.b64decode(zero["file_hash"]).hex()
        first = info["last"]["seqno"]
        await asyncio.sleep(1.0)  # a block every 400 ms
        blk = await client.get_trusted_last_mc_block()
        assert blk.seqno > first

    with_client(devnet, level, check)


@pytest.mark.parametrize("level", LEVELS)
def test_config(devnet, level):
    async def check(client):
        blk = await last_block(client)
        params = await client.get_config_params([19, 34], blk)
        assert global_id(params[19]) == DEVNET_GLOBAL_ID
        assert params[34].cur_validators.total >= 1
        everything = await client.get_config_all(blk)
        assert global_id(everything[19]) == DEVNET_GLOBAL_ID
        assert len(everything) > 20

    with_client(devnet, level, check)


@pytest.mark.parametrize("level", LEVELS)
def test_account_state(devnet, level):
    async def check(client):
        blk = await last_block(client)
        account, shard_account = await client.raw_get_account_state(devnet.faucet["address"], blk)
        assert account is not None
        assert account.storage.balance.grams > 0
        init = account.storage.state.state_init
        assert init.code.hash.hex() == V4R2_CODE_HASH
        data = init.data.begin_parse()
        data.skip_bits(64)  # seqno, wallet id
        assert data.load_bytes(32).hex() == devnet.faucet["public_key_hex"]
        assert shard_account.last_trans_lt > 0

    with_client(devnet, level, check)


@pytest.mark.parametrize("level", LEVELS)
def test_get_method_seqno(devnet, level):
    async def check(client):
        blk = await last_block(client)
        account = await reference_account(client, devnet.faucet["address"], blk)
        answer = await client.run_get_method(devnet.faucet["address"], "seqno", [], blk)
        assert answer == [wallet_seqno(account)]

    with_client(devnet, level, check)


@pytest.mark.parametrize("level", LEVELS)
def test_get_method_jetton_wallet_address(devnet, level):
    """The test USD minter's get_wallet_address for the faucet, which run.sh minted to: the
    answer must be a live jetton wallet whose get_wallet_data names the faucet and holds the
    minted amount."""

    async def check(client):
        blk = await last_block(client)
        owner = Address(devnet.faucet["address"])
        arg = Builder().store_address(owner).end_cell().begin_parse()
        answer = await client.run_get_method(devnet.faucet["jetton_minter"], "get_wallet_address", [arg], blk)
        jetton_wallet = answer[0].load_address()
        data = await client.run_get_method(jetton_wallet, "get_wallet_data", [], blk)
        assert data[0] == devnet.usd_minted
        assert data[1].load_address() == owner
        assert data[2].load_address() == Address(devnet.faucet["jetton_minter"])

    with_client(devnet, level, check)


@pytest.mark.parametrize("level", LEVELS)
def test_shards(devnet, level):
    async def check(client):
        blk = await last_block(client)
        shards = await client.get_all_shards_info(blk)
        assert [(s.workchain, s.shard) for s in shards] == [(0, BASECHAIN_SHARD)]
        shard = shards[0]
        found, _ = await client.lookup_block(0, BASECHAIN_SHARD, seqno=shard.seqno)
        assert found.root_hash == shard.root_hash
        assert found.file_hash == shard.file_hash

    with_client(devnet, level, check)


@pytest.mark.parametrize("level", LEVELS)
def test_blocks(devnet, level):
    async def check(client):
        blk = await last_block(client)
        found, header = await client.lookup_block(-1, BASECHAIN_SHARD, seqno=blk.seqno)
        assert found == blk
        assert header.info.seqno == blk.seqno
        block = await client.raw_get_block(blk)
        assert block.info.seqno == blk.seqno
        assert block.info.prev_ref.prev.seqno == blk.seqno - 1
        by_lt, _ = await client.lookup_block(-1, BASECHAIN_SHARD, lt=block.info.start_lt)
        assert by_lt == blk

    with_client(devnet, level, check)


@pytest.mark.parametrize("level", LEVELS)
def test_block_transactions_paging(devnet, level):
    async def check(client):
        lt, tx_hash, blk = await reference_last_tx(client, devnet.faucet["address"])
        whole = await client.raw_get_block_transactions(blk, count=1024)
        paged = await client.raw_get_block_transactions(blk, count=1)  # one per page, `after`
        assert [(t["account"], t["lt"], t["hash"]) for t in paged] == [
            (t["account"], t["lt"], t["hash"]) for t in whole
        ]
        faucet = Address(devnet.faucet["address"])
        mine = [t for t in whole if t["account"] == faucet and t["lt"] == lt]
        assert len(mine) == 1
        assert mine[0]["hash"] == tx_hash

    with_client(devnet, level, check)


@pytest.mark.parametrize("level", LEVELS)
def test_account_transactions(devnet, level):
    async def check(client):
        lt, tx_hash, blk = await reference_last_tx(client, devnet.faucet["address"])
        txs = await client.get_transactions(devnet.faucet["address"], 3, lt, tx_hash)
        assert len(txs) >= 2  # genesis deployment, the run.sh mint
        assert txs[0].lt == lt
        assert txs[0].cell.hash == tx_hash
        for newer, older in zip(txs, txs[1:]):
            assert newer.prev_trans_lt == older.lt
            assert newer.prev_trans_hash == older.cell.hash
        one = await client.get_one_transaction(devnet.faucet["address"], lt, blk)
        assert one.cell.hash == tx_hash

    with_client(devnet, level, check)


@pytest.mark.parametrize("level", LEVELS)
def test_transfer(devnet, level):
    """pytoniq's WalletV4R2 from the faucet seed (sha256("labelmint-devnet/" + phrase), in
    faucet.json) sends 0.05 TON to a fresh address; the chain must show it."""
    amount = 50_000_000 + level

    async def check(client):
        seed = bytes.fromhex(devnet.faucet["seed_hex"])
        _, secret = crypto_sign_seed_keypair(seed)
        wallet = await WalletV4R2.from_private_key(client, secret, version="v4r2")
        assert wallet.address == Address(devnet.faucet["address"])
        seqno = await wallet.get_seqno()
        to = Address((0, os.urandom(32)))
        await wallet.transfer(to.to_str(is_bounceable=False), amount)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            await asyncio.sleep(0.4)
            blk = await last_block(client)
            account = await reference_account(client, to, blk)
            if account is not None:
                assert account.storage.balance.grams == amount
                assert await client.run_get_method(wallet.address, "seqno", [], blk) == [seqno + 1]
                return
        raise AssertionError(f"the transfer to {to} was not on chain after 20 s")

    with_client(devnet, level, check)
