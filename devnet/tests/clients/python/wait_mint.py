"""run.sh: waits (at most 30 s) until the test USD that run.sh minted to the faucet is in the
faucet's jetton wallet, read through pytoniq at trust level 2, so the checks start on a settled
chain (not fatal: if it never shows, the jetton checks fail and say why)."""

import asyncio
import json
import pathlib
import sys
import time

from pytoniq import LiteClient
from pytoniq_core import Address, Builder


async def main(state_dir: pathlib.Path, amount: int) -> int:
    config = json.loads((state_dir / "global-config.json").read_text())
    faucet = json.loads((state_dir / "faucet.json").read_text())
    client = LiteClient.from_config(config, trust_level=2, timeout=10)
    await client.connect()
    try:
        owner = Builder().store_address(Address(faucet["address"])).end_cell().begin_parse()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                answer = await client.run_get_method(faucet["jetton_minter"], "get_wallet_address", [owner])
                wallet = answer[0].load_address()
                data = await client.run_get_method(wallet, "get_wallet_data", [])
                if data[0] == amount:
                    return 0
            except Exception:  # noqa: BLE001 (the jetton wallet is not deployed yet)
                pass
            await asyncio.sleep(0.4)
        # Not fatal: the jetton checks then fail and say why.
        print(f"warning: the {amount} test USD minted to the faucet not seen in 30 s", file=sys.stderr)
        return 0
    finally:
        await client.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(pathlib.Path(sys.argv[1]), int(sys.argv[2]))))
