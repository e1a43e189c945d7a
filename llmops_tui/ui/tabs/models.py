"""Models tab: cached models, Hub search, details with the fit estimate, downloads, delete.

All Hub / disk / NVML work runs in thread workers; the backend object is
injectable so snapshot tests can use a fake cache and a fake search source.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, ProgressBar, Static

from llmops_tui import hub
from llmops_tui.ui.threads import to_ui

# Search results' columns: hub.search.SEARCH_COLUMNS less the library
RESULT_COLUMNS = ("repo", "downloads", "likes", "task", "gated")


class HubBackend:
    """What the tab calls (from worker threads); the real one is llmops_tui.hub."""

    def scan(self) -> hub.CacheReport:
        return hub.scan_cache()

    def search(self, text: str) -> list[hub.SearchResult]:
        return hub.search_models(text or None, limit=30)

    def details(self, repo_id: str) -> hub.ModelDetails:
        cached = hub.scan_cache().find(repo_id)
        s = hub.HubSettings.from_env()
        if cached is not None and (s.offline or cached.revisions):
            try:
                return hub.local_details(cached, settings=s)
            except hub.HubError:
                pass
        return hub.model_details(repo_id, settings=s)

    def gpus(self):
        from llmops_tui.fit.gpus import read_nvml_gpus  # here: ~9 ms kept out of the cold start

        return read_nvml_gpus()

    def download(self, repo_id: str, progress, cancel: threading.Event) -> hub.DownloadResult:
        return hub.download(repo_id, progress=progress, cancel=cancel)

    def plan_delete(self, repo_id: str) -> hub.DeletePlan:
        return hub.plan_delete(repo_id)

    def save_profile(self, profile) -> Any:
        return hub.save_new_profile(profile)


class ConfirmScreen(ModalScreen[bool]):
    def __init__(self, text: str, ok: str = "Delete") -> None:
        super().__init__()
        self._text, self._ok = text, ok

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._text)
            with Horizontal():
                yield Button(self._ok, variant="error", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "ok")


class EngineChoice(ModalScreen[str | None]):
    def __init__(self, repo_id: str) -> None:
        super().__init__()
        self._repo = repo_id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"New launch profile for {self._repo}")
            with Horizontal():
                yield Button("vLLM", id="vllm", variant="primary")
                yield Button("SGLang", id="sglang")
                yield Button("TGI", id="tgi")
                yield Button("Cancel", id="cancel")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.id)


@dataclass
class _Job:
    repo_id: str
    cancel: threading.Event = field(default_factory=threading.Event)
    row: Horizontal | None = None


class ModelsTab(Vertical):
    BINDINGS = [
        # Short footer labels (100 columns hold them all); the help screen shows the tooltips.
        Binding(
            "slash",
            "focus_search",
            "Search",
            tooltip="Search the Hub",
            id="models.focus_search",
        ),
        Binding(
            "d",
            "download",
            "Download",
            tooltip="Download the selected model",
            id="models.download",
        ),
        Binding(
            "x",
            "cancel_downloads",
            "Cancel",
            tooltip="Cancel downloads",
            id="models.cancel_downloads",
        ),
        Binding("delete", "delete", "Delete", tooltip="Delete from the cache", id="models.delete"),
        Binding(
            "p",
            "new_profile",
            "Profile",
            tooltip="New profile for the selected model",
            id="models.new_profile",
        ),
        Binding(
            "r",
            "refresh",
            "Refresh",
            tooltip="Scan the cache again",
            show=False,
            id="models.refresh",
        ),
    ]

    def __init__(self, backend: HubBackend | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.backend = backend or HubBackend()
        self._selected: str | None = None
        self._details: hub.ModelDetails | None = None
        self._fit = None
        self._jobs: dict[str, _Job] = {}

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search the Hub (Enter) — e.g. llama 3.1 8b instruct", id="search")
        with Horizontal(id="main"):
            with Vertical(id="lists"):
                yield Static("Cached", classes="title", id="cached-title")
                cached = DataTable(id="cached", cursor_type="row", zebra_stripes=True)
                cached.add_columns("Repo", "Size", "Revisions", "Last used")
                yield cached
                yield Static("Search results", classes="title", id="results-title")
                results = DataTable(id="results", cursor_type="row", zebra_stripes=True)
                results.add_columns(*(c.capitalize() for c in RESULT_COLUMNS))
                yield results
            with VerticalScroll(id="details-box"):
                yield Static("select a model", id="details")
        yield Vertical(id="downloads")
        yield Static("scanning the cache…", id="status")

    def on_mount(self) -> None:
        self.load_cache()

    # -- cache
    @work(thread=True, exclusive=True, group="scan")
    def load_cache(self) -> None:
        try:
            report = self.backend.scan()
        except Exception as exc:  # never a traceback on screen
            to_ui(self, self._status, f"cache scan failed: {exc}")
            return
        to_ui(self, self._show_cache, report)

    def _show_cache(self, report: hub.CacheReport) -> None:
        table = self.query_one("#cached", DataTable)
        table.clear()
        for m in report.models:
            revs = ", ".join(
                r.commit[:8] + (f" ({','.join(r.refs)})" if r.refs else "") for r in m.revisions
            )
            size = hub.format_size(m.size_on_disk)
            if m.incomplete_bytes:
                size += f" +{hub.format_size(m.incomplete_bytes)} partial"
            table.add_row(
                m.repo_id, size, revs or "-", hub.format_age(m.last_accessed), key=m.repo_id
            )
        self.query_one("#cached-title", Static).update(
            f"Cached — {len(report.models)} model(s), {hub.format_size(report.size_on_disk)} "
            f"in {report.cache_dir}"
        )
        self._status("d download · Del delete · p new profile · / search · r refresh")

    def take_focus(self) -> None:
        """The tab's keys (d, Del, p, /, r) work once focus is inside it: the cache table
        takes it when the tab is shown (not the search field, where those keys type)."""
        focused = self.app.focused
        if focused is None or self not in focused.ancestors:
            self.query_one("#cached", DataTable).focus()

    # -- search
    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self._status(f"searching for '{event.value}'…")
        self.run_search(event.value.strip())

    @work(thread=True, exclusive=True, group="search")
    def run_search(self, text: str) -> None:
        try:
            results = self.backend.search(text)
        except hub.HubError as exc:
            to_ui(self, self._status, exc.message)
            return
        to_ui(self, self._show_results, text, results)

    def _show_results(self, text: str, results: list[hub.SearchResult]) -> None:
        table = self.query_one("#results", DataTable)
        table.clear()
        for r in results:
            table.add_row(*r.cells(RESULT_COLUMNS), key=r.repo_id)
        self.query_one("#results-title", Static).update(
            f"Search results — {len(results)} for '{text}'"
        )
        self._status(f"{len(results)} result(s); ↑↓ to see details, d to download")
        if results:
            table.focus()

    # -- details
    def on_descendant_focus(self, event) -> None:
        if isinstance(event.widget, DataTable) and event.widget.row_count:
            row = event.widget.cursor_row
            key = event.widget.coordinate_to_cell_key((row, 0)).row_key.value
            if key and key != self._selected:
                self._selected = key
                self.query_one("#details", Static).update(f"{key}\nloading…")
                self.load_details(key)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if not event.data_table.has_focus:  # rows filled in, not a user's move
            return
        repo_id = event.row_key.value if event.row_key else None
        if repo_id and repo_id != self._selected:
            self._selected = repo_id
            self.query_one("#details", Static).update(f"{repo_id}\nloading…")
            self.load_details(repo_id)

    @work(thread=True, exclusive=True, group="details")
    def load_details(self, repo_id: str) -> None:
        try:
            d = self.backend.details(repo_id)
        except hub.HubError as exc:
            to_ui(self, self._show_error, repo_id, exc.message)
            return
        from llmops_tui.fit.estimate import estimate_fit
        from llmops_tui.fit.units import FitError

        fit, fit_error = None, None
        if d.config is not None:
            try:
                fit = estimate_fit(d.config, params=d.params, gpus=self.backend.gpus)
            except FitError as exc:
                fit_error = str(exc)
        to_ui(self, self._show_details, d, fit, fit_error)

    def _show_error(self, repo_id: str, message: str) -> None:
        if repo_id == self._selected:
            self.query_one("#details", Static).update(f"{repo_id}\n\n{message}")

    def _show_details(self, d: hub.ModelDetails, fit, fit_error: str | None) -> None:
        if d.repo_id != self._selected:
            return
        self._details, self._fit = d, fit
        gated = {False: "no", None: "?"}.get(
            d.gated, f"yes ({d.gated}) — needs HF_TOKEN with access"
        )
        lines = [
            f"[b]{d.repo_id}[/b]  ({'cache' if d.source == 'cache' else 'Hub'})",
            f"license {d.license or '?'} · gated {gated}",
            f"params {d.params:,} (safetensors metadata)"
            if d.params
            else (f"params ≈ {fit.params:,} (config.json estimate)" if fit else "params ?"),
            f"dtype {d.dtype or '?'} · quantization {d.quantization or 'none'}",
            f"{len(d.files)} files, {hub.format_size(d.total_size)}"
            + (f" (weights {hub.format_size(d.weights_size)})" if d.weights_size else ""),
        ]
        if d.cached:
            lines.append(f"cached: {hub.format_size(d.cached.size_on_disk)}")
        lines.append("")
        if fit is not None:
            colour = "green" if fit.fits else ("yellow" if not fit.gpus else "red")
            lines.append(f"[b]Will it fit?[/b] [{colour}]{fit.verdict}[/{colour}]")
            lines += [f"• {line}" for line in fit.lines if line != fit.verdict]
        elif fit_error:
            lines.append(f"fit: {fit_error}")
        elif d.config_error:
            lines.append(f"config.json: {d.config_error}")
        else:
            lines.append("no config.json: no fit estimate")
        self.query_one("#details", Static).update("\n".join(lines))

    # -- downloads
    def action_download(self) -> None:
        repo_id = self._selected
        if not repo_id:
            self._status("select a model first")
            return
        if repo_id in self._jobs:
            self._status(f"{repo_id} is already downloading")
            return
        job = _Job(repo_id)
        label = Label(f"{repo_id}: starting…")
        bar = ProgressBar(total=None, show_eta=False)
        job.row = Horizontal(label, bar, classes="dl-row")
        self._jobs[repo_id] = job
        self.query_one("#downloads", Vertical).mount(job.row)
        self.run_download(job)

    @work(thread=True, group="download")
    def run_download(self, job: _Job) -> None:
        def progress(p: hub.DownloadProgress) -> None:
            to_ui(self, self._show_progress, job, p)

        try:
            res = self.backend.download(job.repo_id, progress, job.cancel)
            msg = f"{job.repo_id}: done, {hub.format_size(res.downloaded_bytes)} in {res.seconds:.0f} s"
        except hub.HubError as exc:
            msg = exc.message
        to_ui(self, self._download_finished, job, msg)

    def _show_progress(self, job: _Job, p: hub.DownloadProgress) -> None:
        if job.row is None:
            return
        label = job.row.query_one(Label)
        bar = job.row.query_one(ProgressBar)
        if p.bytes_total:
            bar.update(total=p.bytes_total, progress=p.bytes_done)
        label.update(p.line())

    def _download_finished(self, job: _Job, message: str) -> None:
        self._jobs.pop(job.repo_id, None)
        if job.row is not None:
            job.row.query_one(Label).update(message)
        self.notify(message, timeout=8)
        self.load_cache()

    def action_cancel_downloads(self) -> None:
        for job in self._jobs.values():
            job.cancel.set()
        if self._jobs:
            self._status("cancelling (partial files are kept; download again to resume)")

    # -- delete
    def action_delete(self) -> None:
        repo_id = self._selected
        if not repo_id:
            return
        self.plan_and_confirm(repo_id)

    @work(thread=True, group="delete")
    def plan_and_confirm(self, repo_id: str) -> None:
        try:
            plan = self.backend.plan_delete(repo_id)
        except hub.HubError as exc:
            to_ui(self, self._status, exc.message)
            return
        to_ui(self, self._confirm_delete, plan)

    def _confirm_delete(self, plan: hub.DeletePlan) -> None:
        def done(ok: bool | None) -> None:
            if ok:
                self.execute_delete(plan)

        self.app.push_screen(ConfirmScreen(plan.describe() + "?"), done)

    @work(thread=True, group="delete")
    def execute_delete(self, plan: hub.DeletePlan) -> None:
        try:
            plan.execute()
            msg = plan.describe().replace("delete", "deleted", 1).replace("frees", "freed")
        except OSError as exc:
            msg = f"delete failed: {exc}"
        to_ui(self, self.notify, msg)
        to_ui(self, self.load_cache)

    # -- new profile
    def action_new_profile(self) -> None:
        repo_id = self._selected
        if not repo_id:
            self._status("select a model first")
            return

        def chosen(engine: str | None) -> None:
            if engine:
                self.make_profile(engine, repo_id)

        self.app.push_screen(EngineChoice(repo_id), chosen)

    @work(thread=True, group="profile")
    def make_profile(self, engine: str, repo_id: str) -> None:
        from llmops_tui.profiles.profile import ProfileError

        d = self._details if self._details and self._details.repo_id == repo_id else None
        fit = self._fit if d else None
        profile = hub.profile_for_model(
            engine,
            repo_id,
            tensor_parallel=(fit.tp if fit and fit.tp else 1),
            quantization=d.quantization if d else None,
            gated=d.gated if d else None,
            max_model_len=fit.context_len if fit and fit.fits else None,
        )
        try:
            path = self.backend.save_profile(profile)
            msg = f"saved profile {path}"
        except (ProfileError, OSError) as exc:
            msg = f"could not save the profile: {exc}"
        to_ui(self, self.notify, msg)

    def action_refresh(self) -> None:
        self.load_cache()

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)
