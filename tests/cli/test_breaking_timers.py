"""``wfdsl breaking`` with timed transitions: WF507 from the command line, and
``--db`` keeping it only where live instances have the timer armed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from wfdsl import loads
from wfdsl.cli import cli

from .helpers import ROOT

ORDER = (ROOT / "tests" / "compare" / "order.wf").read_text(encoding="utf-8")
#: The order workflow with an expiry timer on unpaid orders (line 20).
OLD = ORDER[: -len("}\n")] + "    created -> cancelled after 30m\n}\n"
#: The expiry doubled.
NEW = OLD.replace("after 30m", "after 1h")


def files(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "old.wf").write_text(OLD, encoding="utf-8")
    (tmp_path / "new.wf").write_text(NEW, encoding="utf-8")
    return str(tmp_path / "old.wf"), str(tmp_path / "new.wf")


def store_with(tmp_path: Path, paid: int, created: int) -> str:
    """A SQLite store of OLD's instances: ``paid`` in 'paid', ``created`` in 'created'."""
    from wfdsl import Manager, SQLiteStore

    path = tmp_path / "wf.db"
    store = SQLiteStore(str(path))
    mgr = Manager(
        loads(OLD), store, hooks={"card_ok": lambda ctx: True, "charge": lambda ctx: None}
    )
    for i in range(paid + created):
        mgr.start(f"o-{i}")
        if i < paid:
            mgr.send(f"o-{i}", "pay")
    store.close()
    return str(path)


def test_a_changed_timer_exits_1_with_wf507_at_the_old_timer(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["breaking", *files(tmp_path)])
    assert result.exit_code == 1
    old_path = str(tmp_path / "old.wf")
    assert result.stdout.startswith(
        f"{old_path}:20:5: WF507 timed transition 'created -> cancelled after 30m' changed to"
        " 'created -> cancelled after 1h'\n"
        "  20 |     created -> cancelled after 30m\n"
    )
    assert "= help: instances already waiting in 'created' have it armed as it was" in result.stdout
    assert result.stdout.endswith("Found 1 breaking change.\n")


def test_json_names_the_new_code(tmp_path: Path) -> None:
    import json

    result = CliRunner().invoke(cli, ["breaking", "--format", "json", *files(tmp_path)])
    (finding,) = json.loads(result.stdout)
    assert (finding["code"], finding["line"], finding["severity"]) == ("WF507", 20, "error")


@pytest.mark.parametrize(("created", "exit_code"), [(0, 0), (2, 1)])
def test_db_keeps_a_changed_timer_only_when_instances_wait_in_its_state(
    tmp_path: Path, created: int, exit_code: int
) -> None:
    db = store_with(tmp_path, paid=3, created=created)
    result = CliRunner().invoke(cli, ["breaking", "--db", db, *files(tmp_path)])
    assert result.exit_code == exit_code, result.output
    if created:
        assert "changed to 'created -> cancelled after 1h' (2 live instances in 'created')" in (
            result.stdout
        )
        assert result.stdout.endswith("Found 1 breaking change for 5 live instances.\n")
    else:
        assert result.stdout == "No breaking changes for 3 live instances.\n"
