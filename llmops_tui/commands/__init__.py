"""Headless subcommands of `llmops` (one module each, see cli.py)."""
