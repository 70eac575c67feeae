"""docs/vendors.md is the evidence the code cites: every `§x.y` in the source and tests names one of its headings."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "vendors.md"
REF = re.compile(r"§ ?(\d+(?:\.\d+)*)")
# A § after these names points into that document instead (STYLE.md §3, API.md §2).
OTHER_DOCS = re.compile(r"(STYLE|API|CONTRIBUTING)(\.md)? ?$")


def headings() -> set[str]:
    return {m.group(1) for m in re.finditer(r"^#{2,4} (\d+(?:\.\d+)*)[. ]", DOC.read_text(encoding="utf-8"), re.M)}


def references() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for package in ("router", "vendors", "pricing", "tests", "bench"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for m in REF.finditer(text):
                if OTHER_DOCS.search(text[max(0, m.start() - 16):m.start()]):
                    continue
                line = text.count("\n", 0, m.start()) + 1
                found.setdefault(m.group(1), []).append(f"{path.relative_to(ROOT)}:{line}")
    return found


def test_every_section_reference_names_a_heading() -> None:
    known = headings()
    missing = {number: where[:3] for number, where in references().items() if number not in known}
    assert missing == {}


def test_the_scanner_finds_references_and_headings() -> None:
    assert {"1.4.7", "2.3", "7.5", "8.2"} <= set(references())
    assert {"1", "1.4", "1.4.9", "8", "8.4"} <= headings()
    assert REF.findall("see §1.8 and § 7.1, not STYLE.md") == ["1.8", "7.1"]
    assert OTHER_DOCS.search("the last resort (STYLE ") and not OTHER_DOCS.search("docs/vendors.md ")
