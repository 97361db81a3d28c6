"""The committed schema.graphql is what the code serves, and keeps the contract's names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from schema.schema import export_sdl

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == export_sdl(), "schema.graphql is stale: run `slotwise export-schema`"


def test_export_schema_command_writes_the_same_file(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    subprocess.run([sys.executable, "-m", "slotwise.cli", "export-schema", str(target)], check=True, cwd=ROOT)
    assert target.read_text() == (ROOT / "schema.graphql").read_text()
