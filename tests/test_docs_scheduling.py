"""The README documents what a scheduler needs: every ARCHIVER_ setting, the crawl options its
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
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_archiver_setting_is_documented_in_the_readme():
    names = [n for n in dir(settings) if n.startswith("ARCHIVER_")]
    assert names
    missing = [n for n in names if f"`{n}`" not in README and n not in README]
    assert not missing, f"settings missing from README: {missing}"


def test_the_crawl_options_used_in_the_readme_exist():
    known = {opt for p in crawl.params for opt in p.opts + p.secondary_opts}
    lines = [ln for ln in README.splitlines() if "archiver crawl" in ln]
    assert len(lines) >= 4
    for line in lines:
        cmd = line.split("archiver crawl", 1)[1]
        for token in shlex.split(cmd.split("`")[0].split("#")[0].replace("…", "")):
            if token.startswith("-"):
                assert token.split("=")[0] in known, (token, line)


def test_crawl_help_documents_full_and_every_exit_status():
    out = CliRunner().invoke(main, ["crawl", "--help"]).output
    assert "--full" in out
    for status in ("0 when", "1 when", "2 on", "75 when"):
        assert status in " ".join(out.split()), status


def test_the_readme_documents_each_exit_status():
    section = README.split("### Health and the exit status", 1)[1].split("###", 1)[0]
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
