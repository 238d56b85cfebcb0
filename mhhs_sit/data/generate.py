"""Bulk generation: a cohort's items in canonical order, one block row at a time.

Memory stays flat whatever the count: only one row (818 items per distributor) is built at a
time and written before the next. Cores alone cost one string join each (the check digit is
precomputed with the row's suffixes), which is what makes millions per second possible.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import TextIO

from mhhs_sit.data.partition import ROW_ITEMS
from mhhs_sit.data.points import CSV_COLUMNS, RowMaker, row_dict
from mhhs_sit.data.sequence import Stream
from mhhs_sit.errors import ConfigError

FORMATS = ("csv", "json")


def _check_count(stream: Stream, count: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ConfigError(f"count must be a whole number >= 0, not {count!r}")
    if count > stream.capacity:
        raise ConfigError(
            f"asked for {count:,} items but this stream holds {stream.capacity:,} "
            f"({len(stream.rows) * ROW_ITEMS:,} per distributor, shared by {stream.workers} "
            f"worker(s)); add distributors or use another seed for more"
        )


def _take(chunks: Iterator[list], count: int) -> Iterator[list]:
    left = count
    for chunk in chunks:
        if left <= 0:
            return
        if len(chunk) > left:
            chunk = chunk[:left]
        left -= len(chunk)
        yield chunk


def _core_rows(stream: Stream) -> Iterator[list[str]]:
    blocks = stream.blocks
    n = len(blocks)
    for row, _first, pick in stream.row_groups():
        if n == 1:
            r = blocks[0].row(row)
            chunk = [r.prefix + t for t in r.tails]
        else:
            chunk = [""] * (ROW_ITEMS * n)
            for d, b in enumerate(blocks):
                r = b.row(row)
                p = r.prefix
                chunk[d::n] = [p + t for t in r.tails]
        yield chunk if stream.workers == 1 else chunk[pick]


def iter_core_chunks(stream: Stream, count: int) -> Iterator[list[str]]:
    """This worker's first ``count`` cores, in lists of up to one block row per distributor."""
    _check_count(stream, count)
    return _take(_core_rows(stream), count)


def iter_cores(stream: Stream, count: int) -> Iterator[str]:
    """This worker's first ``count`` cores, one at a time."""
    for chunk in iter_core_chunks(stream, count):
        yield from chunk


def _record_rows(stream: Stream, maker: RowMaker) -> Iterator[list[tuple[str, ...]]]:
    blocks = stream.blocks
    n = len(blocks)
    make = maker.row
    for row, _first, pick in stream.row_groups():
        rows = [b.row(row) for b in blocks]
        if stream.workers == 1 and n == 1:
            b, r = blocks[0], rows[0]
            base = r.high * 1000
            yield [make(b, r.prefix + t, base + lo) for lo, t in zip(r.lows, r.tails, strict=True)]
            continue
        out = []
        for c in range(pick.start, ROW_ITEMS * n, pick.step):
            col, d = divmod(c, n)
            r = rows[d]
            out.append(make(blocks[d], r.prefix + r.tails[col], r.high * 1000 + r.lows[col]))
        yield out


def iter_record_chunks(stream: Stream, count: int, maker: RowMaker) -> Iterator[list[tuple]]:
    """This worker's first ``count`` metering-point rows (``CSV_COLUMNS`` order), in chunks."""
    _check_count(stream, count)
    return _take(_record_rows(stream, maker), count)


def write_csv(out: TextIO, chunks: Iterator[list[tuple]]) -> int:
    """Write a header and every row; returns the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    written = 0
    for chunk in chunks:
        writer.writerows(chunk)
        written += len(chunk)
    return written


def write_jsonl(out: TextIO, chunks: Iterator[list[tuple]]) -> int:
    """Write one JSON object per line (JSON Lines); returns the number of rows."""
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    written = 0
    for chunk in chunks:
        out.write("".join(dumps(row_dict(r)) + "\n" for r in chunk))
        written += len(chunk)
    return written
