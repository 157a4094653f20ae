"""StudioApp: every panel in tabs under a header (home, database, backend, servers)."""

from __future__ import annotations

import html
import os
import threading

import ipywidgets as w

from studio import Studio
from studio.project import create_project, list_projects, server_health
from widgets._characters import CharacterPanel
from widgets._feedback import Feedback, Panel, close_tree
from widgets._quality import QualityPanel
from widgets._queue import QueuePanel
from widgets._storyboard import StoryboardPanel

__all__ = ["StudioApp"]

TAB_TITLES = ("Characters", "Storyboard", "Render queue", "Quality")


class StudioApp(Panel):
    """The whole studio on one page.

    Panels are built when their tab is first opened, so the page shows its first panel
    without paying for the others (the quality charts import matplotlib).

    Args:
        studio: The open studio.
        project: Project title; ``None`` picks the first project.
        owns_studio: Close ``studio`` in :meth:`close` (true when :meth:`open` made it).
        auto_refresh: Let the queue panel poll in a background thread.
    """

    def __init__(
        self,
        studio: Studio,
        *,
        project: str | None = None,
        owns_studio: bool = False,
        auto_refresh: bool = True,
    ) -> None:
        self.studio = studio
        self._owns_studio = owns_studio
        self._auto_refresh = auto_refresh
        self.feedback = Feedback()
        self.characters: CharacterPanel | None = None
        self.storyboard: StoryboardPanel | None = None
        self.queue: QueuePanel | None = None
        self.quality: QualityPanel | None = None
        guard = self.feedback.guard

        settings = studio.settings
        self.header = w.HTML()
        self.header.add_class("studio-header")
        self.server_status = w.HTML()
        self.server_status.add_class("studio-server-status")
        self.project = w.Dropdown(description="Project", options=[])
        self.project.observe(guard("Switching project")(lambda _: self._rebuild()), names="value")
        self.import_demo = w.Button(description="Import the demo project", icon="download")
        self.import_demo.on_click(guard("Importing the demo")(lambda _: self._import_demo()))
        self.new_title = w.Text(placeholder="title of a new show", layout=w.Layout(width="240px"))
        self.new_title.add_class("studio-new-show-title")
        self.new_show = w.Button(description="New show", icon="plus")
        self.new_show.add_class("studio-new-show")
        self.new_show.on_click(guard("Creating the show")(lambda _: self.create_show()))
        self.tabs = w.Tab()
        self.tabs.observe(guard("Opening the tab")(lambda _: self._open_tab()), names="selected_index")
        backend = (
            f"comfyui ({len(settings.comfyui_urls)} servers)" if settings.comfyui_urls else "animatic (CPU)"
        )
        self.header.value = (
            '<div style="font-size:1.3em;font-weight:bold">Anime Studio</div>'
            f"<small>home <code>{html.escape(str(settings.home))}</code> · database "
            f"<code>{html.escape(settings.database_display())}</code> · "
            f"backend {html.escape(backend)}</small>"
        )
        self.widget = w.VBox(
            [
                self.header,
                self.server_status,
                w.HBox(
                    [self.project, self.import_demo, self.new_title, self.new_show],
                    layout=w.Layout(flex_flow="row wrap"),
                ),
                self.tabs,
                self.feedback.widget,
            ]
        )
        self.widget.add_class("studio-app")
        self._check_servers()
        projects = list_projects(studio)
        self._set_projects(projects, project)
        _warm_up_charts()

    @classmethod
    def open(
        cls,
        *,
        home: str | os.PathLike[str] | None = None,
        database_url: str | None = None,
        project: str | None = None,
    ) -> StudioApp:
        """Open the studio (settings from the arguments, then the environment) and build the app."""
        return cls(Studio.open(home=home, database_url=database_url), project=project, owns_studio=True)

    @property
    def panels(self) -> list[Panel]:
        """The panels built so far."""
        return [p for p in (self.characters, self.storyboard, self.queue, self.quality) if p is not None]

    def close(self) -> None:
        """Close the panels (stopping the queue's polling), the widgets, and an owned studio."""
        for panel in self.panels:
            panel.close()
        close_tree(self.widget)
        if self._owns_studio:
            self.studio.close()

    def create_show(self) -> None:
        """Start a new, empty show named by the title field and open it."""
        title = self.new_title.value.strip()
        if not title:
            self.feedback.warning("Type a title for the new show first.")
            return
        create_project(self.studio, title)
        self.new_title.value = ""
        self._set_projects(list_projects(self.studio), title)
        self.tabs.selected_index = 1
        self.feedback.success(
            f"Created the show {title!r}. Add characters on the Characters tab, "
            "then episodes and scenes on the Storyboard tab."
        )

    # ---------------------------------------------------------------- internals

    def _set_projects(self, projects: list[str], chosen: str | None) -> None:
        self.import_demo.layout.display = None if not projects else "none"
        self.project.layout.display = None if len(projects) > 1 else "none"
        if not projects:
            self.feedback.info(
                "The studio is empty: import the demo project, or start a new show (type its title)."
            )
            self._rebuild()
            return
        self.project.options = projects
        target = chosen if chosen in projects else projects[0]
        if self.project.value == target:
            self._rebuild()
        else:
            self.project.value = target  # the observer rebuilds

    def _rebuild(self) -> None:
        for panel in self.panels:
            panel.close()
        self.characters = self.storyboard = self.queue = self.quality = None
        if self.project.value is None:
            self.tabs.children = []
            return
        placeholders = [w.VBox([w.HTML("<i>Loading…</i>")]) for _ in TAB_TITLES]
        self.tabs.children = placeholders
        self.tabs.titles = TAB_TITLES
        if self.tabs.selected_index != 0:
            self.tabs.selected_index = 0  # the observer opens it
        else:
            self._open_tab()

    def _open_tab(self) -> None:
        index = self.tabs.selected_index
        if index is None or self.project.value is None or index >= len(self.tabs.children):
            return
        project = self.project.value
        holder = self.tabs.children[index]
        panel: Panel | None = None
        if index == 0 and self.characters is None:
            panel = self.characters = CharacterPanel(self.studio, project=project)
        elif index == 1 and self.storyboard is None:
            panel = self.storyboard = StoryboardPanel(self.studio, project=project)
        elif index == 2 and self.queue is None:
            panel = self.queue = QueuePanel(self.studio, project=project, auto_refresh=self._auto_refresh)
        elif index == 3:
            if self.quality is None:
                panel = self.quality = QualityPanel(self.studio, project=project)
            else:
                self.quality.refresh(reload_episodes=True)  # a render may have finished since
        elif index == 1 and self.storyboard is not None:
            self.storyboard.refresh()
        if panel is not None and isinstance(holder, w.Box):
            for old in holder.children:
                old.close()
            holder.children = [panel.widget]

    def _import_demo(self) -> None:
        summary = self.studio.import_demo()
        self.feedback.success(f"Imported the demo: {summary.describe()}")
        self._set_projects(list_projects(self.studio), summary.project)

    def _check_servers(self) -> None:
        urls = self.studio.settings.comfyui_urls
        if not urls:
            self.server_status.value = "<small>servers: none configured (animatic backend)</small>"
            return
        self.server_status.value = "<small>servers: checking…</small>"

        def check() -> None:
            try:
                results = server_health(urls)
                up = sum(1 for r in results if r.ok)
                self.server_status.value = f"<small>servers: {up}/{len(results)} up</small>"
            except Exception as error:  # reported in the header, never lost in a thread
                self.server_status.value = f"<small>servers: cannot check ({html.escape(str(error))})</small>"

        threading.Thread(target=check, name="studio-header-health", daemon=True).start()


def _warm_up_charts() -> None:
    """Import matplotlib in the background: the Quality tab then draws without a wait."""

    def load() -> None:
        from matplotlib.backends import backend_agg  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401

    threading.Thread(target=load, name="studio-chart-warm-up", daemon=True).start()
