"""Engine adapters: Profile → launch spec, readiness rules, log patterns, metric names.

Engines are separate processes: nothing here imports vLLM, SGLang or TGI.
"""
