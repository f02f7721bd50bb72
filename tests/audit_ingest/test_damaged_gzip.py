"""A damaged .gz never aborts an ingest: a cut-off .evtx.gz gives the records before the
cut, and deflate damage inside a .jsonl.gz (zlib.error, not an OSError) is a skipped,
counted record, not a traceback; the other files are still read."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from kerbfirst.audit.ingest import IngestStats, iter_events
from kerbfirst.cli.audit import app


def _line(record_id: int) -> str:
    return json.dumps({
        "EventID": 4624, "SourceName": "Microsoft-Windows-Security-Auditing",
        "Channel": "Security", "Hostname": "SRV01", "EventTime": "2024-05-01 10:00:00",
        "EventRecordID": record_id, "AuthenticationPackageName": "NTLM",
        "LmPackageName": "NTLM V2", "TargetUserName": "bob", "TargetDomainName": "CORP",
        "IpAddress": "10.0.0.5", "WorkstationName": "WS1"}) + "\n"


def _deflate_damaged(text: bytes) -> bytes:
    """`text` as a good gzip member, then a second member whose header is fine but whose
    first deflate block has the reserved type 11 (RFC 1951 3.2.3): zlib fails on it."""
    return gzip.compress(text) + gzip.compress(b"")[:10] + b"\xff" * 32


def test_deflate_damage_in_jsonl_gz_is_a_skipped_record(tmp_path: Path) -> None:
    text = "".join(_line(i) for i in range(1, 3001)).encode()
    (tmp_path / "a.jsonl.gz").write_bytes(_deflate_damaged(text))
    (tmp_path / "b.jsonl").write_text(_line(999_999))
    stats, warnings = IngestStats(), []
    events = list(iter_events([tmp_path], stats=stats, warn=warnings.append))
    assert any(e.record_id == 999_999 for e in events)  # the next file was still read
    assert len(events) > 1  # and the records before the damage
    assert any("damaged" in w for w in warnings)


def test_truncated_evtx_gz_gives_the_records_before_the_cut(evtx_dir: Path,
                                                               tmp_path: Path) -> None:
    full = gzip.compress((evtx_dir / "security.evtx").read_bytes())
    cut = tmp_path / "security.evtx.gz"
    cut.write_bytes(full[: len(full) * 7 // 10])
    (tmp_path / "b.jsonl").write_text(_line(5))
    result = CliRunner().invoke(app, ["ingest", str(cut), str(tmp_path / "b.jsonl"),
                                      "--store", str(tmp_path / "store"), "-q"])
    assert result.exit_code == 0, result.output
    assert "cut short" in result.output
    added = int(result.output.split(" added")[0].rsplit(" ", 1)[-1])
    assert added > 10  # NTLM events of the unpacked part, plus the JSON line
