"""The public surface of studio.assistant is exactly its __all__."""

from __future__ import annotations

import subprocess
import sys

import studio.assistant as assistant
from studio import StudioError


def test_all_lists_every_public_name() -> None:
    public = {
        name
        for name in vars(assistant)
        if not name.startswith("_") and name not in {"annotations"}
    }
    assert set(assistant.__all__) == public
    assert assistant.__all__ == sorted(assistant.__all__, key=lambda n: (not n.isupper(), n))


def test_public_definitions_claim_the_package() -> None:
    for name in assistant.__all__:
        obj = getattr(assistant, name)
        if isinstance(obj, type) or callable(obj):
            assert obj.__module__ == "studio.assistant", name


def test_errors_live_under_studio_error() -> None:
    errors = [getattr(assistant, n) for n in assistant.__all__ if n.endswith("Error")]
    assert len(errors) == 11
    assert all(issubclass(e, assistant.AssistantError) for e in errors)
    assert issubclass(assistant.AssistantError, StudioError)


def test_no_notebook_imports() -> None:
    code = (
        "import sys, studio.assistant; "
        "bad = [m for m in ('ipywidgets', 'IPython', 'widgets') if m in sys.modules]; "
        "sys.exit(', '.join(bad) or None)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
