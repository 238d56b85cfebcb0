"""Bulk generation: a cohort's items in canonical order, one block row at a time.

Memory stays flat whatever the count: only one row (818 items per distributor) is built at a
time and written before the next. Cores alone cost one string join each (the check digit is
precomputed with the row's suffixes), which is what makes millions per second possible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TextIO, TypeVar, cast

from mhhs_sit.data.partition import ROW_ITEMS, Block
from mhhs_sit.data.points import CSV_COLUMNS
from mhhs_sit.data.render import RowMaker
from mhhs_sit.data.sequence import Stream
from mhhs_sit.errors import ConfigError

FORMATS = ("csv", "json")
_T = TypeVar("_T")


def check_count(stream: Stream, count: int) -> None:
    """Refuse a count the stream cannot supply before anything is written."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ConfigError(f"count must be a whole number >= 0, not {count!r}")
    if count > stream.capacity:
        raise ConfigError(
            f"asked for {count:,} items but this stream holds {stream.capacity:,} "
            f"({len(stream.rows) * ROW_ITEMS:,} per distributor, shared by {stream.workers} "
            f"worker(s)); each distributor added brings as many again"
        )


def _take(chunks: Iterator[list[_T]], count: int) -> Iterator[list[_T]]:
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
    for row, pick in stream.row_groups():
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
    check_count(stream, count)
    return _take(_core_rows(stream), count)


def iter_cores(stream: Stream, count: int) -> Iterator[str]:
    """This worker's first ``count`` cores, one at a time."""
    for chunk in iter_core_chunks(stream, count):
        yield from chunk


Render = Callable[[Block, str, int, int], _T]


def _rendered_rows(stream: Stream, render: Render[_T]) -> Iterator[list[_T]]:
    blocks = stream.blocks
    n = len(blocks)
    for row, pick in stream.row_groups():
        rows = [b.row(row) for b in blocks]
        if stream.workers == 1:
            per_block = []
            for b, r in zip(blocks, rows, strict=True):
                p, h = r.prefix, r.high
                per_block.append([render(b, p + t, h, lo) for lo, t in zip(r.lows, r.tails, strict=True)])
            if n == 1:
                yield per_block[0]
                continue
            # Placeholders, every one replaced by the interleaving slices below.
            chunk = cast("list[_T]", [None] * (ROW_ITEMS * n))
            for d, items in enumerate(per_block):
                chunk[d::n] = items
            yield chunk
            continue
        out = []
        for c in range(pick.start, ROW_ITEMS * n, pick.step):
            col, d = divmod(c, n)
            r = rows[d]
            out.append(render(blocks[d], r.prefix + r.tails[col], r.high, r.lows[col]))
        yield out


def iter_rendered(stream: Stream, count: int, render: Render[_T]) -> Iterator[list[_T]]:
    """This worker's first ``count`` items, each rendered by ``render(block, core, HHH, LLL)``
    (e.g. ``RowMaker.row``), in chunks of up to one block row per distributor."""
    check_count(stream, count)
    return _take(_rendered_rows(stream, render), count)


def iter_record_chunks(stream: Stream, count: int, maker: RowMaker) -> Iterator[list[tuple[str, ...]]]:
    """This worker's first ``count`` metering-point rows (``CSV_COLUMNS`` order), in chunks."""
    return iter_rendered(stream, count, maker.row)


def write_csv(out: TextIO, stream: Stream, count: int, maker: RowMaker) -> int:
    """Write a header and ``count`` rows; returns the number of rows written."""
    chunks = iter_rendered(stream, count, maker.csv_line)  # checks count before the header
    out.write(",".join(CSV_COLUMNS) + "\n")
    written = 0
    for chunk in chunks:
        out.write("".join(chunk))
        written += len(chunk)
    return written


def write_jsonl(out: TextIO, stream: Stream, count: int, maker: RowMaker) -> int:
    """Write ``count`` JSON objects, one per line (JSON Lines); returns the number written."""
    written = 0
    for chunk in iter_rendered(stream, count, maker.json_line):
        out.write("".join(chunk))
        written += len(chunk)
    return written
