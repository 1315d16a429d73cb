"""The linter: rules WF2xx/WF3xx over a valid Spec, ``noqa``, configuration,
reports, and the registry of every code (the front end's WF1xx included)."""
