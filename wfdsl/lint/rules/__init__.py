"""Every rule. Importing this package registers them all."""

from wfdsl.frontend import codes as errors
from wfdsl.lint.rules import graph, style

__all__ = ["errors", "graph", "style"]
