"""``wfdsl lsp``: a language server for ``.wf`` files (SPEC §9), on pygls.

The server reuses the front end and the lint engine through one adapter
(:mod:`wfdsl.lsp.frontend`); each editor feature is a small module that works
on offsets into the document's text, and :mod:`wfdsl.lsp.server` converts
between those and LSP positions at the edge. pygls and lsprotocol come with
the optional extra: ``pip install 'wfdsl[lsp]'``.
"""

#: What to run when pygls is missing.
INSTALL_HINT = "pip install 'wfdsl[lsp]'"
