"""Fixtures for the third-party client checks: the running devnet's files and the expected
failures (expected.py), applied as strict xfails so a check that starts passing fails the run
until it is moved out of expected.py."""

import asyncio
import json
import os
import pathlib
import re

import pytest

from expected import EXPECTED


class Devnet:
    """What the devnet wrote into its state folder, and what run.sh did before the tests."""

    def __init__(self, state_dir: pathlib.Path):
        self.state_dir = state_dir
        self.global_config = json.loads((state_dir / "global-config.json").read_text())
        self.faucet = json.loads((state_dir / "faucet.json").read_text())
        # run.sh mints this many test USD base units to the faucet before the clients run.
        self.usd_minted = int(os.environ["DEVNET_USD_MINTED"])

    @property
    def config_path(self) -> str:
        return str(self.state_dir / "global-config.json")


@pytest.fixture(scope="session")
def devnet() -> Devnet:
    state = os.environ.get("DEVNET_STATE_DIR")
    if not state:
        pytest.exit("DEVNET_STATE_DIR is not set: run devnet/tests/clients/run.sh", returncode=2)
    return Devnet(pathlib.Path(state))


def run(coro, timeout: float = 60):
    """Runs one check's coroutine in a fresh event loop, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def pytest_collection_modifyitems(config, items):
    known = set()
    for item in items:
        key = item.nodeid.split("/")[-1]
        known.add(key)
        if key in EXPECTED:
            reason, _ = EXPECTED[key]
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
    modules = {k.split("::")[0] for k in known}
    stale = sorted(k for k in set(EXPECTED) - known if k.split("::")[0] in modules)
    if stale and not config.option.keyword:
        raise pytest.UsageError(f"expected.py names checks that do not exist: {stale}")


def _where(excinfo) -> str:
    """The client-library calls a failure went through, outermost first (which call failed)."""
    names = [e.name for e in excinfo.traceback if "site-packages/pyton" in str(e.path)]
    return " > ".join(names)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    key = item.nodeid.split("/")[-1]
    if report.when == "call" and hasattr(report, "wasxfail") and call.excinfo is not None:
        _, pattern = EXPECTED[key]
        text = f"{call.excinfo.typename}: {call.excinfo.value}"
        if not re.search(pattern, text):
            # An expected failure for another reason than the one named: a real failure.
            report.outcome = "failed"
            report.longrepr = f"expected to fail matching {pattern!r}, failed with {text}"
            del report.wasxfail
    path = os.environ.get("CLIENTS_REPORT")
    if not path or report.when != "call":
        return
    row = {"check": item.nodeid.split("/")[-1], "outcome": report.outcome}
    if hasattr(report, "wasxfail"):
        row["outcome"] = "xfail" if report.skipped else "xpass"
        row["expected"] = report.wasxfail
    elif report.failed and call.excinfo is None:
        row["outcome"] = "xpass"  # strict: reported as a failure
    if call.excinfo is not None:
        row["error"] = f"{call.excinfo.typename}: {str(call.excinfo.value)[:300]}"
        row["where"] = _where(call.excinfo)
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
