"""Every lint rule. Importing this package registers them all (the front
end's error codes are registered with :mod:`wfdsl.lint.base`)."""

from wfdsl.lint.rules import graph, style, timers

__all__ = ["graph", "style", "timers"]
