"""The creation engine: task identity, keys, the kinds table, exactly-once strategies, task state, bulk runs."""
