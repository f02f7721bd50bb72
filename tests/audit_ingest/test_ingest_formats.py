"""The same generated records in every export format ingest to the same events."""

from __future__ import annotations

import csv
import gzip
import json
import shutil

import pytest

from kerbfirst.audit.classify import classify
from kerbfirst.audit.fixtures import FORMATS, generate, main, write_fixtures
from kerbfirst.audit.ingest import IngestError, IngestStats, expand_paths, iter_events


def _ingest(paths, warnings=None):
    stats = IngestStats()
    sink = warnings if warnings is not None else []
    events = [classify(e) for e in iter_events(paths, stats=stats, warn=sink.append)]
    return events, stats


def _key(e):
    return (e.source, e.record_id, e.event_id, e.cause, e.remedy, e.user, e.target_name,
            e.disposition, e.ntlm_version, e.usage_reason)


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("fx")
    write_fixtures(out / "plain", seed=5, events=400)
    write_fixtures(out / "gz", seed=5, events=400, gz=True)
    return out


def test_all_formats_agree(fixture_dir):
    expected = list(generate(5, 400))
    results = {}
    for fmt, name in zip(FORMATS, ("events.xml", "events.evtx.jsonl", "events.nxlog.jsonl",
                                   "events.winlogbeat.jsonl", "events.csv"), strict=True):
        events, stats = _ingest([fixture_dir / "plain" / name])
        assert stats.records_corrupt == 0 and stats.events_yielded == 400, fmt
        assert [e.cause for e in events] == [r.scenario.cause for r in expected], fmt
        results[fmt] = [_key(e) for e in events]
    first = results.pop("xml")
    for fmt, keys in results.items():
        assert keys == first, fmt
    # source is host/channel, the file goes into extra
    events, _ = _ingest([fixture_dir / "plain" / "events.xml"])
    assert events[0].source == f"{expected[0].host}/{expected[0].channel}"
    assert events[0].extra["file"].endswith("events.xml")
    assert all(e.time.tzinfo is not None for e in events)


def test_gzip_glob_and_folder(fixture_dir):
    plain, _ = _ingest([fixture_dir / "plain" / "events.nxlog.jsonl"])
    gz, _ = _ingest([fixture_dir / "gz" / "events.nxlog.jsonl.gz"])
    assert [_key(e) for e in gz] == [_key(e) for e in plain]
    via_glob, stats = _ingest([str(fixture_dir / "gz" / "*.gz")])
    assert stats.files_total == len(FORMATS) and len(via_glob) == 5 * 400
    via_folder, stats = _ingest([fixture_dir])
    assert stats.files_total == 2 * len(FORMATS) and len(via_folder) == 10 * 400
    # the same record seen twice deduplicates on (source, record_id)
    assert len({(e.source, e.record_id) for e in via_folder}) == 400


def test_gzipped_evtx(tmp_path, evtx_dir):
    target = tmp_path / "Security.evtx.gz"
    with (evtx_dir / "Security_with_size_t.evtx").open("rb") as src, gzip.open(target,
                                                                                "wb") as dst:
        shutil.copyfileobj(src, dst)
    events, stats = _ingest([target])
    plain, _ = _ingest([evtx_dir / "Security_with_size_t.evtx"])
    assert [(e.source, e.record_id) for e in events] == [(e.source, e.record_id) for e in plain]
    assert stats.records_read == 636


def test_own_format_round_trip_json_and_csv(tmp_path, fixture_dir):
    events, _ = _ingest([fixture_dir / "plain" / "events.evtx.jsonl"])
    own = tmp_path / "own.jsonl"
    with own.open("w") as fh:
        for e in events:
            rec = e.to_record()
            rec["time"] = rec["time"].isoformat()
            fh.write(json.dumps(rec) + "\n")
    own_csv = tmp_path / "own.csv"
    with own_csv.open("w", newline="") as fh:
        fields = list(events[0].to_record())
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for e in events:
            rec = e.to_record()
            rec["time"] = rec["time"].isoformat()
            rec["extra"] = json.dumps(rec["extra"])
            w.writerow({k: "" if v is None else v for k, v in rec.items()})
    for path in (own, own_csv):
        back, stats = _ingest([path])
        assert stats.records_corrupt == 0, path
        assert [_key(e) for e in back] == [_key(e) for e in events], path


def test_expand_paths_errors_name_the_path(tmp_path):
    with pytest.raises(IngestError, match=r"nope\.evtx"):
        expand_paths([str(tmp_path / "nope.evtx")])
    with pytest.raises(IngestError, match=r"\*\.evtx"):
        expand_paths([str(tmp_path / "*.evtx")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(IngestError, match="empty"):
        expand_paths([str(tmp_path / "empty")])


def test_fixture_cli_writes_every_format(tmp_path, capsys):
    assert main([str(tmp_path), "--events", "150", "--seed", "9"]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert len(written) == len(FORMATS)
    events, _ = _ingest([tmp_path])
    assert len(events) == 150 * len(FORMATS)
    # deterministic from the seed
    again = tmp_path / "again"
    main([str(again), "--events", "150", "--seed", "9", "--formats", "xml"])
    assert (again / "events.xml").read_bytes() == (tmp_path / "events.xml").read_bytes()
