"""Checks that fail today, each tied to the devnet feature it lacks or the defect that breaks it
(applied as strict xfails by conftest.py: a listed check that passes fails the run until it is
removed from here, and one that fails for another reason than its pattern is a real failure).
None left since h/devfix: tonlib's local get-method gets McStateExtra's prev_blocks paths in
the getConfigAll mode 128 proof, and a masterchain block's state_update old side keeps every
old cell the block read (pytoniq's getBlock parses McStateExtra from it)."""

# check -> (why it fails, a regular expression its error must match)
EXPECTED: dict[str, tuple[str, str]] = {}
