"""Snapshot and Pilot tests of the Models tab with a fake cache and a fake search source."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input, Static

from llmops_tui import hub
from llmops_tui.fit.gpus import gpus_given
from llmops_tui.fit.units import GIB
from llmops_tui.ui.styles import CSS_PATHS
from llmops_tui.ui.tabs.models import HubBackend, ModelsTab

CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "configs"
DAY = 86400


class FakeBackend(HubBackend):
    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.saved: list = []
        now = time.time()

        def model(repo, size, commit, age_days, refs=("main",), partial=0):
            rev = hub.CachedRevision(commit, refs, size, 5, now - age_days * DAY, Path("/x"))
            return hub.CachedModel(
                repo,
                "model",
                size,
                5,
                now - age_days * DAY,
                now - 10 * DAY,
                Path("/x"),
                (rev,),
                partial,
            )

        self.report = hub.CacheReport(
            Path("/data/hf/hub"),
            (
                model("meta-llama/Llama-3.1-70B-Instruct", 141 * 10**9, "1" * 40, 3),
                model("Qwen/Qwen2.5-7B", 15_231_233_024, "2" * 40, 1, partial=2 * 10**9),
                model("acme/tiny", 5 * 2**20, "3" * 40, 12, refs=()),
            ),
        )

    def scan(self):
        return self.report

    def search(self, text):
        return [
            hub.SearchResult(
                "meta-llama/Llama-3.1-8B-Instruct",
                5_300_000,
                4100,
                "text-generation",
                "transformers",
                "manual",
                None,
            ),
            hub.SearchResult(
                "meta-llama/Llama-3.1-70B-Instruct",
                1_200_000,
                850,
                "text-generation",
                "transformers",
                "manual",
                None,
            ),
            hub.SearchResult(
                "unsloth/Llama-3.1-8B-Instruct-GGUF",
                90_000,
                120,
                "text-generation",
                "gguf",
                False,
                None,
            ),
        ]

    def details(self, repo_id):
        name = "llama-3.1-8b" if "8B" in repo_id else "llama-3.1-70b-fp8"
        cfg = json.loads((CONFIGS / f"{name}.json").read_text())
        return hub.ModelDetails(
            repo_id=repo_id,
            source="hub",
            commit="1" * 40,
            license="llama3.1",
            gated="manual",
            files=[
                hub.RepoFile(f"model-{i:05d}-of-00015.safetensors", 4_900_000_000, True)
                for i in range(15)
            ],
            config=cfg,
            dtype="bfloat16",
            quantization="fp8 (compressed-tensors)" if "70B" in repo_id else None,
        )

    def gpus(self):
        return gpus_given(2, 80 * GIB, "H100")

    def plan_delete(self, repo_id):
        backend = self

        class Plan:
            def describe(self):
                return f"delete all of {repo_id}: frees 5.0 MiB"

            def execute(self):
                backend.deleted.append(repo_id)

        return Plan()

    def save_profile(self, profile):
        self.saved.append(profile)
        return Path(f"/cfg/{profile.name}.toml")


class TabApp(App):
    CSS_PATH = CSS_PATHS  # the app's stylesheets (ui/styles.py)

    def __init__(self, backend):
        super().__init__()
        self.backend = backend

    def compose(self) -> ComposeResult:
        yield ModelsTab(self.backend)


async def _settle(pilot):
    # The Monitor tab's sampler never completes: wait for every other worker.
    pending = [w for w in pilot.app.workers if w.group != "monitor"]
    if pending:  # (an empty list would mean "wait for every worker")
        await pilot.app.workers.wait_for_complete(pending)
    await pilot.pause()


def test_snapshot_cache_list(snap_compare):
    async def run_before(pilot):
        await _settle(pilot)

    assert snap_compare(TabApp(FakeBackend()), terminal_size=(150, 34), run_before=run_before)


def test_snapshot_search_results(snap_compare):
    async def run_before(pilot):
        await _settle(pilot)
        pilot.app.query_one("#search", Input).focus()
        await pilot.press(*"llama 3.1", "enter")
        await _settle(pilot)

    assert snap_compare(TabApp(FakeBackend()), terminal_size=(150, 34), run_before=run_before)


def test_snapshot_details_with_fit(snap_compare):
    async def run_before(pilot):
        await _settle(pilot)
        pilot.app.query_one("#cached").focus()
        await _settle(pilot)
        await _settle(pilot)

    assert snap_compare(TabApp(FakeBackend()), terminal_size=(160, 40), run_before=run_before)


async def test_details_show_fit_and_profile_and_delete():
    backend = FakeBackend()
    app = TabApp(backend)
    async with app.run_test(size=(160, 40)) as pilot:
        await _settle(pilot)
        app.query_one("#cached", DataTable).focus()
        await _settle(pilot)
        text = str(app.query_one("#details", Static).render())
        assert "fits on 2× H100 80.0 GiB with TP=2" in text
        assert "327,680 B" in text
        await pilot.press("p")
        await pilot.pause()
        await pilot.click("#sglang")
        await _settle(pilot)
        assert backend.saved and backend.saved[0].engine == "sglang"
        assert backend.saved[0].tensor_parallel == 2
        assert backend.saved[0].env == {"HF_TOKEN": "$HF_TOKEN"}
        await pilot.press("delete")
        await _settle(pilot)
        await pilot.click("#ok")
        await _settle(pilot)
        assert backend.deleted == ["meta-llama/Llama-3.1-70B-Instruct"]


async def test_download_progress_and_cancel():
    gate = threading.Event()

    class Slow(FakeBackend):
        def download(self, repo_id, progress, cancel):
            files = (hub.FileProgress("a.safetensors", 100, 40, "downloading"),)
            progress(
                hub.DownloadProgress(
                    repo_id,
                    "main",
                    "1" * 40,
                    files,
                    "a.safetensors",
                    40,
                    100,
                    1e6,
                    1.0,
                    "downloading",
                )
            )
            gate.set()
            cancel.wait(5)
            raise hub.DownloadCancelled(
                f"{repo_id}: cancelled in a.safetensors (40 B kept on disk; re-run to resume)"
            )

    app = TabApp(Slow())
    async with app.run_test(size=(160, 40)) as pilot:
        await _settle(pilot)
        app.query_one("#cached", DataTable).focus()
        await _settle(pilot)
        await pilot.press("d")
        for _ in range(50):
            await pilot.pause(0.02)
            if gate.is_set():
                break
        await pilot.pause(0.1)
        label = str(app.query_one(".dl-row Label").render())
        assert "40.0%" in label or " 40.0%" in label
        await pilot.press("x")
        await _settle(pilot)
        label = str(app.query_one(".dl-row Label").render())
        assert "re-run to resume" in label


async def test_real_app_models_tab_on_empty_cache(tmp_path, monkeypatch):
    from llmops_tui.ui.app import LlmopsApp

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    app = LlmopsApp(initial_tab="models")
    async with app.run_test(size=(140, 40)) as pilot:
        await _settle(pilot)
        title = str(app.query_one("#cached-title", Static).render())
        assert "0 model(s)" in title and "empty-cache" in title
