"""Fixtures shared by the trainer's data tests."""

from __future__ import annotations

import pytest

from harness.toolrl import data as toolrl_data


@pytest.fixture()
def toolrl_dir(tmp_path, monkeypatch):
    """An empty ToolRL data folder that is the only place aliases are looked up."""
    d = tmp_path / "toolrl"
    d.mkdir()
    monkeypatch.setattr(toolrl_data, "search_dirs", lambda: [d])
    return d
