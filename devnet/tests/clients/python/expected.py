"""Checks that fail today, each tied to the devnet feature it lacks (applied as strict xfails by
conftest.py: a listed check that passes fails the run until it is removed from here)."""

EXPECTED: dict[str, str] = {}
