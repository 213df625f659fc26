"""The README and docs/ document what a scheduler needs: every ARCHIVER_ setting (by its whole name), the crawl options its
timer examples use, the exit statuses; scrapy.cfg carries working scrapyd targets."""
from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from archiver import settings
from archiver.cli import crawl, main

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SETTING = re.compile(r"ARCHIVER_[A-Z0-9_]*[A-Z0-9]")


def settings_table_rows(text: str):
    """The settings named in the first cell of each Markdown table row that starts with one
    (``| `ARCHIVER_X`, `_Y` | default | meaning |``: ``_Y`` is short for ``ARCHIVER_X``'s stem + ``_Y``)."""
    for line in text.splitlines():
        if not line.startswith("| `ARCHIVER_"):
            continue
        spans = re.findall(r"`([^`]+)`", line.split("|")[1])
        head = spans[0]
        yield line, head
        for short in spans[1:]:
            yield line, (head[:head.index("_" + short.split("_")[1] + "_")] + short if short.startswith("_")
                         else short)


def documented_settings() -> set[str]:
    """Settings named whole in a code span (`ARCHIVER_X`, not a longer name or `ARCHIVER_X_*`) or in a
    settings table row, in the README or docs/."""
    names: set[str] = set()
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        names |= {span for span in re.findall(r"`([^`\n]+)`", text) if SETTING.fullmatch(span)}
        names |= {name for _, name in settings_table_rows(text)}
    return names


def test_every_archiver_setting_is_documented():
    names = [n for n in dir(settings) if n.startswith("ARCHIVER_")]
    assert names
    missing = sorted(set(names) - documented_settings())
    assert not missing, f"settings named nowhere in README.md or docs/: {missing}"


def test_every_setting_a_settings_table_lists_exists():
    for path in DOCS:
        for line, name in settings_table_rows(path.read_text(encoding="utf-8")):
            assert SETTING.fullmatch(name) and hasattr(settings, name), f"{path.name}: no setting {name}: {line}"


def crawl_commands(text: str):
    """Every `archiver crawl …` command written as code: in a code span, or a line of a code block."""
    blocks = re.findall(r"^[ \t]*```[a-z]*\n(.*?)^[ \t]*```", text, re.S | re.M)
    code = [ln for block in blocks for ln in block.splitlines()] + re.findall(r"`([^`\n]+)`", text)
    for line in code:
        if "archiver crawl" in line:
            yield line.split("archiver crawl", 1)[1].split("`")[0].split("#")[0].replace("…", "").rstrip("\\ ")


def test_every_crawl_option_the_docs_use_exists():
    known = {opt for p in crawl.params for opt in p.opts + p.secondary_opts}
    seen = 0
    for path in DOCS:
        for cmd in crawl_commands(path.read_text(encoding="utf-8")):
            seen += 1
            for token in shlex.split(cmd):
                if token.startswith("-"):
                    assert re.split(r"[=[]", token)[0] in known, (path.name, token, cmd)      # --replica[=SPEC]
    assert seen >= 10, seen


def test_crawl_help_documents_full_and_every_exit_status():
    out = CliRunner().invoke(main, ["crawl", "--help"]).output
    assert "--full" in out
    for status in ("0 when", "1 when", "2 on", "75 when"):
        assert status in " ".join(out.split()), status


def test_the_docs_document_each_exit_status():
    doc = (REPO / "docs" / "incremental.md").read_text(encoding="utf-8")
    section = doc.split("### Health and the exit status", 1)[1].split("###", 1)[0]
    for status in ("| 0 |", "| 1 |", "| 2 |", "| 75 |"):
        assert status in section


def test_scrapy_cfg_has_scrapyd_targets_without_trailing_slash():
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(REPO / "scrapy.cfg")
    assert cfg["settings"]["default"] == "archiver.settings"
    for section in ("deploy", "deploy:env"):
        assert cfg[section]["project"] == "chinalco_archive"
        assert not cfg[section]["url"].endswith("/")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", cfg["deploy"]["url"])
    assert "SCRAPYD_URL" in cfg["deploy:env"]["url"]
