"""The demo path: a real engine on any box (vLLM's CPU build serving a tiny random-weight
Llama) from one command, ``llmops demo``, or from the Engines tab.

``tiny_model.py`` is run by path with the engine's interpreter (it imports nothing of the
app); ``setup.py`` holds the steps (engine env, model, profile, start, wait ready).
"""
