"""Reading a timed transition's duration (``after 1h30m``) and saying exactly
what is wrong with a bad one (WF114).

The grammar's ``DURATION`` token is deliberately loose (a digit, then digits,
letters, ``_`` and ``.``), so that the lexer never stops at the one character
that is wrong; this module reads the token's pieces (SPEC §2: ``<digits><unit>``,
units ``d h m s ms``, largest first, each once, no spaces, more than zero and
at most 3650 days) and reports the first problem at the span of the piece at
fault, with the corrected text as the hint where one can be worked out.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from lark import Token

from wfdsl.ir import DURATION_UNITS, MAX_DURATION_MS, Duration, Span, format_duration

#: Unit names people write for the units the language has.
_SYNONYMS = {
    **dict.fromkeys(("sec", "secs", "second", "seconds"), "s"),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("hr", "hrs", "hour", "hours"), "h"),
    **dict.fromkeys(("day", "days"), "d"),
    **dict.fromkeys(("msec", "msecs", "millis", "millisecond", "milliseconds"), "ms"),
}
_WEEKS = frozenset(("w", "wk", "wks", "week", "weeks"))
_YEARS = frozenset(("y", "yr", "yrs", "year", "years"))
_TINY = frozenset(("us", "ns", "micros", "nanos"))
_UNIT_LIST = "the units are d, h, m, s and ms"
#: More digits than this (leading zeros aside) is over any limit; such numbers
#: are never converted (Python refuses ``int`` of over 4300 digits).
_MAX_DIGITS = 15


@dataclass(frozen=True, slots=True)
class DurationProblem:
    """Why a duration is invalid, and where (WF114)."""

    span: Span
    message: str
    hint: str | None = None
    #: The whole duration written correctly, when the hint gives one (the
    #: language server's quick fix writes it in place of the duration).
    rewrite: str | None = None


@dataclass(frozen=True, slots=True)
class _Piece:
    number: str
    unit: str
    #: Offsets of the piece and of its unit in the token's text.
    start: int
    unit_start: int
    end: int


def read_duration(tokens: Sequence[Token]) -> Duration | DurationProblem:
    """The :class:`~wfdsl.ir.Duration` the ``DURATION`` tokens of one timed
    transition write, or the first problem with them.

    Several tokens mean spaces inside the duration (``1h 30m``): a problem.
    """
    first, last = tokens[0], tokens[-1]
    if len(tokens) > 1:
        joined = "".join(t.value for t in tokens)
        read = read_duration_text(joined, _span(first, 0, len(first.value)))
        fix = f"write '{joined}'" if isinstance(read, Duration) else read.hint
        rewrite = joined if isinstance(read, Duration) else read.rewrite
        span = Span(first.line or 0, first.column or 0, last.end_line or 0, last.end_column or 0)
        return DurationProblem(span, "a duration has no spaces inside", fix, rewrite)
    return read_duration_text(first.value, _span(first, 0, len(first.value)))


def read_duration_text(text: str, span: Span) -> Duration | DurationProblem:
    """The duration written ``text`` (at ``span``, one line), or its first problem."""
    pieces = _pieces(text, span)
    if isinstance(pieces, DurationProblem):
        return pieces
    for p in pieces:
        if p.unit not in DURATION_UNITS:
            hint, rewrite = _unit_hint(p, pieces, text)
            return DurationProblem(
                _sub(span, p.unit_start, p.end),
                f"unknown unit '{p.unit}' in duration '{text}'",
                hint,
                rewrite,
            )
    total = 0
    for p in pieces:
        digits = p.number.lstrip("0")
        if len(digits) > _MAX_DIGITS:
            return _too_long(text, span)
        total += int(digits or "0") * DURATION_UNITS[p.unit]
    ranks = list(DURATION_UNITS)
    for before, p in itertools.pairwise(pieces):
        if ranks.index(p.unit) > ranks.index(before.unit):
            continue
        rewrite = format_duration(total) if 0 < total <= MAX_DURATION_MS else None
        fix = f"write '{rewrite}'" if rewrite else None
        where = _sub(span, p.unit_start, p.end)
        if p.unit == before.unit:
            message = f"unit '{p.unit}' is written twice in '{text}'"
            return DurationProblem(where, message, fix, rewrite)
        return DurationProblem(
            where, f"unit '{p.unit}' after '{before.unit}': write larger units first", fix, rewrite
        )
    if total == 0:
        return DurationProblem(
            span, f"duration '{text}' is zero", "a timed transition waits at least '1ms'"
        )
    if total > MAX_DURATION_MS:
        return _too_long(text, span)
    return Duration(total, text, span)


def _too_long(text: str, span: Span) -> DurationProblem:
    return DurationProblem(
        span,
        f"duration '{text}' is longer than 3650 days",
        "the longest is '3650d' (about ten years)",
    )


def _pieces(text: str, span: Span) -> list[_Piece] | DurationProblem:
    """``text`` cut into ``<digits><unit>`` pieces, or what stops it."""
    pieces: list[_Piece] = []
    i, n = 0, len(text)
    while i < n:
        start = i
        while i < n and text[i].isascii() and text[i].isdigit():
            i += 1
        if i == start:  # a piece must start with its number
            return _stray(text, span, i)
        unit_start = i
        if i < n and text[i] == ".":
            return _fraction(text, span, start)
        while i < n and text[i].isascii() and text[i].isalpha():
            i += 1
        if i == unit_start:
            if i < n:
                return _stray(text, span, i)
            number = text[start:i]
            where = f"duration '{text}'" if start == 0 else f"'{number}' in duration '{text}'"
            return DurationProblem(
                _sub(span, start, i),
                f"{where} has no unit",
                f"{_UNIT_LIST}, e.g. '{number}s' or '{number}m'",
            )
        pieces.append(_Piece(text[start:unit_start], text[unit_start:i], start, unit_start, i))
    return pieces


def _stray(text: str, span: Span, at: int) -> DurationProblem:
    ch = text[at]
    rewrite = text.replace("_", "") if ch == "_" else None
    hint = f"write the number without '_': '{rewrite}'" if rewrite else None
    return DurationProblem(
        _sub(span, at, at + 1), f"'{ch}' cannot be part of a duration ('{text}')", hint, rewrite
    )


def _fraction(text: str, span: Span, start: int) -> DurationProblem:
    """``1.5h``: whole numbers only; the hint gives the same time in smaller units."""
    i = text.index(".", start)
    j = i + 1
    while j < len(text) and text[j].isascii() and text[j].isdigit():
        j += 1
    k = j
    while k < len(text) and text[k].isascii() and text[k].isalpha():
        k += 1
    whole, frac, unit = text[start:i], text[i + 1 : j], text[j:k]
    hint = "durations count whole units: use a smaller unit"
    rewrite = None
    piece = text[start:k]
    if unit in DURATION_UNITS and frac and len(whole) + len(frac) <= _MAX_DIGITS:
        scaled = int(whole + frac) * DURATION_UNITS[unit]
        ms, rest = divmod(scaled, 10 ** len(frac))
        if not rest and ms > 0 and piece == text:
            rewrite = format_duration(ms)
            hint = f"durations count whole units: write '{rewrite}'"
        elif not rest and ms > 0:
            # Only this piece is known here: say what it is, not what the
            # whole duration should be (``1.5h30m`` is not ``1h30m``).
            hint = f"durations count whole units: '{piece}' is '{format_duration(ms)}'"
    where = f"duration '{text}'" if piece == text else f"'{piece}' in duration '{text}'"
    return DurationProblem(_sub(span, start, k), f"{where} is not a whole number", hint, rewrite)


def _meant_unit(unit: str) -> str | None:
    lower = unit.lower()
    return lower if lower in DURATION_UNITS else _SYNONYMS.get(lower)


def _unit_hint(p: _Piece, pieces: Sequence[_Piece], text: str) -> tuple[str, str | None]:
    """What the unit was meant to be: the whole duration with every unit
    corrected (the hint and the rewrite; ``1H30M`` gives ``1h30m``, not
    ``1h30M``), or the units there are (no rewrite)."""
    lower = p.unit.lower()
    meant = _meant_unit(p.unit)
    if meant is not None:
        # Correct every piece that can be, so the hint is never itself wrong;
        # a piece nobody can guess stays as written and the rewrite is dropped.
        fixed, guessed = "", True
        for q in pieces:
            unit = _meant_unit(q.unit)
            guessed = guessed and unit is not None
            fixed += q.number + (unit or q.unit)
        case = "units are lower case: " if lower == meant else ""
        if not guessed:
            return f"{case}'{p.unit}' is '{meant}'", None
        return f"{case}write '{fixed}'", fixed
    if lower in _WEEKS:
        return "there is no week unit: count days, e.g. '7d'", None
    if lower in _YEARS:
        return "there is no year unit: count days, e.g. '365d'", None
    if lower in _TINY:
        return "the smallest unit is 'ms'", None
    return _UNIT_LIST, None


def _span(tok: Token, start: int, end: int) -> Span:
    line, column = tok.line or 0, tok.column or 0
    return Span(line, column + start, line, column + end)


def _sub(span: Span, start: int, end: int) -> Span:
    """The part ``[start, end)`` of a one-line span, by character offsets."""
    return Span(span.line, span.column + start, span.line, span.column + end)
