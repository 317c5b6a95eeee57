"""Speed and memory benchmarks for drywet: `python -m benchmarks.run`, `python -m benchmarks.framing_memory`."""
