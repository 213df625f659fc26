"""Item pipelines, one step per module: extract -> validate -> dedupe -> store."""
