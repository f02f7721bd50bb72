"""The real EVTX samples (tests/data/evtx, see NOTICE.md)."""

from __future__ import annotations

import json
import re
from collections import Counter

import evtx

from kerbfirst.audit.classify import classify
from kerbfirst.audit.events import Cause, Disposition, NtlmVersion
from kerbfirst.audit.ingest import IngestStats, iter_events


def _ingest(paths):
    stats = IngestStats()
    warnings: list[str] = []
    events = [classify(e) for e in iter_events(paths, stats=stats, warn=warnings.append)]
    return events, stats, warnings


def test_security_logs_yield_ntlmv1_logons(evtx_dir):
    for name, v1_count in (("security.evtx", 39), ("Security_with_size_t.evtx", 9)):
        events, stats, warnings = _ingest([evtx_dir / name])
        assert not warnings and stats.records_corrupt == 0
        v1 = [e for e in events if e.event_id == 4624]
        assert len(v1) == v1_count, name
        for e in v1:
            assert e.ntlm_version is NtlmVersion.NTLMV1
            # KB 4090105: NTLM V1 is what Windows logs for every anonymous session.
            if e.user.upper() == "ANONYMOUS LOGON":
                assert e.cause is Cause.ANONYMOUS
                assert e.evidence.startswith("anonymous: TargetUserSid=S-1-5-7")
            else:
                assert e.cause is Cause.NTLMV1_OR_LM
                assert e.evidence == "ntlmv1-or-lm: LmPackageName=NTLM V1"
            assert e.process == "NtLmSsp" and e.source == f"{e.host}/Security"
        assert stats.records_read == stats.events_yielded + stats.records_skipped_irrelevant


def test_size_t_sample_has_4776_and_ntlm_4625(evtx_dir):
    events, _, _ = _ingest([evtx_dir / "Security_with_size_t.evtx"])
    by_id = Counter(e.event_id for e in events)
    assert by_id[4776] == 21
    assert by_id[4625] == 6  # only the NTLM ones of its 15 failed logons
    failed = [e for e in events if e.event_id == 4625]
    assert all(e.disposition is Disposition.FAILED and e.status.startswith("0xC") for e in
               failed)
    # The 4625s are for WIN-L0ZZQ76PMUF's own accounts or IT104-3's: local ones are local.
    assert any(e.cause is Cause.LOCAL_ACCOUNT for e in failed)
    assert all(e.user for e in events if e.event_id == 4776)


def test_corrupt_files_read_as_far_as_possible(evtx_dir):
    bad_chunk = evtx_dir / "sample_with_a_bad_chunk_magic.evtx"
    _, stats, warnings = _ingest([bad_chunk])
    assert stats.records_corrupt == 2 and stats.records_read == 270
    assert all(str(bad_chunk) in w for w in warnings)
    assert [re.search(r"offset (0x[0-9a-f]+)", w).group(1) for w in warnings] == [
        "0x61000", "0xa1000"]  # chunks 6 and 10: 0x1000 + n * 0x10000
    zero = evtx_dir / "sample-with-zero-data-size-event.evtx"
    _, stats, warnings = _ingest([zero])
    assert stats.records_corrupt == 1 and stats.records_read == 335
    assert len(warnings) == 1 and str(zero) in warnings[0] and "offset 0x" in warnings[0]


def test_evtx_and_its_exports_give_the_same_keys(evtx_dir, tmp_path):
    src = evtx_dir / "Security_with_size_t.evtx"
    xml_path, json_path = tmp_path / "export.xml", tmp_path / "export.jsonl"
    with xml_path.open("w") as fh:
        for rec in evtx.PyEvtxParser(str(src)).records():
            fh.write(rec["data"].split("?>", 1)[1])  # concatenated <Event>, as wevtutil
    with json_path.open("w") as fh:
        for rec in evtx.PyEvtxParser(str(src)).records_json():
            fh.write(json.dumps(json.loads(rec["data"])) + "\n")
    results = [_ingest([p])[0] for p in (src, xml_path, json_path)]
    keys = [[(e.source, e.record_id, e.cause, e.user) for e in events] for events in results]
    assert keys[0] and keys[0] == keys[1] == keys[2]


def test_evtx_prefilter_loses_nothing(evtx_dir):
    """read_evtx drops records by a text look at the EventID before json.loads; parsing
    every record in full must find exactly the same events, field for field."""
    from kerbfirst.audit.ingest.evtx_reader import event_from_evtx_json

    for name in ("security.evtx", "Security_with_size_t.evtx"):
        path = evtx_dir / name
        full = []
        for rec in evtx.PyEvtxParser(str(path)).records_json():
            e = event_from_evtx_json(json.loads(rec["data"]), str(path), rec["event_record_id"])
            if e is not None:
                full.append(classify(e).to_record())
        fast = [e.to_record() for e in _ingest([path])[0]]
        assert fast and fast == full, name
