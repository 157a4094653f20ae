"""Shared fixtures. Database fixtures live in tests/_postgres.py and tests/conftest_db.py."""

from __future__ import annotations
