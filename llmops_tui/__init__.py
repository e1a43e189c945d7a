"""llmops-tui: operate local LLM inference servers from one terminal app."""

__version__ = "0.1.0"
