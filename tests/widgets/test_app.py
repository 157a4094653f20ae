"""StudioApp: header, empty-studio onboarding, lazily built tabs, close."""

from __future__ import annotations

from studio._studio import Studio
from widgets import CharacterPanel, QualityPanel, QueuePanel, StoryboardPanel, StudioApp


def test_header_names_home_database_and_backend(studio: Studio) -> None:
    app = StudioApp(studio, auto_refresh=False)
    assert str(studio.home) in app.header.value and "sqlite:///" in app.header.value
    assert "animatic" in app.header.value and "none configured" in app.server_status.value
    assert app.tabs.titles == ("Characters", "Storyboard", "Render queue", "Quality")


def test_tabs_build_their_panel_when_first_opened(studio: Studio) -> None:
    app = StudioApp(studio, auto_refresh=False)
    assert isinstance(app.characters, CharacterPanel)
    assert app.storyboard is None and app.queue is None and app.quality is None
    for index, kind in enumerate((StoryboardPanel, QueuePanel, QualityPanel), start=1):
        app.tabs.selected_index = index
        assert isinstance(app.panels[-1], kind)
        assert app.tabs.children[index].children == (app.panels[-1].widget,)
    app.close()
    assert app.widget.comm is None


def test_an_empty_studio_offers_the_demo(empty_studio: Studio) -> None:
    app = StudioApp(empty_studio, auto_refresh=False)
    assert app.import_demo.layout.display is None and app.tabs.children == ()
    assert "import the demo" in app.feedback.last_message
    app.import_demo.click()
    assert app.feedback.last_level == "success"
    assert app.project.value == "Neon Tide" and app.import_demo.layout.display == "none"
    assert app.characters is not None and app.characters.selector.options[:2] == ("Luna", "Kai")


def test_open_uses_the_environment(studio: Studio, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("STUDIO_HOME", str(studio.home))
    app = StudioApp.open()
    try:
        assert app.project.value == "Neon Tide"
    finally:
        app.close()


def test_a_new_show_opens_on_the_storyboard(studio: Studio) -> None:
    app = StudioApp(studio, auto_refresh=False)
    app.new_show.click()
    assert app.feedback.last_level == "warning"
    app.new_title.value = "Paper Moon"
    app.new_show.click()
    assert app.feedback.last_level == "success", app.feedback.last_message
    assert app.project.value == "Paper Moon" and app.project.layout.display is None
    assert app.tabs.selected_index == 1 and app.storyboard is not None
    assert "no episodes yet" in app.storyboard.scene_status.value
    app.new_title.value = "Paper Moon"
    app.new_show.click()
    assert app.feedback.last_level == "error" and "already exists" in app.feedback.last_message
    app.close()
