"""ipywidgets panels for Anime Studio (JupyterLab and Voila)."""

__all__: list[str] = []
