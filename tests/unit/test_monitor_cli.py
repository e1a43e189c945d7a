"""`llmops gpus` and `llmops top` headless, on this machine (no GPU) and with a fake one."""

from __future__ import annotations

import json
import sys

from fake_nvml import MIB, FakeDevice, make_fake_nvml

from llmops_tui.cli import main


def test_gpus_json_without_driver_reports_reason_and_host(capsys, monkeypatch):
    monkeypatch.setitem(
        sys.modules, "pynvml", make_fake_nvml([], init_error="NVMLError_LibraryNotFound")
    )
    assert main(["gpus", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["available"] is False and "libnvidia-ml.so" in out["reason"]
    assert out["host"]["memory_total"] > 0 and out["host"]["cpu_count"] >= 1


def test_gpus_text_with_a_fake_h100(capsys, monkeypatch):
    dev = FakeDevice(used=10_240 * MIB, compute=[(123456, 10_000 * MIB)])
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([dev]))
    assert main(["gpus"]) == 0
    out = capsys.readouterr().out
    assert "NVIDIA H100 80GB HBM3" in out and "79.6 GiB" in out
    assert "10,000 MiB" in out and "pid 123456" in out


def test_top_once_json_with_an_unreachable_engine(capsys, port):
    assert main(["top", "--once", "--json", "--url", f"a=http://127.0.0.1:{port}"]) == 0
    snap = json.loads(capsys.readouterr().out)
    (engine,) = snap["engines"]
    assert engine["ok"] is False and "connection refused" in engine["error"]
    assert "gpus" in snap and "host" in snap


def test_top_rejects_bad_url(capsys):
    assert main(["top", "--once", "--url", "oops"]) == 2
    assert "NAME=URL" in capsys.readouterr().err
