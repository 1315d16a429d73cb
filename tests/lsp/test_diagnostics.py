"""Diagnostics: exactly what ``wfdsl lint`` reports, as the editor types."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from .conftest import CACHE_DIR
from .helpers import (
    EXAMPLES,
    as_lsp,
    at,
    change_document,
    encoding_of,
    full,
    lint_json,
    notify_and_wait,
    open_document,
    position,
    published,
)

pytestmark = pytest.mark.asyncio

BROKEN = {
    "undefined.wf": """workflow w "Überblick 🚀" {
    initial state start "Début ✓"
    state shipped
    final state done
    event go, ship
    start -> shiped on go
    shipped -> done on shp
}
""",
    "syntax.wf": """workflow w {
    initial state a "naïve 🙂" state b
    a -> b on
}
""",
    "warnings.wf": """workflow w {
    initial state a "🙂 ünïcode" state lost
    state State_X
    final state done
    event go, unused
    a -> done on go
    a -> State_X on go if ok
    State_X -> done on go
}
""",
    "noqa.wf": """workflow w {
    initial state a
    state orphan  # noqa: WF201
    final state done
    event go, spare  # noqa: unused-event, WF999
    a -> done on go
    orphan -> done on go
}
""",
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
async def test_examples_lint_clean_in_the_editor_too(
    client: LanguageClient, tmp_path: Path, example: Path
) -> None:
    path = _write(tmp_path, example.name, example.read_text(encoding="utf-8"))
    _, diags = await open_document(client, path)
    assert published(diags) == [as_lsp(path.read_text(), f) for f in lint_json(path)]


@pytest.mark.parametrize("name", sorted(BROKEN))
async def test_diagnostics_are_wfdsl_lint_s_codes_ranges_severities_and_messages(
    any_client: LanguageClient, tmp_path: Path, name: str
) -> None:
    client = any_client
    path = _write(tmp_path, name, BROKEN[name])
    _, diags = await open_document(client, path)
    expected = [as_lsp(BROKEN[name], f, encoding_of(client)) for f in lint_json(path)]
    assert expected, "each case has findings"
    assert published(diags) == expected
    assert all(d.source == "wfdsl" for d in diags)


async def test_a_position_after_non_ascii_text_counts_utf16_code_units(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = BROKEN["warnings.wf"]
    _, diags = await open_document(client, _write(tmp_path, "w.wf", text))
    lost = [d for d in diags if d.code == "WF201"]
    assert len(lost) == 1
    # "🙂" is two UTF-16 code units (one code point), "ü" and "ï" one each.
    assert lost[0].range.start == types.Position(line=1, character=39)
    assert lost[0].range.end == types.Position(line=1, character=43)


async def test_each_code_links_its_section_of_the_generated_rules_page(
    client: LanguageClient, tmp_path: Path
) -> None:
    _, diags = await open_document(client, _write(tmp_path, "u.wf", BROKEN["undefined.wf"]))
    assert {d.code for d in diags} == {"WF101", "WF102"}
    for d in diags:
        assert d.code_description is not None
        page, _, anchor = d.code_description.href.partition("#")
        name = "undefined-state" if d.code == "WF101" else "undefined-event"
        assert anchor == f"{str(d.code).lower()}-{name}"
        local = Path(page.removeprefix("file://"))
        assert local.is_relative_to(CACHE_DIR)
        assert f"## {d.code} {name}\n" in local.read_text(encoding="utf-8")


async def test_unused_code_is_tagged_unnecessary(client: LanguageClient, tmp_path: Path) -> None:
    _, diags = await open_document(client, _write(tmp_path, "w.wf", BROKEN["warnings.wf"]))
    tags = {str(d.code): d.tags for d in diags}
    assert list(tags["WF205"] or ()) == [types.DiagnosticTag.Unnecessary]
    assert list(tags["WF201"] or ()) == [types.DiagnosticTag.Unnecessary]
    assert list(tags["WF204"] or ()) == [types.DiagnosticTag.Unnecessary]
    assert not tags["WF301"]


async def test_the_nearest_pyproject_configures_the_rules(
    client: LanguageClient, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.wfdsl.lint]\nignore = ["WF205"]\nextend-select = ["missing-description"]\n'
    )
    flows = tmp_path / "flows"
    flows.mkdir()
    path = _write(flows, "w.wf", BROKEN["warnings.wf"])
    _, diags = await open_document(client, path)
    codes = {d.code for d in diags}
    assert "WF205" not in codes and "WF302" in codes
    assert published(diags) == [as_lsp(path.read_text(), f) for f in lint_json(path)]


async def test_saving_rereads_the_configuration(client: LanguageClient, tmp_path: Path) -> None:
    path = _write(tmp_path, "w.wf", BROKEN["warnings.wf"])
    uri, diags = await open_document(client, path)
    assert "WF205" in {d.code for d in diags}
    (tmp_path / "pyproject.toml").write_text('[tool.wfdsl.lint]\nignore = ["unused-event"]\n')
    diags = await notify_and_wait(
        client,
        uri,
        lambda: client.text_document_did_save(
            types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri))
        ),
    )
    assert "WF205" not in {d.code for d in diags}


async def test_a_broken_configuration_is_reported_and_the_defaults_run(
    client: LanguageClient, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.wfdsl.lint]\nselect = ["WF999"]\n')
    path = _write(tmp_path, "w.wf", BROKEN["warnings.wf"])
    _, diags = await open_document(client, path)
    first = diags[0]
    assert first.code is None and first.severity == types.DiagnosticSeverity.Warning
    assert "pyproject.toml" in first.message and "WF999" in first.message
    assert first.range.start == types.Position(0, 0)
    assert {d.code for d in diags[1:]} >= {"WF201", "WF205"}


async def test_diagnostics_follow_incremental_changes(
    any_client: LanguageClient, tmp_path: Path
) -> None:
    client = any_client
    encoding = encoding_of(client)
    text = BROKEN["warnings.wf"]
    uri, diags = await open_document(client, _write(tmp_path, "w.wf", text))
    assert "WF201" in {d.code for d in diags}
    # Make 'lost' reachable: insert a transition after the emoji line's end,
    # and rename 'lost' by a range that starts after the emoji.
    start = text.index("lost")
    edit = types.TextDocumentContentChangePartial(
        range=types.Range(position(text, start, encoding), position(text, start + 4, encoding)),
        text="gone",
    )
    text = text[:start] + "gone" + text[start + 4 :]
    insert_at = text.index("    a -> done on go")
    added = "    a -> gone on unused\n    gone -> done on go\n"
    edit2 = types.TextDocumentContentChangePartial(
        range=types.Range(position(text, insert_at, encoding), position(text, insert_at, encoding)),
        text=added,
    )
    text = text[:insert_at] + added + text[insert_at:]
    diags = await change_document(client, uri, [edit, edit2])
    codes = {d.code for d in diags}
    assert not codes & {"WF201", "WF202", "WF205"}
    path = _write(tmp_path, "expected.wf", text)
    assert published(diags) == [as_lsp(text, f, encoding) for f in lint_json(path)]


async def test_a_whole_document_change_replaces_the_text(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri, diags = await open_document(client, _write(tmp_path, "w.wf", BROKEN["syntax.wf"]))
    assert [d.code for d in diags] == ["WF100"]
    fixed = BROKEN["syntax.wf"].replace("on\n", "on go\n").replace("state b", "final state b")
    fixed = fixed.replace("    a ->", "    event go\n    a ->")
    assert await change_document(client, uri, full(fixed)) == []


async def test_closing_a_document_clears_its_diagnostics(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri, diags = await open_document(client, _write(tmp_path, "w.wf", BROKEN["syntax.wf"]))
    assert diags
    cleared = await notify_and_wait(
        client,
        uri,
        lambda: client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        ),
    )
    assert cleared == []


async def test_syntax_error_points_at_the_token(client: LanguageClient, tmp_path: Path) -> None:
    text = BROKEN["syntax.wf"]
    _, diags = await open_document(client, _write(tmp_path, "s.wf", text))
    (d,) = diags
    assert d.severity == types.DiagnosticSeverity.Error
    assert d.range.start == at(text, "}", 0)
    assert "expected an event name" in d.message
