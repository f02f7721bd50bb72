"""Deduplicate the staged files of several workers against each other, before commit.

A parallel ingest (audit/pipeline.py) gives worker w a contiguous range of the
sorted input files; each worker deduplicates against the committed store and its own
input. What is left is a record that two workers both saw: the serial ingest keeps its
first occurrence in file order, i.e. the copy of the lowest worker. So, per day (a
record's day is a function of the record, so a duplicate is always in the same day), a
row of worker w is dropped when its (source, record_id) is in the files of a worker
before w. Only the two key columns are read; a file is rewritten only when it loses
rows, which a folder of distinct hosts' logs never does. Memory: the keys of one day.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kerbfirst.audit.store import write_parquet

# A NUL cannot occur in the decimal record id, so source + NUL + id is unambiguous.
_SEP = "\x00"


def _keys(table: pa.Table) -> pa.ChunkedArray:
    ids = pc.cast(table.column("record_id"), pa.string())
    return pc.binary_join_element_wise(table.column("source"), ids, _SEP)


def drop_earlier_duplicates(per_worker: list[list[Path]]) -> tuple[list[list[Path]], int]:
    """The staged files per worker, minus rows an earlier worker also has (files that
    lose every row are removed); and how many rows were dropped."""
    by_day: dict[Path, list[list[Path]]] = {}
    for w, files in enumerate(per_worker):
        for f in files:
            by_day.setdefault(f.parent, [[] for _ in per_worker])[w].append(f)
    removed: set[Path] = set()
    dropped = 0
    for groups in by_day.values():
        if sum(1 for g in groups if g) < 2:
            continue  # only one worker wrote this day: nothing to compare
        seen: list[pa.ChunkedArray] = []
        for files in groups:
            mine: list[pa.ChunkedArray] = []
            earlier = pa.chunked_array(
                [c for k in seen for c in k.chunks], type=pa.string()
            ).combine_chunks() if seen else None
            for f in files:
                keys = _keys(pq.read_table(f, columns=["source", "record_id"]))
                mine.append(keys)
                if earlier is None:
                    continue
                dup = pc.is_in(keys, value_set=earlier)
                n = pc.sum(dup).as_py() or 0
                if not n:
                    continue
                dropped += n
                if n == len(keys):
                    f.unlink()
                    removed.add(f)
                    continue
                table = pq.read_table(f).filter(pc.invert(dup))
                fresh = f.with_name(f.name + ".new")
                write_parquet(table, fresh)
                fresh.replace(f)
            seen.extend(mine)
    return [[f for f in files if f not in removed] for files in per_worker], dropped
