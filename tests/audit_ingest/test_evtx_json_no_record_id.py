"""evtx_dump-style JSON lines ({"Event": ...}) whose System has no EventRecordID are
kept with a content-derived key, as NXLog lines without RecordNumber are; they were
skipped as corrupt. Re-reading gives the same key."""

from __future__ import annotations

import json
from pathlib import Path

from kerbfirst.audit.ingest import IngestStats, iter_events
from kerbfirst.audit.ingest.values import CONTENT_ID_BASE


def test_event_json_without_record_id_is_kept(tmp_path: Path) -> None:
    doc = {"Event": {
        "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
                   "EventID": 4624, "Channel": "Security", "Computer": "SRV01",
                   "TimeCreated": {"#attributes": {"SystemTime": "2024-05-01T10:00:00Z"}}},
        "EventData": {"AuthenticationPackageName": "NTLM", "LmPackageName": "NTLM V1",
                      "TargetUserName": "bob", "TargetDomainName": "CORP"}}}
    path = tmp_path / "dump.jsonl"
    path.write_text(json.dumps(doc) + "\n")
    keys = []
    for _ in range(2):
        stats, warnings = IngestStats(), []
        events = list(iter_events([path], stats=stats, warn=warnings.append))
        assert len(events) == 1 and stats.records_corrupt == 0, warnings
        keys.append(events[0].record_id)
    assert keys[0] == keys[1] and keys[0] >= CONTENT_ID_BASE
