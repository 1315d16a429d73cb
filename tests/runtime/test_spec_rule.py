"""One rule for hook work owed under another version of the spec (SPEC §7,
§7.1), on every store: ``resume()`` reports it in ``spec_changed`` and leaves
it, and so do ``send``, replays and ``compensate`` (``SpecChanged``, nothing
applied, nothing run); ``retry(id)`` is the explicit way to run it under the
loaded spec."""

from __future__ import annotations

import pytest

import wfdsl
from wfdsl.errors import HookFailed, SpecChanged, WorkflowError
from wfdsl.runtime.context import Context
from wfdsl.runtime.manager import Manager
from wfdsl.stores.base import Store

V1 = """workflow bill {
    initial state created
    state paid { enter charge compensate refund }
    final state cancelled
    event pay, cancel
    created -> paid on pay
    paid -> cancelled on cancel
}"""
#: The same workflow, one transition more: another fingerprint.
V2 = V1.replace("event pay, cancel", "event pay, cancel, void").replace(
    "paid -> cancelled on cancel", "paid -> cancelled on cancel\n    created -> cancelled on void"
)


def test_work_owed_under_another_spec_is_left_by_resume_and_send_alike(store: Store) -> None:
    ran: list[str] = []
    failing = {"on": True}

    def charge(ctx: Context) -> None:
        if failing["on"]:
            raise RuntimeError("card service down")
        ran.append(f"charge {ctx.seq}")

    hooks = {"charge": charge, "refund": lambda ctx: ran.append("refund")}
    old = Manager(wfdsl.loads(V1), store, hooks=hooks)
    old.start("b-1", key="k-start")
    with pytest.raises(HookFailed):
        old.send("b-1", "pay", key="k-pay")
    failing["on"] = False

    new = Manager(wfdsl.loads(V2), store, hooks=hooks)
    assert new.fingerprint != old.fingerprint
    report = new.resume()
    assert report.spec_changed == ["b-1"] and not report.ok and ran == []

    for call in (
        lambda: new.send("b-1", "cancel"),
        lambda: new.send("b-1", "pay", key="k-pay"),  # a replay runs owed work first
        lambda: new.compensate("b-1", "created"),
    ):
        with pytest.raises(SpecChanged) as refused:
            call()
        assert isinstance(refused.value, WorkflowError)
        assert refused.value.instance_id == "b-1" and refused.value.hooks == ("charge",)
        assert "retry('b-1')" in str(refused.value)
    assert ran == [] and new.state("b-1") == "paid" and len(new.history("b-1")) == 2

    assert new.retry("b-1") == 0  # nothing was dead; the owed charge ran
    assert ran == ["charge 2"]
    assert new.resume().ok
    assert new.send("b-1", "cancel").target == "cancelled"
