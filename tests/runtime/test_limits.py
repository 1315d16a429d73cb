"""The limits on ids, keys and data (wfdsl/stores/limits.py, docs/runtime.md):
the same on every store, checked before anything is written, and never a
``RecursionError``; one instance's unreadable data never stops ``resume``."""

from __future__ import annotations

import random
import string
import sys
from collections.abc import Callable
from typing import Any

import pytest

import wfdsl
from wfdsl import Manager
from wfdsl.errors import InvalidInput, StoreError, UnknownInstance
from wfdsl.runtime.context import Context
from wfdsl.stores.base import Store
from wfdsl.stores.limits import (
    MAX_DATA_BYTES,
    MAX_DATA_KEY_CHARS,
    MAX_DEPTH,
    MAX_ID_BYTES,
    MAX_INT_DIGITS,
    MAX_KEY_BYTES,
)

SPEC = wfdsl.loads(
    "workflow w { initial state a { enter note } state b { enter note } final state c "
    "event go, end a -> b on go b -> c on end }"
)


def nested(depth: int, leaf: object = 1) -> dict[str, Any]:
    """``{"x": {"x": ... leaf}}``: ``depth`` objects, the outermost included."""
    data: Any = leaf
    for _ in range(depth):
        data = {"x": data}
    return data  # type: ignore[no-any-return]


def sized(total: int) -> dict[str, str]:
    """An object whose canonical JSON text is exactly ``total`` bytes."""
    return {"s": "a" * (total - len('{"s":""}'))}


def incompressible(n: int) -> str:
    """``n`` random printable characters: nothing for a database to compress."""
    rng = random.Random(n)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def cyclic() -> dict[str, Any]:
    data: dict[str, Any] = {}
    data["self"] = [data]
    return data


ACCEPTED: dict[str, Callable[[], dict[str, Any]]] = {
    f"nested {MAX_DEPTH} deep": lambda: nested(MAX_DEPTH),
    f"an integer of {MAX_INT_DIGITS} digits": lambda: {"n": -int("9" * MAX_INT_DIGITS)},
    f"exactly {MAX_DATA_BYTES} bytes": lambda: sized(MAX_DATA_BYTES),
    f"a key of {MAX_DATA_KEY_CHARS} characters": lambda: {"k" * MAX_DATA_KEY_CHARS: 1},
    "text beyond ASCII": lambda: {"name": "Zoë 🚚", "€": ["ü"]},
}

REFUSED: dict[str, tuple[Callable[[], object], str]] = {
    "one level too deep": (lambda: nested(MAX_DEPTH + 1), f"nests more than {MAX_DEPTH}"),
    "nested 10,000 deep": (lambda: nested(10_000), "nests more than"),
    "an array nested 10,000 deep": (lambda: {"a": nested(10_000, [])["x"]}, "nests more than"),
    "containing itself": (cyclic, "nests more than"),
    "an integer of one digit more": (
        lambda: {"n": 10**MAX_INT_DIGITS},
        f"more than {MAX_INT_DIGITS} digits",
    ),
    "an integer of 5,000 digits": (lambda: {"n": [0, 10**4999]}, "digits"),
    "one byte too large": (lambda: sized(MAX_DATA_BYTES + 1), "larger than"),
    "many small values too large": (lambda: {"l": [1] * MAX_DATA_BYTES}, "larger than"),
    "a key one character too long": (lambda: {"k" * (MAX_DATA_KEY_CHARS + 1): 1}, "key of"),
    "a lone surrogate": (lambda: {"s": "\ud800"}, "lone surrogate"),
    "a lone surrogate in a key": (lambda: {"\udfff": 1}, "lone surrogate"),
    "NaN": (lambda: {"x": float("nan")}, "JSON cannot represent"),
    "a set": (lambda: {"x": {1, 2}}, "not a JSON value"),
    "bytes": (lambda: {"x": b"raw"}, "not a JSON value"),
    "a non-string key": (lambda: {"x": {1: "a"}}, "not a string"),
    "a list": (lambda: [1, 2], "must be a mapping"),
}


