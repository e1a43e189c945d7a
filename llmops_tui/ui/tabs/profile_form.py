"""Create or edit a launch profile: the screen of ``llmops_tui.profiles.form`` (fields,
choices, checking the values as profile data), saved by ``profiles.store.save_profile``.

Choices (quantization, dtype, KV-cache dtype, parallelism) come from
llmops_tui.engines.facts for the chosen engine; the model list from the local HF cache.
Problems are shown under the field they concern; nothing typed is lost on a failed save.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from llmops_tui.engines.facts import ENGINES, FACTS
from llmops_tui.profiles.form import FIELDS, FORM_KEYS, choices_for, initial_text, read_base
from llmops_tui.ui.quitsafe import QuitSafeSelect
from llmops_tui.ui.threads import to_ui

if TYPE_CHECKING:
    from llmops_tui.profiles.profile import Profile, ProfileIssue
    from llmops_tui.profiles.store import ProfileEntry


class ProfileForm(ModalScreen[Path | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="profile_form.cancel"),
        Binding("ctrl+s", "save", "Save", id="profile_form.save"),
    ]

    def __init__(self, entry: ProfileEntry | None = None, *, save_dir: Path | None = None) -> None:
        super().__init__()
        self.entry = entry
        self.save_dir = save_dir
        self.base: dict[str, Any] = {}
        self.base_lines = None  # where each key is in the edited file
        if entry is not None:
            self.base, self.base_lines = read_base(Path(entry.path))

    def _initial(self, key: str) -> str:
        if key == "name" and self.base.get("name") is None and self.entry is not None:
            return str(self.entry.name)
        return initial_text(self.base, key)

    def compose(self) -> ComposeResult:
        engine = self._initial("engine") or "vllm"
        title = f"Edit profile {self.entry.name}" if self.entry else "New profile"
        with Vertical():
            yield Static(f"{title}  [dim]ctrl+s save · Esc cancel[/dim]", id="form-title")
            with VerticalScroll():
                for key, label, kind in FIELDS:
                    with Horizontal(classes="row"):
                        yield Label(label)
                        if key == "engine":
                            yield QuitSafeSelect(
                                [(FACTS[e].label, e) for e in ENGINES],
                                value=engine if engine in ENGINES else Select.NULL,
                                id="f-engine",
                                compact=True,
                            )
                        elif kind == "choice":
                            yield self._choice(key, engine)
                        else:
                            yield Input(self._initial(key), id=f"f-{key}", compact=True)
                    yield Static("", id=f"err-{key}", classes="field-error")
                    if key == "model":
                        with Horizontal(classes="row"):
                            yield Label("  from cache")
                            yield QuitSafeSelect(
                                [], id="f-cached", compact=True, prompt="scanning the HF cache…"
                            )
            yield Static("", id="form-errors")
            with Horizontal(id="form-buttons"):
                yield Button("Save", id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def _choice(self, key: str, engine: str) -> Select:
        options = [(c, c) for c in choices_for(engine, key)]
        current = self._initial(key)
        if current and current not in dict(options):
            options.insert(0, (f"{current} (not known to {engine})", current))
        return QuitSafeSelect(
            options,
            value=current or Select.NULL,
            id=f"f-{key}",
            prompt="engine default",
            compact=True,
        )

    def on_mount(self) -> None:
        self.query_one("#f-name", Input).focus()
        self._apply_engine(self._initial("engine") or "vllm", initial=True)
        self.scan_cache()

    @work(thread=True, exclusive=True, group="form-cache")
    def scan_cache(self) -> None:
        try:
            from llmops_tui.hub.cache import scan_cache

            repos = [m.repo_id for m in scan_cache().models]
            error = None
        except Exception as exc:  # no hub install, unreadable cache: say it, keep typing
            repos, error = [], str(exc) or type(exc).__name__
        to_ui(self, self._show_cached, repos, error)

    def _show_cached(self, repos: list[str], error: str | None) -> None:
        select = self.query_one("#f-cached", Select)
        select.set_options([(r, r) for r in repos])
        if error:
            select.prompt = f"cache unreadable: {error[:50]}"
        else:
            select.prompt = f"{len(repos)} cached model(s)" if repos else "no cached models"

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "f-cached" and isinstance(event.value, str):
            self.query_one("#f-model", Input).value = event.value
        elif event.select.id == "f-engine" and isinstance(event.value, str):
            self._apply_engine(event.value)

    def _apply_engine(self, engine: str, initial: bool = False) -> None:
        facts = FACTS.get(engine)
        if facts is None:
            return
        for key in ("quantization", "dtype", "kv_cache_dtype"):
            select = self.query_one(f"#f-{key}", Select)
            if initial:
                continue
            keep = select.value
            options = [(c, c) for c in choices_for(engine, key)]
            select.set_options(options)
            if isinstance(keep, str) and keep in dict(options):
                select.value = keep
        for key, supported in (
            ("pipeline_parallel", facts.pipeline_parallel),
            ("data_parallel", facts.data_parallel),
            ("max_num_seqs", facts.max_num_seqs),
        ):
            field = self.query_one(f"#f-{key}", Input)
            field.disabled = not supported
            field.placeholder = "" if supported else f"not supported by {facts.label}"
            if not supported:
                field.value = ""
        port = self.query_one("#f-port", Input)
        port.placeholder = f"default {facts.default_port}"

    # -- save -----------------------------------------------------------------

    def raw_values(self) -> dict[str, str]:
        raw: dict[str, str] = {}
        for key, _, _kind in FIELDS:
            widget = self.query_one(f"#f-{key}")
            if isinstance(widget, Select):
                raw[key] = widget.value if isinstance(widget.value, str) else ""
            else:
                raw[key] = widget.value
        return raw

    def target_path(self, name: str) -> Path:
        from llmops_tui.config import paths

        directory = self.save_dir or paths().user_profiles
        if self.entry is not None and self.entry.path.parent == directory:
            return self.entry.path  # edit in place (a rename keeps the file)
        return directory / f"{name}.toml"

    def action_save(self) -> None:
        from llmops_tui.profiles.form import check_form

        raw = self.raw_values()
        path = self.target_path(raw["name"].strip() or "unnamed")
        in_place = self.entry is not None and path == self.entry.path  # its lines are right
        profile, issues = check_form(raw, self.base, path, self.base_lines if in_place else None)
        self.show_issues(issues)
        if profile is not None:
            if self.entry is None and path.exists():
                self.show_issues([_issue(path, "name", f"{path.name} exists; pick another name")])
                return
            self.save(profile, path)

    def show_issues(self, issues: list[ProfileIssue]) -> None:
        by_field: dict[str, list[str]] = {}
        general: list[str] = []
        for issue in issues:
            key = issue.field if issue.field in FORM_KEYS else None
            if key == "engine_env":
                key = "env"
            text = ("warning: " if issue.severity == "warning" else "") + issue.message
            (by_field.setdefault(key, []) if key else general).append(text if key else str(issue))
        for key, _, _ in FIELDS:
            err = self.query_one(f"#err-{key}", Static)
            messages = by_field.get(key, [])
            err.update("\n".join(messages))
            err.set_class(bool(messages), "shown")
        n = sum(1 for i in issues if i.severity == "error")
        summary = [f"{n} problem(s): see the fields marked above"] if n else []
        self.query_one("#form-errors", Static).update("\n".join(summary + general[:3]))

    @work(thread=True, exclusive=True, group="form-save")
    def save(self, profile: Profile, path: Path) -> None:
        from llmops_tui.profiles.profile import ProfileError
        from llmops_tui.profiles.store import save_profile

        try:
            saved = save_profile(profile, path)
        except ProfileError as exc:
            to_ui(self, self.show_issues, exc.issues)
            return
        except OSError as exc:
            to_ui(
                self, self.query_one("#form-errors", Static).update, f"cannot write {path}: {exc}"
            )
            return
        to_ui(self, self.dismiss, saved)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _issue(path: Path, field: str, message: str) -> ProfileIssue:
    from llmops_tui.profiles.profile import ProfileIssue

    return ProfileIssue(str(path), field, message)
