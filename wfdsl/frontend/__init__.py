"""The front end: ``.wf`` source to a validated :class:`~wfdsl.ir.Spec`.

``source`` reads bytes and text and drives the rest: ``parser`` (Lark, LALR)
builds the concrete syntax tree of ``syntax``; ``validate`` turns it into the
IR, reporting the error codes of ``codes`` (WF1xx); ``naming`` maps ``.wf``
names to Python names. Everything downstream reads the IR; only the formatter
also reads the syntax tree, to keep comments.
"""
