"""What `pip install .` ships: the library with every data file it reads, and nothing that exists
only for the tests (the harness is a distribution of its own, harness/pyproject.toml)."""
from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("archiver", "spiders", "pipelines")


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = out.glob("chinalco_archive-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


def tracked(*paths: str) -> list[str]:
    return subprocess.run(["git", "ls-files", *paths], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout.split()


def test_the_wheel_ships_every_file_of_the_packages(wheel_names):
    missing = [f for f in tracked(*PACKAGES) if f not in wheel_names]
    assert not missing, f"not in the wheel: {missing}"


def test_the_wheel_holds_no_harness_tests_fixtures_or_benchmarks(wheel_names):
    top = {name.split("/", 1)[0] for name in wheel_names if "/" in name}
    assert top - {"archiver", "spiders", "pipelines"} == {n.split("/", 1)[0] for n in wheel_names
                                                          if n.split("/", 1)[0].endswith(".dist-info")}


def test_the_library_never_imports_the_harness_or_the_tests():
    offenders = []
    for path in (p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names
                          if n.split(".")[0] in ("harness", "tests", "bench")]
    assert not offenders
