"""Every example has a rendered picture under ``docs/images/`` (the README and
``docs/diagrams.md`` show them). Regenerate with::

    for f in examples/*.wf; do wfdsl render "$f" -o "docs/images/$(basename "$f" .wf).png"; done
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import EXAMPLES, ROOT

IMAGES = ROOT / "docs" / "images"


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_has_a_committed_png(example: Path) -> None:
    image = IMAGES / f"{example.stem}.png"
    assert image.exists(), f"missing {image}; see this test's docstring to regenerate"
    assert image.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
