"""Records are frozen dataclasses: the fast constructor must not change that."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime

import pytest

from wfdsl.stores.records import InstanceRecord, Transition, TransitionKind

AT = datetime(2026, 1, 2, tzinfo=UTC)


def test_records_take_positional_and_keyword_arguments_and_keep_defaults() -> None:
    r = InstanceRecord("order", "o-1", state="paid", version=2, fingerprint="f")
    assert (r.state, r.version, r.compensating, r.pending, r.dead) == ("paid", 2, None, 0, 0)
    assert r == InstanceRecord("order", "o-1", "paid", 2, "f", None, 0, 0, None, None)


def test_records_are_immutable_and_support_replace_and_pickle() -> None:
    t = Transition(1, TransitionKind.EVENT, "a", "b", "go", None, {}, AT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.seq = 2  # type: ignore[misc]
    assert dataclasses.replace(t, seq=2).seq == 2
    assert pickle.loads(pickle.dumps(t)) == t
    assert hash(InstanceRecord("w", "i", "s", 1, "f")) == hash(
        InstanceRecord("w", "i", "s", 1, "f")
    )


def test_missing_arguments_are_reported_like_any_constructor() -> None:
    with pytest.raises(TypeError, match="missing"):
        InstanceRecord("w", "i")  # type: ignore[call-arg]


def test_the_builders_make_the_same_records_as_the_constructors() -> None:
    import copy
    import dataclasses
    import pickle
    from datetime import UTC, datetime

    from wfdsl.stores.frozen import EMPTY
    from wfdsl.stores.records import (
        InstanceRecord,
        Transition,
        TransitionKind,
        build_instance,
        build_transition,
    )

    at = datetime(2026, 1, 2, tzinfo=UTC)
    fields = ("wf", "a", "s", 3, "fp", None, 1, 0, at, at, 99)
    built, made = build_instance(*fields), InstanceRecord(*fields)
    t_fields = (2, TransitionKind.EVENT, "s", "t", "go", "k", EMPTY, at)
    built_t, made_t = build_transition(*t_fields), Transition(*t_fields)
    for b, m in ((built, made), (built_t, made_t)):
        assert type(b) is type(m) and b == m and repr(b) == repr(m)
        assert pickle.loads(pickle.dumps(b)) == m and copy.deepcopy(b) == m
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(b, dataclasses.fields(b)[0].name, 5)
    assert hash(built) == hash(made)  # (a transition's data is a dict: unhashable)
    assert dataclasses.replace(built, state="x") == dataclasses.replace(made, state="x")
