"""Random malformed JSON-lines records through ingest, classification and the store.

Whatever the values (wrong types, huge numbers, lone surrogates, nesting, unknown fields,
bad times and record ids), the run ends with a store write or a clean IngestError; no
other exception escapes and nothing readable is lost."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerbfirst.audit.classify import classify
from kerbfirst.audit.ingest import IngestError, IngestStats, iter_events
from kerbfirst.audit.ingest.mapping import (
    F_CLIENT_ADDR,
    F_CLIENT_HOST,
    F_DOMAIN,
    F_PID,
    F_SCHANNEL_TYPE,
    F_STATUS,
    F_TARGET,
    F_USAGE_REASON,
    F_USER,
    F_VERSION,
    RELEVANT_IDS,
)
from kerbfirst.audit.store import EventStore

FIELDS = sorted(set(F_TARGET + F_USER + F_DOMAIN + F_CLIENT_HOST + F_CLIENT_ADDR + F_PID
                    + F_USAGE_REASON + F_VERSION + F_SCHANNEL_TYPE + F_STATUS
                    + ("SubStatus", "LogonProcessName", "TargetUserSid", "LmPackageName",
                       "AuthenticationPackageName", "MechanismOID", "X" * 70)))
PROVIDERS = ["Microsoft-Windows-NTLM", "Microsoft-Windows-Security-Auditing",
             "Microsoft-Windows-Security-Netlogon", "LsaSrv"]
# The channel decides relevance with the event id; NTLM/Operational ids are most of them.
CHANNELS = ["Microsoft-Windows-NTLM/Operational"] * 3 + ["Security", "System"]

values = st.one_of(
    st.sampled_from(["", "-", "(NULL)", "NTLM", "NtLmSsp ", "NTLM V1", "LM", "0x0",
                     "0xC0000418", "0xC000005E", "10.0.0.1", "::ffff:81.2.69.1",
                     "cifs/10.1.1.1", "CORP", "WS1", "S-1-5-7"]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.none(), st.booleans(), st.floats(allow_nan=False),
    st.text(max_size=30),  # any code point, lone surrogates included
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
winlogbeat = st.fixed_dictionaries({
    "@timestamp": st.sampled_from(["2025-01-06T00:00:00Z"] * 6 + ["2025-13-01T00:00:00Z", "x",
                                                                  5]),
    "winlog": st.fixed_dictionaries({
        "channel": st.sampled_from(CHANNELS),
        "computer_name": st.sampled_from(["WS1.corp.example.com", "", "\u00e9\u00e9"]),
        "event_id": st.sampled_from(sorted(RELEVANT_IDS)).map(str),
        "provider_name": st.sampled_from(PROVIDERS),
        "record_id": st.one_of(st.integers(min_value=0, max_value=10**6),
                               st.integers(min_value=-5, max_value=2**66), st.just("7"),
                               st.none()),
        "event_data": st.dictionaries(st.sampled_from(FIELDS), values, min_size=3,
                                      max_size=12),
    }),
})
nxlog = st.builds(
    lambda eid, prov, chan, rid, data: {"EventTime": "2025-01-06 00:00:00", "Hostname": "h",
                                        "EventID": eid, "SourceName": prov, "Channel": chan,
                                        "EventRecordID": rid, **data},
    st.sampled_from(sorted(RELEVANT_IDS)), st.sampled_from(PROVIDERS),
    st.sampled_from(CHANNELS), st.one_of(st.integers(min_value=-5, max_value=2**66),
                                         st.just("x")),
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=10),
)


def _line(doc: object) -> str:
    # json.dumps writes lone surrogates as \ud800 escapes, as a broken exporter would.
    return json.dumps(doc)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(docs=st.lists(st.one_of(winlogbeat, nxlog), min_size=1, max_size=25))
def test_malformed_records_never_escape_ingest_or_store(tmp_path: Path, docs: list[object]
                                                        ) -> None:
    work = Path(tempfile.mkdtemp(dir=tmp_path))  # tmp_path is shared by the examples
    f = work / "events.jsonl"
    f.write_text("\n".join(_line(d) for d in docs) + "\n")
    stats = IngestStats()
    try:
        events = [classify(e) for e in iter_events([f], stats=stats, warn=lambda m: None)]
    except IngestError:
        return  # nothing at all could be read: the one error ingest may raise
    assert stats.records_corrupt + stats.records_read == len(docs)
    result = EventStore(work / "store").append(iter(events))
    assert result.added + result.duplicates == len(events)
