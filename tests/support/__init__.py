"""What the tests and the benchmarks share: canaries, a task context, connections, payloads, sandbox clients, DAG runs.

One name per thing; nothing here imports the tests themselves or the benchmarks.
"""
