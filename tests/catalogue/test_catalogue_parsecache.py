"""Parsed catalogue files are kept between processes, and never served once the file changed."""

from __future__ import annotations

import marshal
from pathlib import Path

from mhhs_sit.catalogue.parsecache import CACHE_DIR, load_cached


def test_a_parsed_file_is_read_back_from_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "types.yaml"
    path.write_text("DateTime: {type: string, minLength: 25}\n", encoding="utf-8")
    first = load_cached(path)
    cache = tmp_path / CACHE_DIR / "types.yaml.marshal"
    assert cache.is_file() and first.problems == []
    blob = cache.read_bytes()
    head = blob[: blob.index(b"\n") + 1 + 20]  # magic line and SHA-1
    cache.write_bytes(head + marshal.dumps({"DateTime": {"type": "string", "from": "cache"}}))
    again = load_cached(path)
    assert again.data == {"DateTime": {"type": "string", "from": "cache"}}  # served without parsing
    assert again.problem(["DateTime"], "located").line == 1  # and problems can still be located


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    path = tmp_path / "types.yaml"
    path.write_text("A: {type: string}\n", encoding="utf-8")
    load_cached(path)
    path.write_text("A: {type: integer}\n", encoding="utf-8")
    assert load_cached(path).data == {"A": {"type": "integer"}}


def test_a_file_with_problems_is_never_cached(tmp_path: Path) -> None:
    path = tmp_path / "blocks.yaml"
    path.write_text("A: 1\nA: 2\n", encoding="utf-8")
    assert load_cached(path).problems and not (tmp_path / CACHE_DIR / "blocks.yaml.marshal").exists()


def test_without_a_writable_cache_the_file_is_simply_parsed(tmp_path: Path) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text("SUP: {name: Supplier}\n", encoding="utf-8")
    (tmp_path / CACHE_DIR).write_text("a file where the cache directory would be", encoding="utf-8")
    assert load_cached(path).data == {"SUP": {"name": "Supplier"}}
