"""Regenerate the generated parts of the docs: ``python -m gp_spec._docs``."""

from __future__ import annotations

from pathlib import Path

__all__ = ["render_conformance_doc"]

START, END = "<!-- catalogue:start -->", "<!-- catalogue:end -->"


def render_conformance_doc(template: str) -> str:
    """Insert the catalogue table between the markers of ``template``."""
    from gp_spec._specs_cli import catalogue_markdown

    head, rest = template.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{catalogue_markdown()}{END}{tail}"


def main() -> None:
    root = Path(__file__).resolve().parents[1] / "docs"
    path = root / "conformance.md"
    path.write_text(render_conformance_doc(path.read_text()))


if __name__ == "__main__":
    main()
