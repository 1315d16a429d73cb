"""Two versions of a workflow side by side: what changed (``diff``) and which
changes break instances already running (``breaking``, WF5xx)."""
