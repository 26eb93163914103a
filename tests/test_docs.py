"""The docs say what the code does: the catalogue table in docs/conformance.md is generated."""

from __future__ import annotations

from pathlib import Path

from gp_spec._docs import render_conformance_doc

DOC = Path(__file__).resolve().parents[1] / "docs" / "conformance.md"


def test_conformance_doc_catalogue_is_current() -> None:
    text = DOC.read_text()
    assert render_conformance_doc(text) == text, "run: python -m gp_spec._docs"
