"""Engines tab: profiles (with validation state) and the supervisor's engines.

Keys: l/Enter launch the highlighted profile, n new profile, e edit it; s stop, r restart,
w swap, o/Enter open the log of the highlighted engine. Every supervisor call runs in a
thread worker; refusals and failures come back as notifications, never tracebacks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from llmops_tui.ui.messages import EngineRecords, post
from llmops_tui.ui.tables import cursor_row_key
from llmops_tui.ui.tabs import engines_rows as rows
from llmops_tui.ui.tabs.engines_demo import LaunchHere
from llmops_tui.ui.tabs.engines_log import format_duration
from llmops_tui.ui.tabs.engines_rows import display_path, error_text, short_model
from llmops_tui.ui.threads import to_ui

if TYPE_CHECKING:
    from llmops_tui.launchable import Launchability
    from llmops_tui.profiles.profile import Profile
    from llmops_tui.profiles.store import ProfileEntry
    from llmops_tui.supervisor.core import Supervisor
    from llmops_tui.supervisor.lost import LostEngine
    from llmops_tui.supervisor.records import EngineRecord

RECORDS_POLL_S = 1.0


class EnginesTab(LaunchHere, Vertical):
    BINDINGS = [
        Binding("l", "launch", "Launch", id="engines.launch"),
        Binding("n", "new_profile", "New", tooltip="New profile", id="engines.new_profile"),
        Binding("e", "edit_profile", "Edit", tooltip="Edit profile", id="engines.edit_profile"),
        Binding("s", "stop", "Stop", id="engines.stop"),
        Binding("r", "restart", "Restart", id="engines.restart"),
        Binding("w", "swap", "Swap", id="engines.swap"),
        Binding("o", "open_logs", "Logs", id="engines.open_logs"),
        Binding(
            "d",
            "demo",
            "Demo",
            show=False,
            tooltip="Demo: set up and start a real engine",
            id="engines.demo",
        ),
    ]

    def __init__(
        self,
        supervisor: Supervisor | None = None,
        *,
        profile_dirs: list[Path] | None = None,
        poll_s: float = RECORDS_POLL_S,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self._supervisor = supervisor
        self.profile_dirs = profile_dirs
        self.poll_s = poll_s
        self.entries: dict[str, ProfileEntry] = {}
        self.records: dict[str, EngineRecord] = {}
        self.leftovers: dict[str, list[int]] = {}  # ended engines' processes still running
        self.lost: dict[str, LostEngine] = {}  # unreadable records, launches no record names
        self._phases: dict[str, str] | None = None  # None until the first refresh
        self.busy: set[str] = set()  # engines with an action in flight
        self.here: dict[str, Launchability] = {}  # profile name → Launchability (launchable.py)

    @property
    def supervisor(self) -> Supervisor:
        """The Supervisor, made on first use (from a worker thread: it touches the disk)."""
        if self._supervisor is None:
            from llmops_tui.supervisor.core import Supervisor

            self._supervisor = Supervisor()
        return self._supervisor

    def compose(self) -> ComposeResult:
        yield Static("Profiles  [dim]l launch · n new · e edit · d demo[/dim]", classes="title")
        table = DataTable(id="profiles", cursor_type="row", zebra_stripes=True)
        cols = table.add_columns("Name", "Engine", "Model", "Address", "TP", "Status")
        self._status_col = cols[-1]  # valid or not, and whether it can launch here
        yield table
        # profile text and problems shown as written: "[/x]" in a description is not markup
        yield Static("loading profiles…", id="profile-detail", markup=False)
        yield Static(
            "Engines  [dim]s stop · r restart · w swap · o logs[/dim]",
            classes="title",
            id="engines-title",
        )
        engines = DataTable(id="engine-list", cursor_type="row")
        self._phase_col = engines.add_columns(
            "Engine", "Phase", "Address", "Model", "Progress / uptime"
        )[1]
        yield engines
        yield Static("no engines", id="engine-detail")
        yield Static("", id="engine-cause")

    def on_mount(self) -> None:
        self.query_one("#engine-cause", Static).border_title = "Why it failed"
        # After the first paint: these threads (TOML, psutil, the supervisor's imports)
        # would otherwise compete with it for the GIL.
        self.call_after_refresh(self._start_loading)

    def _start_loading(self) -> None:
        self.load_profiles()
        self.refresh_records()
        if self.poll_s > 0:
            self.set_interval(self.poll_s, self.refresh_records)

    def take_focus(self) -> None:
        """The tab's keys work once focus is inside it (the app calls this when shown)."""
        focused = self.app.focused
        if focused is None or self not in focused.ancestors:
            self.query_one("#profiles", DataTable).focus()

    # -- profiles -----------------------------------------------------------

    @work(thread=True, exclusive=True, group="profiles")
    def load_profiles(self) -> None:
        from llmops_tui.profiles.store import list_profiles

        try:
            entries = list_profiles(self.profile_dirs)
        except OSError as exc:
            to_ui(self, self.notify, str(exc), severity="error")
            return
        to_ui(self, self._show_profiles, entries)
        self._check_here(entries)  # in this worker: probes of interpreters (engines_demo.py)

    def _show_profiles(self, entries: list[ProfileEntry]) -> None:
        table = self.query_one("#profiles", DataTable)
        keep = self.highlighted_profile_name()
        table.clear()
        self.entries = {e.name: e for e in entries}
        for e in entries:
            if e.profile:
                p = e.profile
                table.add_row(
                    p.name,
                    p.engine,
                    escape(short_model(p.model, 24)),  # a path may hold '[': not markup
                    f"{p.host}:{p.port}",
                    str(p.tensor_parallel),
                    self._status_text(e),
                    key=e.name,
                )
            else:
                n = sum(1 for i in e.issues if i.severity == "error")
                table.add_row(
                    e.name, "?", "", "", "", f"✗ {n} errors" if n != 1 else "✗ 1 error", key=e.name
                )
        if keep in self.entries:
            table.move_cursor(row=table.get_row_index(keep))
        from llmops_tui.profiles.store import same_name_note  # loaded by the worker already

        twins = same_name_note(entries)
        if twins and twins != getattr(self, "_twins_said", None):  # once, not at each reload
            self._twins_said = twins
            self.notify(twins, title="Profiles with the same name", severity="warning")
        detail = self.query_one("#profile-detail", Static)
        if not entries:
            detail.update("no profiles found: n makes one")
        else:
            self._show_profile_detail(self.highlighted_profile_name())

    def highlighted_profile_name(self) -> str | None:
        return cursor_row_key(self.query_one("#profiles", DataTable))

    def _show_profile_detail(self, name: str | None) -> None:
        entry = self.entries.get(name) if name else None
        if entry is None:
            return
        detail = self.query_one("#profile-detail", Static)
        if entry.profile:
            p = entry.profile
            text = f"{display_path(entry.path)} · {p.description or p.model}"
            here = self._here_text(entry)  # why it cannot launch here (engines_demo.py)
            detail.update(f"{text}\n{here}" if here else text)
        else:
            detail.update("\n".join(str(i) for i in entry.issues[:4]))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key else None
        if event.data_table.id == "profiles":
            self._show_profile_detail(key)
        elif event.data_table.id == "engine-list" and key in self.records:
            self._show_engine_detail(self.records[key])
        elif event.data_table.id == "engine-list" and key in self.lost:
            self._show_lost_detail(self.lost[key])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "profiles":
            self.action_launch()
        elif event.data_table.id == "engine-list":
            self.action_open_logs()

    # -- records ------------------------------------------------------------

    @work(thread=True, exclusive=True, group="engines-poll")
    def refresh_records(self) -> None:
        try:
            records = self.supervisor.records()
            leftovers = self.supervisor.leftovers(records)
            lost = self.supervisor.lost()
        except Exception as exc:  # a broken state dir must not kill the poller
            to_ui(self, self._show_poll_error, error_text(exc))
            return
        post(self, EngineRecords(records, leftovers, lost))  # bubbles on to the app's header

    def _show_poll_error(self, text: str) -> None:
        self.query_one("#engine-detail", Static).update(f"[b red]cannot read engines:[/] {text}")

    @on(EngineRecords)
    def _show_records(self, event: EngineRecords) -> None:
        records = event.records
        self._announce_transitions(records)
        self.records = {r.name: r for r in records}
        self.leftovers, self.lost = rows.merge_lost(records, event.leftovers, event.lost)
        table = self.query_one("#engine-list", DataTable)
        keep = self.highlighted_engine_name()
        table.clear()
        for r in records:
            left = self.leftovers.get(r.name, [])
            table.add_row(*rows.record_row(r, left, r.name in self.busy), key=r.name)
        for x in self.lost.values():
            table.add_row(*rows.lost_row(x, x.name in self.busy), key=x.name)
        if keep in self.records or keep in self.lost:
            table.move_cursor(row=table.get_row_index(keep))
        name = self.highlighted_engine_name()
        if name in self.records:
            self._show_engine_detail(self.records[name])
        elif name in self.lost:
            self._show_lost_detail(self.lost[name])
        else:
            self.query_one("#engine-detail", Static).update(
                "no engines: pick a profile and press l"
            )
            self.remove_class("failed")

    def _announce_transitions(self, records: list[EngineRecord]) -> None:
        before = self._phases
        self._phases = {r.name: r.phase for r in records}
        if before is None:
            return  # the first look: engines already running are not news
        for r in records:
            old = before.get(r.name)
            if old == r.phase:
                continue
            if r.phase == "sleeping":
                self.app.notify(f"{r.name} asleep: its GPU memory released", title="Engine asleep")
            elif r.phase == "ready" and old == "sleeping":
                self.app.notify(f"{r.name} awake on {r.host}:{r.port}", title="Engine awake")
            elif r.phase == "ready":
                took = f" in {format_duration(r.ready_at - r.started_at)}" if r.ready_at else ""
                self.app.notify(f"{r.name} ready on {r.host}:{r.port}{took}", title="Engine ready")
            elif r.phase == "failed":
                self.app.notify(
                    r.root_cause or "the engine exited during startup",
                    title=f"Engine {r.name} failed",
                    severity="error",
                    timeout=15,
                )

    def highlighted_engine_name(self) -> str | None:
        return cursor_row_key(self.query_one("#engine-list", DataTable))

    def _show_lost_detail(self, x: LostEngine) -> None:
        self.query_one("#engine-detail", Static).update(rows.lost_detail(x))
        self.remove_class("failed")

    def _show_engine_detail(self, r: EngineRecord) -> None:
        from llmops_tui.ui.tabs.engines_log import phase_line

        left = self.leftovers.get(r.name)
        extra = rows.leftover_detail(r, left) if left else ""
        self.query_one("#engine-detail", Static).update(f"{r.name}: {phase_line(r)}{extra}")
        failed = r.phase == "failed"
        self.set_class(failed, "failed")
        if failed:
            self.query_one("#engine-cause", Static).update(
                r.root_cause or "the engine exited; no cause line was recognised in its log"
            )

    # -- actions ------------------------------------------------------------

    def _profile_or_warn(self, name: str | None) -> Profile | None:
        entry = self.entries.get(name) if name else None
        if entry is None:
            self.app.notify("no profile highlighted", severity="warning")
            return None
        if entry.profile is None:
            self.app.notify(
                "\n".join(str(i) for i in entry.issues[:4]),
                title=f"Profile {entry.name} has errors",
                severity="error",
                timeout=10,
            )
            return None
        return entry.profile

    def _engine_or_warn(self, name: str | None) -> EngineRecord | None:
        rec = self.records.get(name) if name else None
        if rec is None:
            self.app.notify("no engine highlighted (the Engines list is empty)", severity="warning")
        return rec

    def action_launch(self, name: str | None = None) -> None:
        profile = self._profile_or_warn(name or self.highlighted_profile_name())
        if profile is not None:
            self.notify(f"launching {profile.name} on {profile.host}:{profile.port}…")
            self.launch(profile)

    @work(thread=True, group="engine-action")
    def launch(self, profile: Profile) -> None:
        self._run_action(profile.name, lambda: self.supervisor.up(profile), "launch")

    def action_stop(self, name: str | None = None) -> None:
        name = name or self.highlighted_engine_name()
        if name in self.lost or (name in self.records and self.leftovers.get(name)):
            self.notify(f"stopping what is left of {name}…")  # orphans, unreadable records
            self.mark_busy(name, "stopping")
            self.stop(name)
            return
        rec = self._engine_or_warn(name)
        if rec is None:
            return
        if not rec.alive_phase:
            self.app.notify(f"{rec.name} is already {rec.phase}", severity="warning")
            return
        self.notify(f"stopping {rec.name}…")
        self.mark_busy(rec.name, "stopping")
        self.stop(rec.name)

    @work(thread=True, group="engine-action")
    def stop(self, name: str) -> None:
        rec = self._run_action(name, lambda: self.supervisor.down(name), "stop")
        if rec is not None:
            freed = {True: ", GPU memory freed", None: "", False: ""}[rec.gpu_memory_released]
            to_ui(self, self.app.notify, f"{name} stopped{freed}")

    def _profile_for_record(self, rec: EngineRecord) -> Profile:
        """The profile an engine was started from: its file, else the same name."""
        from llmops_tui.profiles.store import find_profile, load_profile

        if rec.profile_path and Path(rec.profile_path).is_file():
            return load_profile(rec.profile_path)
        return find_profile(rec.name, self.profile_dirs)

    def action_restart(self, name: str | None = None) -> None:
        rec = self._engine_or_warn(name or self.highlighted_engine_name())
        if rec is not None:
            self.notify(f"restarting {rec.name}…")
            self.mark_busy(rec.name, "restarting")
            self.restart(rec)

    @work(thread=True, group="engine-action")
    def restart(self, rec: EngineRecord) -> None:
        def go() -> EngineRecord:
            profile = self._profile_for_record(rec)
            if rec.alive_phase:
                self.supervisor.down(rec.name)
            return self.supervisor.up(profile)

        self._run_action(rec.name, go, "restart")

    def action_swap(self, name: str | None = None, to: str | None = None) -> None:
        rec = self._engine_or_warn(name or self.highlighted_engine_name())
        if rec is None:
            return
        if to is not None:
            self._start_swap(rec, to)
            return
        from llmops_tui.ui.tabs.engines_pick import ProfilePicker

        names = [n for n, e in self.entries.items() if e.profile is not None and n != rec.name]
        if not names:
            self.app.notify("no other valid profile to swap to", severity="warning")
            return
        self.app.push_screen(
            ProfilePicker(f"Swap {rec.name} for…", names),
            lambda picked: picked and self._start_swap(rec, picked),
        )

    def _start_swap(self, rec: EngineRecord, to: str) -> None:
        profile = self._profile_or_warn(to)
        if profile is not None:
            from llmops_tui.supervisor.sleep import resident_pair

            if resident_pair(rec, self.records.get(profile.name)):  # sleep + wake, no launch
                self.notify(f"swapping {rec.name} → {profile.name}: sleep, then wake…")
            else:
                self.notify(f"swapping {rec.name} → {profile.name}: stopping {rec.name} first…")
            self.mark_busy(rec.name, f"swapping → {profile.name}")
            self.swap(rec.name, profile)

    @work(thread=True, group="engine-action")
    def swap(self, from_name: str, profile: Profile) -> None:
        self._run_action(
            from_name, lambda: self.supervisor.swap(from_name, profile), "swap", notify_ok=True
        )

    def mark_busy(self, name: str, label: str) -> None:
        """Say at once what is under way (the next poll waits for the supervisor's lock)."""
        self.busy.add(name)
        table = self.query_one("#engine-list", DataTable)
        if name in self.records:
            table.update_cell(name, self._phase_col, f"{label} …")

    def _run_action(
        self, name: str, call: Callable[[], EngineRecord], what: str, notify_ok: bool = False
    ) -> EngineRecord | None:
        """Run one supervisor call in this worker thread; report errors as notifications."""
        self.busy.add(name)
        try:
            result = call()
        except Exception as exc:
            to_ui(
                self,
                self.app.notify,
                error_text(exc),
                title=f"{what} {name}: {type(exc).__name__}",
                severity="error",
                timeout=15,
            )
            return None
        finally:
            self.busy.discard(name)
            to_ui(self, self.refresh_records)
        if notify_ok and result is not None:
            to_ui(self, self.app.notify, f"{what} done: {result.name} is {result.phase}")
        return result

    def action_open_logs(self, name: str | None = None) -> None:
        rec = self._engine_or_warn(name or self.highlighted_engine_name())
        if rec is None:
            return
        from llmops_tui.ui.tabs.engines_log import EngineLogScreen

        self.app.push_screen(EngineLogScreen(rec, self._get_record, poll_s=self.poll_s))

    def _get_record(self, name: str) -> EngineRecord | None:
        return self.supervisor.get(name)

    def action_new_profile(self) -> None:
        self._open_form(None)

    def action_edit_profile(self) -> None:
        entry = self.entries.get(self.highlighted_profile_name() or "")
        if entry is None:
            self.app.notify("no profile highlighted", severity="warning")
            return
        self._open_form(entry)

    def _open_form(self, entry: ProfileEntry | None) -> None:
        from llmops_tui.ui.tabs.profile_form import ProfileForm

        def saved(path: Path | None) -> None:
            if path:
                self.app.notify(f"saved {display_path(path)}", title="Profile saved")
                self.load_profiles()

        self.app.push_screen(ProfileForm(entry), saved)
