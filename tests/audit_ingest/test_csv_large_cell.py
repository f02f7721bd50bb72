"""A CSV row whose unrelated column holds more than the csv module's default 128 KiB
(a long rendered Message, a command line) still gives its NTLM event; a cell past
the 1 MiB bound is a skipped row, not a failed file."""

from __future__ import annotations

import csv
from pathlib import Path

from kerbfirst.audit.ingest import IngestStats, iter_events

HEADER = ["EventID", "Hostname", "EventTime", "SourceName", "Channel", "EventRecordID",
          "AuthenticationPackageName", "LmPackageName", "TargetUserName", "Comment"]


def _row(n: int, comment: str) -> list[object]:
    return [4624, "SRV03", "2024-05-01T10:00:00Z", "Microsoft-Windows-Security-Auditing",
            "Security", n, "NTLM", "NTLM V2", f"user{n}", comment]


def test_large_unrelated_cell_keeps_the_event(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerow(_row(1, "c"))
        w.writerow(_row(2, "x" * 300_000))
        w.writerow(_row(3, "y" * (2 << 20)))
        w.writerow(_row(4, "c"))
    stats, warnings = IngestStats(), []
    events = list(iter_events([path], stats=stats, warn=warnings.append))
    assert sorted(e.record_id for e in events) == [1, 2, 4], warnings
    assert stats.records_corrupt == 1
