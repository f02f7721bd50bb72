"""Bad input: clear errors naming the file and the line or offset; raise only when
nothing at all could be read."""

from __future__ import annotations

import gzip

import pytest

from kerbfirst.audit.fixtures import write_fixtures
from kerbfirst.audit.ingest import IngestError, IngestStats, iter_events


def _run(paths):
    stats = IngestStats()
    warnings: list[str] = []
    events = list(iter_events(paths, stats=stats, warn=warnings.append))
    return events, stats, warnings


def test_not_an_evtx_file(tmp_path):
    fake = tmp_path / "Security.evtx"
    fake.write_bytes(b"MZ\x90\x00" + bytes(200))
    with pytest.raises(IngestError, match=r"Security\.evtx: not an EVTX file"):
        _run([fake])


def test_non_event_file(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hello world\n")
    with pytest.raises(IngestError, match=r"notes\.txt: not an event log"):
        _run([f])


def test_truncated_evtx_reads_what_is_there(tmp_path, evtx_dir):
    data = (evtx_dir / "security.evtx").read_bytes()
    cut = tmp_path / "cut.evtx"
    cut.write_bytes(data[: 0x1000 + 0x10000 + 3000])  # one whole chunk and a piece
    _events, stats, warnings = _run([cut])
    assert stats.records_read > 0
    assert stats.records_corrupt >= 1 and all("cut.evtx" in w for w in warnings)


def test_only_header_evtx_is_nothing_read(tmp_path, evtx_dir):
    cut = tmp_path / "header.evtx"
    cut.write_bytes((evtx_dir / "security.evtx").read_bytes()[:0x1000 + 100])
    with pytest.raises(IngestError, match="nothing could be read"):
        _run([cut])


def test_unknown_csv_header(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text("Date,Machine,Code\n2025-01-01,WS1,4624\n")
    with pytest.raises(IngestError) as info:
        _run([f])
    msg = str(info.value)
    assert "export.csv" in msg and "Date, Machine, Code" in msg and "EventID" in msg


def test_malformed_json_line_is_skipped_with_line_number(tmp_path):
    write_fixtures(tmp_path, seed=2, events=10, formats=("winlogbeat",))
    f = tmp_path / "events.winlogbeat.jsonl"
    lines = f.read_text().splitlines()
    lines.insert(3, '{"winlog": {"event_id": "4624", "oops"')
    lines.insert(6, '{"neither": "format"}')
    f.write_text("\n".join(lines) + "\n")
    events, stats, warnings = _run([f])
    assert len(events) == 10 and stats.records_corrupt == 2
    assert "line 4" in warnings[0] and "events.winlogbeat.jsonl" in warnings[0]
    assert "line 7" in warnings[1] and "keys seen" in warnings[1]


def test_malformed_csv_row(tmp_path):
    write_fixtures(tmp_path, seed=2, events=10, formats=("csv",))
    f = tmp_path / "events.csv"
    lines = f.read_text().splitlines()
    lines.insert(2, "2025-01-01,HOST,notanumber")
    f.write_text("\n".join(lines) + "\n")
    events, stats, warnings = _run([f])
    assert len(events) == 10 and stats.records_corrupt == 1
    assert "events.csv: line 3" in warnings[0]


def test_one_bad_file_among_good_ones_does_not_raise(tmp_path):
    write_fixtures(tmp_path, seed=2, events=10, formats=("nxlog",))
    (tmp_path / "junk.bin").write_bytes(b"\x00\x01\x02garbage")
    events, stats, warnings = _run([tmp_path])
    assert len(events) == 10 and stats.files_done == 2
    assert any("junk.bin" in w for w in warnings)


def test_truncated_gzip_keeps_what_was_read(tmp_path):
    write_fixtures(tmp_path, seed=2, events=300, formats=("nxlog",), gz=True)
    f = tmp_path / "events.nxlog.jsonl.gz"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    events, _stats, warnings = _run([f])
    assert 0 < len(events) < 300
    assert any("cut short" in w for w in warnings)


def test_xml_with_doctype_is_refused(tmp_path):
    f = tmp_path / "evil.xml"
    f.write_text('<!DOCTYPE x [<!ENTITY a "aaaa">]><Events><Event/></Events>')
    with pytest.raises(IngestError):
        _run([f])


def test_malformed_xml_names_the_line(tmp_path):
    write_fixtures(tmp_path, seed=2, events=20, formats=("xml",))
    f = tmp_path / "events.xml"
    lines = f.read_text().splitlines()
    lines.insert(11, "<Event><System><oops></Event>")
    f.write_text("\n".join(lines) + "\n")
    events, stats, warnings = _run([f])
    assert len(events) == 10 and stats.records_corrupt == 1
    assert "events.xml: line 12" in warnings[0]


def test_gz_of_garbage(tmp_path):
    f = tmp_path / "x.gz"
    with gzip.open(f, "wb") as fh:
        fh.write(b"\x00\x00 nothing")
    with pytest.raises(IngestError, match=r"x\.gz"):
        _run([f])


def _every_line_unreadable(tmp_path, fmt: str, name: str):
    write_fixtures(tmp_path, seed=2, events=5, formats=(fmt,))
    f = tmp_path / name
    lines = f.read_text().splitlines()
    if fmt == "csv":  # keep the header, break every row (wrong column count)
        bad = [lines[0]] + [line + ",extra" for line in lines[1:]]
    else:  # cut every line in half
        bad = [line[: len(line) // 2] for line in lines]
    f.write_text("\n".join(bad) + "\n")
    return f, len(lines) - (fmt == "csv")


@pytest.mark.parametrize(("fmt", "name"), [("nxlog", "events.nxlog.jsonl"),
                                           ("winlogbeat", "events.winlogbeat.jsonl"),
                                           ("csv", "events.csv")])
def test_file_whose_every_record_is_unreadable_raises(tmp_path, fmt, name):
    f, n = _every_line_unreadable(tmp_path, fmt, name)
    stats = IngestStats()
    warnings: list[str] = []
    with pytest.raises(IngestError, match=rf"(?s)nothing could be read.*{name}: every record"):
        list(iter_events([f], stats=stats, warn=warnings.append))
    # corrupt records are counted apart from the good ones
    assert (stats.records_read, stats.records_corrupt) == (0, n)
    assert len(warnings) >= n


def test_unreadable_file_beside_a_good_one_does_not_raise(tmp_path):
    bad, n = _every_line_unreadable(tmp_path / "bad", "nxlog", "events.nxlog.jsonl")
    write_fixtures(tmp_path / "good", seed=3, events=7, formats=("nxlog",))
    events, stats, _warnings = _run([bad, tmp_path / "good"])
    assert len(events) == 7 and stats.records_corrupt == n
    assert stats.records_read == stats.events_yielded + stats.records_skipped_irrelevant


def test_xml_record_count_excludes_the_unreadable_one(tmp_path):
    write_fixtures(tmp_path, seed=2, events=6, formats=("xml",))
    f = tmp_path / "events.xml"
    text = f.read_text()
    # an <Event> without <System> is unreadable but well-formed XML
    f.write_text(text.replace("<Event ", "<Event><nothing/></Event>\n<Event ", 1))
    events, stats, warnings = _run([f])
    assert len(events) == 6 and stats.records_corrupt == 1 and stats.records_read == 6
    assert "record 1 of the file" in warnings[0]


def test_repeated_csv_column_warns_and_first_wins(tmp_path):
    f = tmp_path / "dup.csv"
    f.write_text(
        "EventTime,Hostname,EventID,SourceName,Channel,EventRecordID,UserName,TargetName,"
        "UserName\n"
        "2025-01-06 10:00:00,WS001.corp.example.com,8001,Microsoft-Windows-NTLM,"
        "Microsoft-Windows-NTLM/Operational,1,alice,cifs/srv01,mallory\n"
    )
    events, _stats, warnings = _run([f])
    assert [e.user for e in events] == ["alice"]
    assert len(warnings) == 1 and "dup.csv" in warnings[0] and "UserName" in warnings[0]


def test_lone_surrogate_escape_is_replaced_not_fatal(tmp_path):
    # json accepts "\ud800" but no UTF-8 text (so no Parquet column) can hold it.
    write_fixtures(tmp_path, seed=2, events=5, formats=("winlogbeat",))
    f = tmp_path / "events.winlogbeat.jsonl"
    lines = f.read_text().splitlines()
    assert '"UserName": "' in lines[0]
    lines[0] = lines[0].replace('"UserName": "', '"UserName": "\\ud800', 1)
    f.write_text("\n".join(lines) + "\n")
    events, stats, _ = _run([f])
    assert len(events) == 5 and stats.records_corrupt == 0
    assert events[0].user.startswith("\ufffd")
    from kerbfirst.audit.store import EventStore

    result = EventStore(tmp_path / "store").append(iter(events))
    assert result.added == 5


def test_own_format_extra_that_is_not_an_object_is_a_corrupt_record(tmp_path):
    from kerbfirst.audit.ingest.jsonl_reader import event_from_record

    with pytest.raises(ValueError, match="extra must be a JSON object"):
        event_from_record({"source": "h/c", "record_id": 1, "event_id": 8001, "host": "h",
                           "time": "2025-01-06T00:00:00+00:00", "extra": "[1, 2]"}, "f")


def test_numbers_the_store_cannot_hold_do_not_stop_the_ingest(tmp_path):
    import json

    from kerbfirst.audit.store import EventStore

    write_fixtures(tmp_path, seed=2, events=60, formats=("winlogbeat",))
    f = tmp_path / "events.winlogbeat.jsonl"
    docs = [json.loads(line) for line in f.read_text().splitlines()]
    docs[0]["winlog"]["event_data"]["NtlmUsageId"] = "99999999999"  # past int32
    docs[1]["winlog"]["event_data"]["SChannelType"] = "-5000000000"
    docs[2]["winlog"]["record_id"] = 2**70  # past the store's int64
    f.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    events, stats, warnings = _run([f])
    assert len(events) == 59 and stats.records_corrupt == 1
    assert "line 3" in warnings[0] and "record id" in warnings[0]
    first = events[0]
    assert first.usage_reason is None and first.extra["UsageReason"] == "99999999999"
    assert events[1].secure_channel_type is None
    assert events[1].extra["SChannelType"] == "-5000000000"
    assert EventStore(tmp_path / "store").append(iter(events)).added == 59


def test_own_format_numbers_outside_the_store_columns_are_corrupt_records():
    from kerbfirst.audit.ingest.jsonl_reader import event_from_record

    base = {"source": "h/c", "record_id": 1, "event_id": 8001, "host": "h",
            "time": "2025-01-06T00:00:00+00:00"}
    for field, value in (("record_id", 2**64), ("record_id", -1), ("usage_reason", 2**40)):
        with pytest.raises(ValueError, match=field):
            event_from_record({**base, field: value}, "f")
