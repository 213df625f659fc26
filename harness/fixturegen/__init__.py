"""The fixture generator (generate.py) and structural checker (check.py) of fixtures/: stdlib only.

    python -m harness.fixturegen.generate    # (re)write every generated case, dedup_pairs.json and the catalogue
    python -m harness.fixturegen.check       # the cases agree with what the catalogue says
"""