def hooks() -> dict[str, Callable[[Context], None]]:
    return {"note": lambda ctx: None}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_data_within_the_limits_is_stored_and_read_back_on_every_store(
    store: Store, case: str
) -> None:
    data = ACCEPTED[case]()
    mgr = Manager(SPEC, store, hooks=hooks())
    mgr.start("i", data=data)
    mgr.send("i", "go", key="k", data=data)
    assert [t.data for t in mgr.history("i")] == [data, data]
    assert mgr.send("i", "go", key="k", data=data).seq == 2  # a replay, not a conflict


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_data_beyond_the_limits_is_refused_before_anything_is_written(
    store: Store, case: str
) -> None:
    make, reason = REFUSED[case]
    mgr = Manager(SPEC, store, hooks=hooks())
    with pytest.raises(InvalidInput, match=reason):
        mgr.start("i", data=make())  # type: ignore[arg-type]
    assert store.load("w", "i") is None
    mgr.start("i")
    with pytest.raises(InvalidInput, match=reason):
        mgr.send("i", "go", data=make())  # type: ignore[arg-type]
    assert len(mgr.history("i")) == 1


def test_a_refusal_names_where_the_offending_value_is(store: Store) -> None:
    mgr = Manager(SPEC, store, hooks=hooks())
    with pytest.raises(InvalidInput) as info:
        mgr.start("i", data={"order": {"lines": [{"qty": 1}, {"qty": float("inf")}]}})
    assert "data['order']['lines'][1]['qty'] holds inf" in str(info.value)


