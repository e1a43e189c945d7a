"""Download throughput on loopback: llmops_tui.hub.download vs huggingface_hub.hf_hub_download.

Both fetch the same LFS file from tests/fixtures/fake_hub.py (HTTP on 127.0.0.1),
each into a fresh cache. Ours streams into blobs/<etag>.incomplete, verifies the
sha256 while writing and emits progress; hf_hub_download is the library's own path.

    .venv/bin/python benchmarks/hub_download.py [MiB] [reps]
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

from fake_hub import FakeFile, FakeHub, FakeRepo  # noqa: E402


def _serve(mib: int, conn) -> None:
    fh = FakeHub()
    data = os.urandom(mib * 2**20)
    fh.add(FakeRepo("bench/big", {"model.safetensors": FakeFile(data, lfs=True)}, commit="b" * 40))
    fh.start()
    conn.send(fh.endpoint)
    time.sleep(3600)


def main() -> None:
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    parent, child = mp.Pipe()
    server = mp.Process(target=_serve, args=(mib, child), daemon=True)
    server.start()
    endpoint = parent.recv()  # the server runs in its own process: no GIL sharing with the client
    os.environ["HF_ENDPOINT"] = endpoint
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    from huggingface_hub import hf_hub_download

    from llmops_tui import hub

    events = 0

    def on_progress(_p) -> None:
        nonlocal events
        events += 1

    results: dict[str, list[float]] = {"llmops hub.download": [], "hf_hub_download": []}
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as d:
            s = hub.HubSettings(Path(d), endpoint, None, None, False, Path(d))
            t = time.perf_counter()
            hub.download("bench/big", settings=s, progress=on_progress)
            results["llmops hub.download"].append(time.perf_counter() - t)
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            hf_hub_download(
                "bench/big", "model.safetensors", cache_dir=d, endpoint=endpoint, token=False
            )
            results["hf_hub_download"].append(time.perf_counter() - t)
    server.terminate()
    server.join()
    print(f"{mib} MiB file, {reps} runs each, loopback, 2-core box shared with other jobs")
    for name, times in results.items():
        best = min(times)
        print(
            f"  {name:22s} best {best:.2f} s = {mib / best:7.1f} MiB/s   (all: {', '.join(f'{x:.2f}' for x in times)})"
        )
    print(
        f"  progress callbacks in the last llmops run: {events // reps} (throttled to ≤5/s + per-file)"
    )


if __name__ == "__main__":
    main()
