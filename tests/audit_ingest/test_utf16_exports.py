"""Exports in UTF-16 with a BOM, as Windows PowerShell 5.1's `>` writes them
(`wevtutil qe Security /f:xml > sec.xml`): read like their UTF-8 twins. They were
refused as "not an event log"."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from kerbfirst.audit.ingest import IngestStats, iter_events

XML = """<?xml version="1.0" encoding="utf-16"?>
<Events><Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>\
<Provider Name="Microsoft-Windows-Security-Auditing"/><EventID>4776</EventID>\
<TimeCreated SystemTime="2024-05-01T10:00:00.1234567Z"/><EventRecordID>{n}</EventRecordID>\
<Channel>Security</Channel><Computer>DC01</Computer></System><EventData>\
<Data Name="TargetUserName">zoë</Data><Data Name="Workstation">WS9</Data>\
<Data Name="Status">0x0</Data></EventData></Event>
</Events>"""
JSONL = json.dumps({
    "EventID": 4624, "SourceName": "Microsoft-Windows-Security-Auditing",
    "Channel": "Security", "Hostname": "SRV01", "EventTime": "2024-05-01 10:00:00",
    "EventRecordID": 7, "AuthenticationPackageName": "NTLM", "LmPackageName": "NTLM V1",
    "TargetUserName": "Jürgen", "TargetDomainName": "CORP", "WorkstationName": "WS1"}) + "\r\n"
CSV = ("EventID,Hostname,EventTime,SourceName,Channel,EventRecordID,"
       "AuthenticationPackageName,LmPackageName,TargetUserName\r\n"
       '4624,SRV03,2024-05-01T10:00:00Z,Microsoft-Windows-Security-Auditing,Security,5,'
       'NTLM,NTLM V2,"Åsa"\r\n')


@pytest.mark.parametrize(("name", "text", "user"), [
    ("sec.xml", XML.format(n=5), "zoë"), ("ntlm.jsonl", JSONL, "Jürgen"),
    ("ntlm.csv", CSV, "Åsa")])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("gz", [False, True])
def test_utf16_export_reads_like_utf8(tmp_path: Path, name: str, text: str, user: str,
                                      encoding: str, gz: bool) -> None:
    bom = b"\xff\xfe" if encoding == "utf-16-le" else b"\xfe\xff"
    data = bom + text.encode(encoding)
    path = tmp_path / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data) if gz else data)
    stats, warnings = IngestStats(), []
    events = list(iter_events([path], stats=stats, warn=warnings.append))
    assert [e.user for e in events] == [user], warnings
    assert stats.records_corrupt == 0


def test_long_utf16_file_crosses_read_boundaries(tmp_path: Path) -> None:
    body = "".join(XML.format(n=n).split("\n", 1)[1].removeprefix("<Events>")
                   .removesuffix("</Events>") for n in range(1, 3001))
    path = tmp_path / "big.xml"
    path.write_bytes(b"\xff\xfe" + f"<Events>{body}</Events>".encode("utf-16-le"))
    stats, warnings = IngestStats(), []
    events = list(iter_events([path], stats=stats, warn=warnings.append))
    assert sorted(e.record_id for e in events) == list(range(1, 3001)), warnings[:3]
