"""Monitor tab: one pane per GPU (or the host when there is none), one per engine.

Sampling (NVML, psutil, HTTP scrapes, parsing) runs in a worker thread with its
own asyncio loop (``run_monitor_loop``); the UI thread only turns a finished
snapshot into text, once per second, updating panes in place (a pane is mounted
or removed only when a GPU or engine appears or goes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from llmops_tui.telemetry.format import bar, gib, mib, num, pct, sparkline, tokens
from llmops_tui.telemetry.gpu import GpuInfo
from llmops_tui.telemetry.history import History
from llmops_tui.telemetry.host import HostSnapshot
from llmops_tui.telemetry.monitor import (
    MonitorSampler,
    MonitorSnapshot,
    engine_key,
    gpu_key,
    run_monitor_loop,
)
from llmops_tui.telemetry.scrape.stats import ENGINE_LABELS, EngineStats
from llmops_tui.telemetry.targets import EngineTarget
from llmops_tui.ui.messages import MonitorSampled, post

BAR_WIDTH = 20
LABEL_WIDTH = 9
VALUE_WIDTH = 26
NO_ENGINES = (
    "No engines running. Start one in the Engines tab; its KV cache and tokens/s show here."
)


def _spark_width(content_width: int) -> int:
    # label + bar + gap + value + gap, then the sparkline to the edge
    return max(0, content_width - LABEL_WIDTH - BAR_WIDTH - 1 - VALUE_WIDTH - 1)


def _lines(lines: list[Text]) -> Text:
    text = Text("\n").join(lines)
    text.no_wrap = True  # a pane never reflows: long lines are cut at the edge
    text.overflow = "crop"
    return text


def _row(label: str, frac: float | None, value: str, spark: str, style: str = "") -> Text:
    line = Text(label.ljust(LABEL_WIDTH), style="bold")
    line.append(bar(frac, BAR_WIDTH), style=style or _level_style(frac))
    line.append(" " + value.ljust(VALUE_WIDTH)[:VALUE_WIDTH] + " ")
    line.append(spark, style="cyan")
    return line


def _level_style(frac: float | None) -> str:
    if frac is None:
        return "dim"
    return "red" if frac >= 0.95 else "yellow" if frac >= 0.8 else "green"


def gpu_text(g: GpuInfo, history: History, width: int) -> Text:
    sw = _spark_width(width)
    k = gpu_key(g.index)
    if g.error:
        return _lines([Text(g.error, style="bold red")])
    util = None if g.util_percent is None else g.util_percent / 100
    power = g.power_w / g.power_limit_w if g.power_w is not None and g.power_limit_w else None
    lines = [
        _row(
            "memory",
            g.memory_fraction,
            f"{gib(g.memory_used)} / {gib(g.memory_total)} {pct(g.memory_fraction)}",
            sparkline(history.series(k + "mem").last(), sw, 0, 100),
        ),
        _row("util", util, pct(util), sparkline(history.series(k + "util").last(), sw, 0, 100)),
        _row(
            "power",
            power,
            f"{num(g.power_w, ' W')} / {num(g.power_limit_w, ' W')}  {num(g.temperature_c, ' °C')}",
            sparkline(history.series(k + "power").last(), sw, 0, g.power_limit_w or None),
        ),
    ]
    if g.processes:
        for p in g.processes:
            line = Text("  pid ".ljust(LABEL_WIDTH), style="dim")
            line.append(f"{p.pid:<8}{mib(p.used_bytes):>12}  ")
            if p.engine:
                line.append(p.engine, style="bold magenta")
                line.append(" · ")
            line.append(p.process_name or "(not visible in this PID namespace)", style="dim")
            lines.append(line)
    else:
        lines.append(Text("  no processes hold memory on this GPU", style="dim"))
    if g.unsupported:
        lines.append(Text(f"  not reported by this GPU: {', '.join(g.unsupported)}", style="dim"))
    return _lines(lines)


def host_text(reason: str | None, host: HostSnapshot | None, history: History, width: int) -> Text:
    sw = _spark_width(width)
    lines = [Text(reason or "no NVIDIA GPU found", style="bold yellow")]
    if host is not None:
        cpu = host.cpu_percent / 100
        lines.append(
            _row(
                "CPU",
                cpu,
                f"{pct(cpu)} of {host.cpu_count} cores",
                sparkline(history.series("host.cpu").last(), sw, 0, 100),
            )
        )
        lines.append(
            _row(
                "RAM",
                host.memory_fraction,
                f"{gib(host.memory_used)} / {gib(host.memory_total)}",
                sparkline(history.series("host.mem").last(), sw, 0, 100),
            )
        )
    return _lines(lines)


def engine_title(e: EngineStats) -> str:
    kind = ENGINE_LABELS.get(e.engine, e.engine)
    title = f"{e.name} · {kind}" + (f" · {e.model_name}" if e.model_name else "")
    return title + (" · asleep" if e.sleep_state else "")


def sleep_line(state: str) -> str:
    """What a sleeping engine holds, for a person (its GPU memory: the GPU pane's row)."""
    what = {
        "weights_offloaded": "weights in host memory, KV cache freed",
        "discard_all": "weights and KV cache discarded",
    }.get(state, "GPU memory released")
    return f"asleep (sleep mode): {what}; serving nothing until woken"


def engine_latency_text(e: EngineStats) -> str:
    """The engine's own TTFT/ITL: over the last interval, and since it started."""
    life = e.ttft_hist.mean if e.ttft_hist is not None else None
    itl = e.itl_hist.mean if e.itl_hist is not None else None
    now = "-" if e.server_ttft_ms is None else f"{e.server_ttft_ms:,.1f} ms"
    return (
        f"engine TTFT {now} now, {'-' if life is None else f'{life * 1e3:,.1f} ms'} since start"
        f"   ITL {'-' if e.server_itl_ms is None else f'{e.server_itl_ms:,.2f} ms'} now, "
        f"{'-' if itl is None else f'{itl * 1e3:,.2f} ms'} since start"
    )


def engine_text(e: EngineStats, history: History, width: int) -> Text:
    if e.error:
        return _lines([Text(f"⚠ {e.error}", style="bold red")])
    sw = _spark_width(width)
    k = engine_key(e.name)
    label = "KV cache" if e.kv_usage_label == "KV cache" else "budget"
    kv_value = f"{pct(e.kv_cache_usage, 1)} of {tokens(e.kv_capacity_tokens)} tok"
    lines = [
        _row(
            label,
            e.kv_cache_usage,
            kv_value,
            sparkline(history.series(k + "kv").last(), sw, 0, 100),
        )
    ]
    if e.sleep_state:
        lines.insert(0, Text(sleep_line(e.sleep_state), style="bold yellow"))
    gen = Text("tokens/s".ljust(LABEL_WIDTH), style="bold")
    gen_value = f"gen {num(e.gen_tps)}  prompt {num(e.prompt_tps)}"
    gen.append(gen_value.ljust(BAR_WIDTH + 1 + VALUE_WIDTH + 1))
    gen.append(sparkline(history.series(k + "gen_tps").last(), sw), style="magenta")
    lines.append(gen)
    req = Text("requests".ljust(LABEL_WIDTH), style="bold")
    req.append(f"running {num(e.running)}  waiting {num(e.waiting)}")
    req.append(f"   prefix hit {pct(e.prefix_hit_rate)}   preempted {num(e.preemptions)}")
    lines.append(req)
    if e.ttft_hist is not None:  # the engine's own latency histograms (vLLM, SGLang)
        lat = Text("latency".ljust(LABEL_WIDTH), style="bold")
        lat.append(engine_latency_text(e))
        lines.append(lat)
    for r in e.ranks:
        lines.append(
            Text(
                f"  {r.rank:<12} KV {pct(r.kv_cache_usage, 1):>6}  running {num(r.running):>4}  "
                f"waiting {num(r.waiting):>4}  gen {num(r.gen_tps):>7} tok/s",
                style="dim",
            )
        )
    if e.kv_usage_label != "KV cache":
        lines.append(Text(f"  budget = {e.kv_usage_label}", style="dim"))
    return _lines(lines)


class Pane(Widget):
    """A bordered box whose text is built at render time for its real width.

    The worker can deliver a snapshot before layout (width 0); building the text
    in ``render`` means a pane is always drawn for the width it actually has.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._make: Callable[[int], Text] | None = None

    def show(self, make: Callable[[int], Text]) -> None:
        self._make = make
        self.refresh(layout=True)

    def render(self) -> Text:
        return self._make(self.size.width) if self._make else Text("")


class MonitorTab(VerticalScroll):
    def __init__(
        self,
        targets: Callable[[], Sequence[EngineTarget]] | None = None,
        sampler_factory: Callable[[], MonitorSampler] | None = None,
        interval_s: float = 1.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self._targets = targets or (lambda: [])
        self._sampler_factory = sampler_factory
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._history: History | None = None
        self.ticks = 0  # snapshots shown so far (tests wait on it)
        self.last_snapshot: MonitorSnapshot | None = None

    def compose(self) -> ComposeResult:
        yield Static("GPUs", classes="section", id="gpus-title")
        yield Static("reading GPUs…", id="gpus-waiting")
        yield Static("Engines", classes="section", id="engines-title")
        yield Static(NO_ENGINES, id="no-engines")

    def on_mount(self) -> None:
        self.run_worker(self._sample_forever, thread=True, exclusive=True, group="monitor")

    def on_unmount(self) -> None:
        self._stop.set()

    # -- worker thread ---------------------------------------------------------
    def _sample_forever(self) -> None:
        import asyncio

        sampler = (
            self._sampler_factory()
            if self._sampler_factory
            else MonitorSampler(targets=self._targets)
        )
        self._history = sampler.history
        asyncio.run(run_monitor_loop(sampler, self._deliver, self._stop, self.interval_s))

    def _deliver(self, snap: MonitorSnapshot) -> None:
        if not post(self, MonitorSampled(snap)):  # the tab or the app is gone
            self._stop.set()

    # -- UI thread -------------------------------------------------------------
    def _sync_panes(self, prefix: str, wanted: list[str], before: Static) -> dict[str, Pane]:
        existing = {p.id: p for p in self.query(f"Pane.{prefix}").results(Pane)}
        for pid, pane in existing.items():
            if pid not in wanted:
                pane.remove()
        panes = {}
        anchor: Static = before
        for pid in wanted:
            pane = existing.get(pid)
            if pane is None:
                pane = Pane(classes=prefix, id=pid)
                self.mount(pane, after=anchor)
            panes[pid] = pane
            anchor = pane
        return panes

    @on(MonitorSampled)
    def _sampled(self, event: MonitorSampled) -> None:
        self._apply(event.snapshot)

    def _apply(self, snap: MonitorSnapshot) -> None:
        history = self._history or History()
        gpus = snap.gpus
        self.query_one("#gpus-waiting", Static).display = False
        gpus_title = self.query_one("#gpus-title", Static)
        if gpus.available:
            gpus_title.update(f"GPUs · {len(gpus.gpus)} · driver {gpus.driver_version or '?'}")
            ids = [f"gpu-{g.index}" for g in gpus.gpus]
            panes = self._sync_panes("gpu", ids, gpus_title)
            self._sync_panes("host", [], gpus_title)
            for g, pid in zip(gpus.gpus, ids):
                pane = panes[pid]
                pane.border_title = f"GPU {g.index} · {g.name}"
                pane.set_class(bool(g.error), "error")
                pane.show(partial(gpu_text, g, history))
        else:
            gpus_title.update("GPUs")
            self._sync_panes("gpu", [], gpus_title)
            pane = self._sync_panes("host", ["host"], gpus_title)["host"]
            pane.border_title = "Host (no NVIDIA GPU)"
            pane.show(partial(host_text, gpus.reason, snap.host, history))

        engines_title = self.query_one("#engines-title", Static)
        self.query_one("#no-engines", Static).display = not snap.engines
        ids = [f"engine-{i}" for i in range(len(snap.engines))]
        panes = self._sync_panes("engine", ids, engines_title)
        for e, pid in zip(snap.engines, ids):
            pane = panes[pid]
            pane.border_title = engine_title(e)
            pane.set_class(not e.ok, "error")
            pane.show(partial(engine_text, e, history))
        self.last_snapshot = snap
        self.ticks += 1
