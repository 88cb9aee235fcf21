"""glibc's malloc thresholds for the hf backend on CPU (cpu_malloc.py): applied where glibc is, and opt-out."""

from __future__ import annotations

import platform

import pytest

from harness.backends import cpu_malloc

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc",
                           reason="mallopt and malloc_trim are glibc's; elsewhere the module does nothing")


@glibc
def test_glibc_takes_the_thresholds_and_gives_pages_back():
    assert cpu_malloc.keep_freed_memory() is True
    cpu_malloc.release_freed_memory()  # returns nothing; must not raise


def test_a_missing_symbol_is_not_an_error(monkeypatch):
    monkeypatch.setattr(cpu_malloc, "_glibc", lambda symbol: None)
    assert cpu_malloc.keep_freed_memory() is False
    cpu_malloc.release_freed_memory()


@glibc
def test_the_backend_applies_it_on_cpu_unless_told_not_to(tiny_model_dir):
    from harness.backends.hf import HFBackend

    assert HFBackend(str(tiny_model_dir), device="cpu").keeps_freed_memory
    assert not HFBackend(str(tiny_model_dir), device="cpu", keep_freed_memory=False).keeps_freed_memory
