"""Safe placement of server-supplied file names under a local root.

ComfyUI tells us ``filename`` and ``subfolder`` for each output. Those strings come
from another machine: :func:`safe_join` only ever returns a path inside ``root``.
It rejects NUL bytes, absolute paths (POSIX, Windows drive or UNC), ``..`` parts,
backslash separators, and any existing symlink on the way that points outside.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from studio.backends.comfyui._exceptions import UnsafePathError

__all__ = ["safe_join", "safe_name"]

_DRIVE = re.compile(r"^[A-Za-z]:")


def _check_part(value: str, *, what: str, server: str) -> list[str]:
    if "\x00" in value:
        raise UnsafePathError(f"{what} {value!r} contains a NUL byte", value=value, server=server)
    if "\\" in value:
        raise UnsafePathError(f"{what} {value!r} contains a backslash", value=value, server=server)
    if value.startswith("/") or _DRIVE.match(value) or os.path.isabs(value):
        raise UnsafePathError(f"{what} {value!r} is an absolute path", value=value, server=server)
    parts = [p for p in PurePosixPath(value).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafePathError(f"{what} {value!r} climbs out with '..'", value=value, server=server)
    return parts


def safe_join(root: Path, subfolder: str, filename: str, *, server: str = "") -> Path:
    """Return ``root/subfolder/filename``, guaranteed to stay inside ``root``.

    Args:
        root: The folder everything must stay in (created if needed by the caller).
        subfolder: Server-supplied subfolder ("" for none).
        filename: Server-supplied file name; must be a single, non-empty name.
        server: Named in the error, for context.

    Raises:
        UnsafePathError: the values would escape ``root`` (also through a symlink).
    """
    sub_parts = _check_part(subfolder, what="subfolder", server=server)
    name_parts = _check_part(filename, what="filename", server=server)
    if len(name_parts) != 1:
        raise UnsafePathError(f"filename {filename!r} is not a single file name",
                              value=filename, server=server)
    real_root = root.resolve()
    target = real_root.joinpath(*sub_parts, *name_parts)
    # resolve() follows symlinks that already exist on the way (strict=False).
    if not target.resolve().is_relative_to(real_root):
        raise UnsafePathError(f"{subfolder}/{filename} resolves outside {root}",
                              value=f"{subfolder}/{filename}", server=server)
    return target


def safe_name(value: str, *, fallback: str = "file") -> str:
    """Reduce any string to a harmless single file-name component."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", value).strip("._")
    return cleaned[:120] or fallback