ID_CASES: dict[str, tuple[str, str | None]] = {
    f"{MAX_ID_BYTES} random ASCII characters": (incompressible(MAX_ID_BYTES), None),
    f"{MAX_ID_BYTES // 4} four-byte characters": ("🚚" * (MAX_ID_BYTES // 4), None),
    "one byte too long": (incompressible(MAX_ID_BYTES + 1), "bytes long"),
    "a three-byte character too long": ("€" * (MAX_ID_BYTES // 3 + 1), "bytes long"),
    "a NUL": ("o\x00-1", "NUL"),
    "a lone surrogate": ("o-\ud800", "lone surrogate"),
}


@pytest.mark.parametrize("case", sorted(ID_CASES))
def test_instance_ids_of_any_allowed_length_work_and_others_are_refused(
    store: Store, case: str
) -> None:
    iid, reason = ID_CASES[case]
    mgr = Manager(SPEC, store, hooks=hooks())
    if reason is not None:
        with pytest.raises(InvalidInput, match=reason):
            mgr.start(iid)
        assert store.instances("w") == []
        return
    mgr.start(iid)
    mgr.send(iid, "go", key=incompressible(MAX_KEY_BYTES))
    assert mgr.state(iid) == "b"
    assert [r.instance_id for r in store.instances("w")] == [iid]


KEY_CASES = {
    "one byte too long": (incompressible(MAX_KEY_BYTES + 1), "bytes long"),
    "a two-byte character too long": ("é" * (MAX_KEY_BYTES // 2 + 1), "bytes long"),
    "a NUL": ("k\x00", "NUL"),
    "a lone surrogate": ("k\udc80", "lone surrogate"),
}


@pytest.mark.parametrize("case", sorted(KEY_CASES))
def test_keys_beyond_their_limit_are_refused_at_once(store: Store, case: str) -> None:
    key, reason = KEY_CASES[case]
    mgr = Manager(SPEC, store, hooks=hooks())
    with pytest.raises(InvalidInput, match=reason):
        mgr.start("i", key=key)
    mgr.start("i")
    with pytest.raises(InvalidInput, match=reason):
        mgr.send("i", "go", key=key)
    assert len(mgr.history("i")) == 1


def test_the_longest_id_and_key_together_fit_every_store(store: Store) -> None:
    iid, key = incompressible(MAX_ID_BYTES), incompressible(MAX_KEY_BYTES)[::-1]
    mgr = Manager(SPEC, store, hooks=hooks())
    first = mgr.start(iid, key=key)
    assert mgr.start(iid, key=key) == first  # found again by its key
    assert store.find_key("w", iid, key) == first


# -- data an older wfdsl stored -----------------------------------------------------


def _store_raw_data(store: Store, instance_id: str, text: str) -> None:
    """Overwrite an instance's last transition data in the database, as a wfdsl
    without limits could have written it."""
    render = store._dialect.render  # type: ignore[attr-defined]
    store._execute(  # type: ignore[attr-defined]
        "store old data",
        render("UPDATE {s}.wf_transitions SET data = {d} WHERE instance_id = {id} AND seq = 2"),
        {"d": text, "id": instance_id},
    )


def _deep_in_the_stack(frames: int, fn: Callable[[], Any]) -> Any:
    """Call ``fn`` from ``frames`` frames deeper than here, as a server or CLI
    calls the runtime."""
    return fn() if frames == 0 else _deep_in_the_stack(frames - 1, fn)


OLD_DATA = {
    "nested past the interpreter's reach": (
        '{"x":' * (sys.getrecursionlimit() - 15) + "1" + "}" * (sys.getrecursionlimit() - 15),
        "nests too deep to read",
    ),
    "an integer past int_max_str_digits": ('{"n":' + "7" * 5000 + "}", "cannot be read"),
}


@pytest.mark.parametrize("case", sorted(OLD_DATA))
def test_resume_reports_data_it_cannot_read_and_runs_every_other_instance(
    shared_store: Store, case: str
) -> None:
    failing = [True]

    def note(ctx: Context) -> None:
        if failing[0] and ctx.seq == 2:
            raise RuntimeError("down")

    mgr = Manager(SPEC, shared_store, hooks={"note": note})
    for iid in ("a", "deep", "z"):
        mgr.start(iid)
        with pytest.raises(Exception, match="down"):
            mgr.send(iid, "go")
    text, reason = OLD_DATA[case]
    _store_raw_data(shared_store, "deep", text)
    failing[0] = False
    report = _deep_in_the_stack(100, mgr.resume)
    assert report.completed == [("a", "note"), ("z", "note")]
    [(iid, error)] = report.errors
    assert iid == "deep" and error.startswith("StoreError: w: instance 'deep': stored")
    assert reason in error and not report.ok
    with pytest.raises(StoreError, match=reason):
        _deep_in_the_stack(100, lambda: mgr.send("deep", "end"))


UNSTORABLE = {"a lone surrogate": "o-\udcff", "a NUL": "o-\x00-1"}


@pytest.mark.parametrize("case", sorted(UNSTORABLE))
def test_an_id_no_store_can_hold_is_unknown_on_every_store(store: Store, case: str) -> None:
    text = UNSTORABLE[case]
    mgr = Manager(SPEC, store, hooks=hooks())
    mgr.start("i")
    calls: list[Callable[[], object]] = [
        lambda: mgr.send(text, "go"),
        lambda: mgr.state(text),
        lambda: mgr.instance(text),
        lambda: mgr.history(text),
        lambda: mgr.compensate(text, "a"),
        lambda: mgr.retry(text),
    ]
    for call in calls:
        with pytest.raises(UnknownInstance):
            call()
    with pytest.raises(InvalidInput):
        mgr.send("i", "go", key=text)
    assert store.instances(text) == store.instances("w", instance_id=text) == []
    assert store.instances("w", state=text) == store.pending_work("w", text) == []
    assert store.find_key("w", "i", text) is None and store.history(text, "i") == []
    assert mgr.state("i") == "a"
