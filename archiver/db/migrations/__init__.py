"""Schema migrations, one module each (``mNNNN_<what>.py`` with ``NAME`` and ``up(db)``)."""
