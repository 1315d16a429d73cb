"""Go to definition, find references and rename, over the symbol index."""

from __future__ import annotations

from wfdsl.lsp.documents import Analysis
from wfdsl.lsp.frontend import KEYWORDS, is_name, upper_snake
from wfdsl.lsp.symbols import DECLARED, Kind, Occurrence, SymbolIndex
from wfdsl.lsp.text import Edit


class RenameRefused(Exception):
    """A rename the server will not make; ``message`` says why, for the user."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def _at(analysis: Analysis, offset: int) -> tuple[SymbolIndex, Occurrence] | None:
    symbols = analysis.symbols
    if symbols is None:
        return None
    occ = symbols.at(offset)
    return None if occ is None else (symbols, occ)


def definition(analysis: Analysis, offset: int) -> Occurrence | None:
    """Where the name at ``offset`` is defined: a state's or event's
    declaration, a guard's or hook's first use in the file."""
    found = _at(analysis, offset)
    if found is None:
        return None
    symbols, occ = found
    if occ.kind is Kind.WORKFLOW:
        return occ
    return symbols.definition(occ.kind, occ.name)


def references(analysis: Analysis, offset: int, include_declaration: bool) -> list[Occurrence]:
    """Every occurrence of the symbol at ``offset``, in source order."""
    found = _at(analysis, offset)
    if found is None:
        return []
    symbols, occ = found
    every = symbols.occurrences_of(occ.kind, occ.name)
    return [o for o in every if include_declaration or not o.declaration]


def prepare_rename(analysis: Analysis, offset: int) -> Occurrence:
    """The state or event name at ``offset`` that a rename would change.

    :raises RenameRefused: anywhere else, saying why.
    """
    if analysis.symbols is None:
        raise RenameRefused("cannot rename while the file has a syntax error; fix it first")
    found = _at(analysis, offset)
    if found is None:
        raise RenameRefused("no state or event here to rename")
    _, occ = found
    if occ.kind not in DECLARED:
        raise RenameRefused(
            f"only states and events can be renamed here: {occ.kind.value} "
            f"'{occ.name}' is a method of your Python hooks object, rename it there too"
        )
    return occ


def rename(analysis: Analysis, offset: int, new_name: str) -> list[Edit]:
    """Edits that rename the state or event at ``offset`` everywhere in the file.

    :raises RenameRefused: when the new name is a keyword or not a name, or
        would clash with a state (event) already in the file, including one
        that would become the same member of the generated enum.
    """
    occ = prepare_rename(analysis, offset)
    symbols = analysis.symbols
    assert symbols is not None
    kind = occ.kind.value
    if new_name == occ.name:
        return []
    if new_name in KEYWORDS:
        raise RenameRefused(f"'{new_name}' is a keyword and cannot name a {kind}")
    if not is_name(new_name):
        raise RenameRefused(
            f"'{new_name}' is not a valid name: names start with an ASCII letter "
            "and continue with ASCII letters, digits and '_'"
        )
    taken = symbols.definition(occ.kind, new_name) or next(
        iter(symbols.occurrences_of(occ.kind, new_name)), None
    )
    if taken is not None:
        line = analysis.index.line_of(taken.start) + 1
        raise RenameRefused(f"{kind} '{new_name}' already exists (line {line})")
    member = upper_snake(new_name)
    for other in symbols.names(occ.kind) + symbols.undeclared(occ.kind):
        if other != occ.name and upper_snake(other) == member:
            raise RenameRefused(
                f"'{new_name}' and the {kind} '{other}' would both become '{member}' "
                "in generated code"
            )
    return [Edit(o.start, o.end, new_name) for o in symbols.occurrences_of(occ.kind, occ.name)]
