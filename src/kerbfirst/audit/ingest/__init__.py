"""Ingest Windows NTLM evidence and kerbfirst's own audit events: EVTX, wevtutil XML,
JSON lines (evtx_dump, NXLog, Winlogbeat, kerbfirst, the KDC's audit log), CSV, and .gz
of each.

Layout: files.py picks a reader per file by content (paths.sniff); the readers
(evtx_reader, xml_reader, jsonl_reader, csv_reader) are siblings that share the record
shapes below them (evtx_json, own_record, kdc_json, message_text) and mapping.py, which
turns one flat Windows record into an AuthEvent. Storing and classifying is
audit/pipeline.py.
"""

from kerbfirst.audit.ingest.files import iter_events, nothing_read, read_files, read_one_file
from kerbfirst.audit.ingest.paths import expand_paths
from kerbfirst.audit.ingest.stats import IngestError, IngestStats

__all__ = ["IngestError", "IngestStats", "expand_paths", "iter_events", "nothing_read",
           "read_files", "read_one_file"]
