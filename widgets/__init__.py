"""ipywidgets panels for Anime Studio (JupyterLab and Voila).

``StudioApp.open().show()`` shows every panel in tabs; each panel also works alone::

    from studio import Studio
    from widgets import CharacterPanel
    CharacterPanel(Studio.open()).show()

Panels only call ``studio`` functions; the studio never imports this package.
"""

from widgets._app import StudioApp
from widgets._characters import CharacterPanel
from widgets._quality import QualityPanel
from widgets._queue import QueuePanel
from widgets._storyboard import StoryboardPanel

__all__ = ["CharacterPanel", "QualityPanel", "QueuePanel", "StoryboardPanel", "StudioApp"]

# Show users ``widgets.StudioApp``, not the private module (as httpx does).
for _name in __all__:
    globals()[_name].__module__ = "widgets"
