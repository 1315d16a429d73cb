"""Every rule. Importing this package registers them all."""

from wfdsl.lint.rules import errors, graph, style

__all__ = ["errors", "graph", "style"]
