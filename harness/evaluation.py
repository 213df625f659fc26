"""Measuring extraction: our fixtures, the shared evaluation sets, and the pinned floors.

Used by ``bench/extraction.py`` (the side-by-side table) and ``tests/test_extraction_floors.py``
(CI holds the floors in ``bench/floors.json``).

* **Fixtures** (``fixtures/``, in the repository): every article case is scored on the fields a
  person wrote in ``expected.json``: title, date (first Y-M-D), 来源 found, 作者 exact, and
  "body checks" – the share of ``body_includes`` present times the share of ``body_excludes``
  absent (the fixtures give checks, not a full body text, so this stands in for body F1).
* **Evaluation sets** (``../shared/evaldata``, outside the repository; licences differ, so they
  are read in place, never copied): scored by ``../shared/tools/eval_extract.py`` itself.

An extractor is ``f(html: str, url) -> dict`` with title, date, author, source, body (the
signature of eval_extract.py); ``harness.evaladapter:extract`` is ours.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import statistics
import time
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"
FLOORS = REPO_ROOT / "bench" / "floors.json"
CHINESE_SETS = ("zh-gne-news", "zh-cwced")
ENGLISH_SETS = ("wcxb-test-articles", "scrapinghub-aeb")
METRICS = ("title_exact", "date_exact", "source_found", "author_exact", "body_f1")

Extractor = Callable[[str, "str | None"], dict]


def shared_dir() -> Path | None:
    """``$ARCHIVER_SHARED``, else ``../shared`` beside the repository (or beside one of its parent
    folders, for a git worktree kept under the main checkout's parent), if present."""
    env = os.environ.get("ARCHIVER_SHARED")
    if env:
        return Path(env) if Path(env).is_dir() else None
    for parent in list(REPO_ROOT.parents)[:3]:
        path = parent / "shared"
        if (path / "evaldata").is_dir() or (path / "tools").is_dir():
            return path
    return None


def evaldata_dir() -> Path | None:
    """The evaluation sets: ``$ARCHIVER_EVALDATA``, else ``../shared/evaldata``; None when absent."""
    env = os.environ.get("ARCHIVER_EVALDATA")
    if env:
        return Path(env) if Path(env).is_dir() else None
    shared = shared_dir()
    path = shared / "evaldata" if shared else None
    return path if path and path.is_dir() else None


def load_scorer():
    """The shared scorer module (``tools/eval_extract.py`` beside the evaldata folder)."""
    data = evaldata_dir()
    candidates = [data.parent / "tools" / "eval_extract.py"] if data else []
    shared = shared_dir()
    if shared:
        candidates.append(shared / "tools" / "eval_extract.py")
    for path in candidates:
        if path.is_file():
            spec = importlib.util.spec_from_file_location("eval_extract", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    return None


def load_extractor(name: str) -> Extractor:
    mod, _, fn = name.partition(":")
    return getattr(importlib.import_module(mod), fn or "extract")


# ----------------------------------------------------------------------------- fixtures
def fixture_articles(root: Path = FIXTURES) -> list[tuple[Path, dict, dict, bytes]]:
    """(case folder, expected, response, raw body) of every article case with a reviewed expected.json."""
    out = []
    for exp_path in sorted(root.rglob("expected.json")):
        expected = json.loads(exp_path.read_text(encoding="utf-8"))
        if expected.get("page_type") != "article" or "_review" in expected:
            continue
        response = json.loads((exp_path.parent / "response.json").read_text(encoding="utf-8"))
        body = (exp_path.parent / response["body"]).read_bytes()
        out.append((exp_path.parent, expected, response, body))
    return out


def decode_for_tools(raw: bytes, headers: dict) -> str:
    """Bytes -> str the way the crawl decodes them (HTTP header, BOM, <meta charset>), for str extractors."""
    from archiver.pages.base import response_from_bytes
    return response_from_bytes("https://example.invalid/", raw, headers).text


def _day(value) -> str | None:
    from archiver.normalize.dates import find_date
    if not value:
        return None
    d = find_date(str(value))
    return d.day if d else None


def score_fixtures(extract: Extractor, root: Path = FIXTURES) -> dict:
    """Per-field scores of ``extract`` on the fixture articles (means over cases that label the field)."""
    rows = {m: [] for m in METRICS}
    times: list[float] = []
    errors = 0
    for _case, exp, resp, raw in fixture_articles(root):
        html = decode_for_tools(raw, resp.get("headers") or {})
        t0 = time.perf_counter()
        try:
            out = extract(html, resp["url"]) or {}
        except Exception:                       # a crash scores zero on every field, and is counted
            out, errors = {}, errors + 1
        times.append(time.perf_counter() - t0)
        if exp.get("title"):
            rows["title_exact"].append(float(_norm_ws(out.get("title")) == _norm_ws(exp["title"])))
        if exp.get("published_at"):
            rows["date_exact"].append(float(_day(out.get("date")) == exp["published_at"][:10]))
        if exp.get("source"):
            cand = " ".join(x for x in (out.get("author"), out.get("source")) if x)
            rows["source_found"].append(float(exp["source"] in cand))
        if exp.get("author"):
            rows["author_exact"].append(float(_norm_ws(out.get("author")) == _norm_ws(exp["author"])))
        body = out.get("body") or ""
        inc, exc = exp.get("body_includes") or [], exp.get("body_excludes") or []
        if inc or exc:
            found = sum(1 for s in inc if s in body) / len(inc) if inc else 1.0
            clean = 1 - sum(1 for s in exc if s in body) / len(exc) if exc else 1.0
            rows["body_f1"].append(found * clean)
    summary = {m: (statistics.mean(v) if v else None) for m, v in rows.items()}
    summary.update({f"{m}_n": len(v) for m, v in rows.items()})
    summary["pages"] = len(times)
    summary["errors"] = errors
    summary["pages_per_s"] = len(times) / sum(times) if times and sum(times) else None
    return summary


def _norm_ws(s) -> str:
    import re
    return re.sub(r"\s+", "", s or "")


# ----------------------------------------------------------------------------- evaldata
def score_evalset(extractor_name: str, name: str) -> dict:
    """Scores of one evaluation set by the shared scorer, renamed to ``METRICS``."""
    scorer = load_scorer()
    data = evaldata_dir()
    if scorer is None or data is None:
        raise FileNotFoundError("the shared evaluation sets or their scorer are not available")
    label, s = scorer.evaluate([str(data / name)], extractor_name)
    return {
        "label": label, "pages": s["pages"], "errors": s["errors"], "pages_per_s": s["pages_per_s"],
        "title_exact": s["title_exact"], "title_exact_n": s["title_n"],
        "date_exact": s["date_exact"], "date_exact_n": s["date_n"],
        "source_found": s["source_lenient"], "source_found_n": s["source_n"],
        "author_exact": s["author_exact"], "author_exact_n": s["author_n"],
        "body_f1": s["body_f1"], "body_f1_n": s["body_n"],
    }


def load_floors(path: Path = FLOORS) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
