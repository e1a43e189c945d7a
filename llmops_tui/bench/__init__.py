"""Load testing: workloads, load shapes, runner, metrics (``vllm bench serve`` definitions), store."""
