"""CI holds the extraction floors reached (bench/floors.json): never lowered without a measured reason.

Our own fixtures are in the repository and always measured. The shared evaluation sets live
outside it (``../shared/evaldata`` or ``$ARCHIVER_EVALDATA``; their licences keep them out of the
repository): when they are absent those floors are skipped, and the skip says so.
"""
import pytest

from harness import evaluation as ev
from harness.evaladapter import extract

FLOORS = ev.load_floors()
EVALDATA = ev.evaldata_dir()
NO_EVALDATA = "../shared/evaldata not found (set ARCHIVER_EVALDATA to run the evaluation-set floors)"


def assert_floors(name: str, scores: dict) -> None:
    """Every floor of ``name`` is reached; a field no page of the set labels is not measured."""
    measured = {m: floor for m, floor in FLOORS[name].items() if scores.get(f"{m}_n")}
    below = {m: (None if scores.get(m) is None else round(scores[m], 4), floor) for m, floor in measured.items()
             if scores.get(m) is None or scores[m] < floor}
    assert not below, f"{name}: below the pinned floor (score, floor): {below}"


def test_floors_on_our_fixtures():
    scores = ev.score_fixtures(extract)
    assert scores["pages"] >= 1 and scores["errors"] == 0
    assert_floors("fixtures", scores)


@pytest.mark.skipif(EVALDATA is None, reason=NO_EVALDATA)
@pytest.mark.parametrize("name", [n for n in FLOORS if not n.startswith("_") and n != "fixtures"])
def test_floors_on_the_evaluation_sets(name):
    scores = ev.score_evalset("harness.evaladapter:extract", name)
    assert scores["errors"] == 0, "the extractor crashed on a page"
    assert_floors(name, scores)
