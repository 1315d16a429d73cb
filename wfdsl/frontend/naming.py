"""How ``.wf`` names map to Python names, shared by validation, lint and codegen."""

from __future__ import annotations

import keyword

_SNAKE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def upper_snake(name: str) -> str:
    """The generated enum member for a name: ``orderPlaced`` and ``order_placed``
    both become ``ORDER_PLACED``."""
    out: list[str] = []
    prev = ""
    for ch in name:
        if ch.isupper() and prev and (prev.islower() or prev.isdigit()):
            out.append("_")
        out.append(ch.upper())
        prev = ch
    return "".join(out)


def is_snake_case(name: str) -> bool:
    """Lower-case words joined by single underscores, no trailing underscore."""
    return (
        bool(name)
        and name[0].isalpha()
        and all(c in _SNAKE_CHARS for c in name)
        and "__" not in name
        and not name.endswith("_")
    )


def to_snake_case(name: str) -> str:
    """A snake_case suggestion for ``name``."""
    snake = upper_snake(name).lower()
    while "__" in snake:
        snake = snake.replace("__", "_")
    return snake.strip("_") or name.lower()


def is_python_keyword(name: str) -> bool:
    """Hard keywords only: soft keywords (``match``, ``type``) are valid method names."""
    return keyword.iskeyword(name)
