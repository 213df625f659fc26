"""Loading fixture cases for tests (raw bytes, never decoded by hand)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"


@dataclass(frozen=True)
class FixtureCase:
    path: Path
    response: dict
    expected: dict

    @property
    def id(self) -> str:
        return str(self.path.relative_to(FIXTURES))

    @property
    def url(self) -> str:
        return self.response["url"]

    @property
    def status(self) -> int:
        return self.response.get("status", 200)

    @property
    def headers(self) -> dict:
        return self.response.get("headers", {})

    @property
    def body(self) -> bytes:
        name = self.response.get("body")
        return (self.path / name).read_bytes() if name else b""

    @property
    def page_type(self) -> str:
        return self.expected.get("page_type", "")


@lru_cache(maxsize=1)
def all_cases() -> tuple[FixtureCase, ...]:
    cases = []
    for resp in sorted(FIXTURES.rglob("response.json")):
        case = resp.parent
        exp = case / "expected.json"
        if not exp.exists():
            continue
        cases.append(FixtureCase(case, json.loads(resp.read_text(encoding="utf-8")),
                                 json.loads(exp.read_text(encoding="utf-8"))))
    return tuple(cases)


def cases_of(*page_types: str) -> list[FixtureCase]:
    return [c for c in all_cases() if c.page_type in page_types]
