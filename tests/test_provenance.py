"""Provenance hashes: equal for equal content, different for any change that could change a score."""

from __future__ import annotations

from pathlib import Path

from harness import provenance
from harness.types import Sample


def test_prompt_hash_ignores_key_order_and_sees_every_character():
    m = [{"role": "system", "content": "You are helpful.\n"}, {"role": "user", "content": "hi"}]
    same = [{"content": "You are helpful.\n", "role": "system"}, {"content": "hi", "role": "user"}]
    assert provenance.prompt_hash(m, None) == provenance.prompt_hash(same, None)
    assert provenance.prompt_hash(m, None) != provenance.prompt_hash([{**m[0], "content": "You are helpful."}, m[1]],
                                                                     None)  # a trailing newline is a new prompt
    assert provenance.prompt_hash(m, None) != provenance.prompt_hash(m, [{"type": "function"}])
    assert len(provenance.prompt_hash(m, None)) == provenance.HASH_CHARS


def test_samples_hash_changes_with_the_ground_truth():
    a = [Sample("1", "t", [{"role": "user", "content": "q"}], ground_truth={"f": {"x": [1]}})]
    b = [Sample("1", "t", [{"role": "user", "content": "q"}], ground_truth={"f": {"x": [2]}})]
    assert provenance.samples_hash(a) != provenance.samples_hash(b)
    assert provenance.samples_hash(a) == provenance.samples_hash(list(a))


def test_weights_fingerprint_hashes_small_files_and_describes_large_ones(tmp_path, monkeypatch):
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 1000)
    (tmp_path / "config.json").write_text("{}")
    fp = provenance.weights_fingerprint(tmp_path)
    assert [f["file"] for f in fp] == ["model.safetensors"] and "sha256" in fp[0]
    monkeypatch.setattr(provenance, "WEIGHT_HASH_MAX_BYTES", 10)
    big = provenance.weights_fingerprint(tmp_path)
    assert "sha256" not in big[0] and big[0]["bytes"] == 1000
    assert provenance.weights_fingerprint(tmp_path / "absent") is None


def test_project_commit_names_this_checkout():
    commit = provenance.project_commit()
    root = Path(__file__).resolve().parent.parent
    if (root / ".git").exists():
        assert len(commit.split("+")[0]) == 40
    else:
        assert commit.startswith("rest-harness") or commit == "unknown"
