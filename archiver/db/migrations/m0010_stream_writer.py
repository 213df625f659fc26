"""The writer of a distributed crawl (issue #14, archiver/distributed/writer.py).

* ``stream_applied``: the Redis stream entries whose item is in the archive, written in the
  item's own transaction. The writer acknowledges an entry only after its commit; an entry
  delivered again (the writer was killed between the commit and the acknowledgement) is found
  here and skipped, so nothing is stored twice. Rows of finished runs are deleted.
* ``writer_state``: the writer's counts of a run, committed with each batch, so that a writer
  restarted mid-run goes on counting where the killed one stopped.
"""
NAME = "0010_stream_writer"


def up(db):
    db["stream_applied"].create({"entry_id": str, "run_id": int}, pk="entry_id", if_not_exists=True)
    db["writer_state"].create({"run_id": int, "stats": str, "updated_at": str}, pk="run_id", if_not_exists=True)
