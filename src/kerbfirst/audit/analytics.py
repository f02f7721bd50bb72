"""The NTLM analytics: the queries (SQL text in analytics_sql.py) for DuckDB and Spark SQL.

The same text runs unchanged on DuckDB (the embedded default, over `EventStore.connect()`)
and on Spark SQL (a temporary view `events` over the same Parquet directory, for estates
too big for one machine; tests/audit/test_spark.py proves they agree). So the SQL keeps to
the subset both engines share:

- no engine-only functions (no strftime/date_format, no list/struct functions, no `::`);
  only CASE, COALESCE, NULLIF, UPPER, CONCAT, CHR, REGEXP_EXTRACT, CAST(.. AS STRING|DATE),
  COUNT/SUM/MIN/MAX, COUNT(DISTINCT col), LIMIT;
- no quoted identifiers (DuckDB quotes with "", Spark with ``): columns are qualified
  with the table alias instead (`e.user` is the column, never Spark's `user` function);
- no backslash in string literals (Spark unescapes them, DuckDB does not): CHR(92);
- no NULLs in sort keys (the engines sort NULL at opposite ends);
- no date arithmetic (DATE - INTEGER is DuckDB's, DATE_SUB Spark's): window bounds are
  computed in Python and spliced in as DATE 'YYYY-MM-DD' literals built from `date`
  objects, the only values ever spliced into the text (never event data);
- no divisions: queries return counts and Python computes shares.

Every function takes a `Runner` (SQL text -> list of dicts) and returns plain NamedTuples.

The store has two tables: `events` (the Parquet files) and `dc_hosts` (host names the
ingest saw logging KDC events; EventStore.connect builds both; on Spark register both).

A *flow* is one (client, server, account, process, cause, remedy) combination. The remedy is
part of the key so that one row never hides two remedies (it normally follows the cause).
Readiness is the share of NTLM flows whose remedy moves them onto Kerberos
(`KERBEROS_REMEDIES`), per server and overall; the event-weighted share is given too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import duckdb

from kerbfirst.audit.analytics_sql import (
    SQL_BOUNDS,
    SQL_CAUSE_BREAKDOWN,
    SQL_COVERAGE,
    SQL_DAILY_BY_CAUSE,
    SQL_FAILURE_MAP,
    SQL_FAILURE_SOURCES,
    SQL_FLOWS,
    SQL_KERBEROS_LOGONS,
    SQL_OUTCOMES,
    SQL_READINESS,
    SQL_TOP_CLIENTS,
    SQL_TOP_SERVERS,
)

Runner = Callable[[str], list[dict[str, Any]]]

# ------------------------------------------------------------------ results


class Bounds(NamedTuple):
    first_day: date | None
    last_day: date | None
    events: int


class FailureMapRow(NamedTuple):
    client: str  # NetBIOS name, or the address when the client named none
    server: str  # NetBIOS name, or an IP address (server_kind "ip")
    account: str
    process: str
    cause: str
    remedy: str
    events: int
    blocked: int
    first_seen: datetime
    last_seen: datetime
    last_7d: int
    prev_7d: int
    trend: str  # new, gone, rising, falling, steady, quiet
    outcome: str = "success"  # success (allowed or audited), failed, blocked
    server_name: str = ""  # the longest form of the server's name seen (FQDN if any)
    server_kind: str = "name"  # name, ip, unknown
    source_ip: str = ""  # the client's address (the lowest, when several)
    source_ips: int = 0


class OutcomeCount(NamedTuple):
    outcome: str
    events: int
    servers: int
    clients: int
    accounts: int


class FailureSource(NamedTuple):
    """Failed NTLM logons from one address: a guessing burst when many accounts or
    workstation names come from it."""

    source: str
    events: int
    accounts: int
    workstations: int
    servers: int
    first_seen: datetime
    last_seen: datetime


class HostCoverage(NamedTuple):
    host: str
    events: int
    security_events: int  # from the Security log (no target name, no usage reason)
    unknown_events: int
    is_dc: bool

    @property
    def security_only(self) -> bool:
        return self.events > 0 and self.security_events == self.events


class KerberosLogons(NamedTuple):
    """Kerberos logons at one of kerbfirst's services, and the NTLM events it logged."""

    server: str
    succeeded: int
    failed: int
    accounts: int
    ntlm: int  # NTLM events that worked (or were only audited) at the same host
    ntlm_refused: int  # NTLM events failed or blocked there


class DailyCount(NamedTuple):
    day: str  # YYYY-MM-DD
    cause: str
    events: int


class TopEntry(NamedTuple):
    name: str
    events: int
    peers: int  # distinct clients of a server, or servers of a client
    accounts: int


class CauseCount(NamedTuple):
    cause: str
    events: int
    servers: int
    clients: int
    accounts: int


class ServerReadiness(NamedTuple):
    server: str
    flows: int
    ready_flows: int
    events: int
    ready_events: int

    @property
    def share(self) -> float:
        """Share of flows with a Kerberos remedy (1.0 when there is no NTLM at all)."""
        return self.ready_flows / self.flows if self.flows else 1.0

    @property
    def event_share(self) -> float:
        return self.ready_events / self.events if self.events else 1.0


class Readiness(NamedTuple):
    overall: ServerReadiness  # server == "(all)"
    servers: list[ServerReadiness]


class Flow(NamedTuple):
    client: str
    server: str
    user: str
    domain: str
    account: str
    account_scope: str
    process: str
    cause: str
    remedy: str
    events: int
    first_seen: datetime
    last_seen: datetime
    server_name: str = ""  # the longest form seen (what a policy pattern is matched on)


# ------------------------------------------------------------------ running


def duckdb_runner(con: duckdb.DuckDBPyConnection) -> Runner:
    """Run SQL text on a DuckDB connection that has the `events` view."""

    def run(sql: str) -> list[dict[str, Any]]:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    return run


def _int(v: Any) -> int:
    return int(v) if v is not None else 0


def _utc(v: Any) -> datetime:
    # Both engines hand back naive UTC datetimes (the column has no zone; see store.SCHEMA).
    if not isinstance(v, datetime):
        raise TypeError(f"expected a timestamp from the query, got {type(v).__name__}")
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def _date_literal(d: date) -> str:
    # Only ever a date object formatted by Python: nothing from the events reaches the SQL.
    if not isinstance(d, date):
        raise TypeError(f"expected a date, got {type(d).__name__}")
    return d.isoformat()


def trend_of(last_7d: int, prev_7d: int) -> str:
    """Compare the last 7 days with the 7 before: a quarter up or down counts as a change."""
    if last_7d == 0 and prev_7d == 0:
        return "quiet"
    if prev_7d == 0:
        return "new"
    if last_7d == 0:
        return "gone"
    if last_7d * 4 > prev_7d * 5:
        return "rising"
    if last_7d * 4 < prev_7d * 3:
        return "falling"
    return "steady"


class Analytics:
    """The NTLM questions, answered by whichever engine `run` talks to."""

    def __init__(self, run: Runner) -> None:
        self.run = run

    def bounds(self) -> Bounds:
        row = self.run(SQL_BOUNDS)[0]
        return Bounds(row["first_day"], row["last_day"], _int(row["events"]))

    def failure_map(self, *, as_of: date | None = None) -> list[FailureMapRow]:
        """One row per flow; the trend window ends at `as_of` (default: the last day seen)."""
        if as_of is None:
            as_of = self.bounds().last_day or date(1970, 1, 1)
        sql = SQL_FAILURE_MAP.format(
            as_of=_date_literal(as_of),
            week_start=_date_literal(as_of - timedelta(days=7)),
            prev_start=_date_literal(as_of - timedelta(days=14)),
        )
        out = []
        for r in self.run(sql):
            last, prev = _int(r["last_7d"]), _int(r["prev_7d"])
            out.append(
                FailureMapRow(
                    r["client"], r["server"], r["account"], r["process"], r["cause"],
                    r["remedy"], _int(r["events"]), _int(r["blocked"]),
                    _utc(r["first_seen"]), _utc(r["last_seen"]), last, prev,
                    trend_of(last, prev), r["outcome"], r["server_name"] or r["server"],
                    r["server_kind"], r["source_ip"] or "", _int(r["source_ips"]),
                )
            )
        return out

    def daily_by_cause(self) -> list[DailyCount]:
        return [
            DailyCount(r["day"], r["cause"], _int(r["events"]))
            for r in self.run(SQL_DAILY_BY_CAUSE)
        ]

    def _top(self, sql: str, limit: int) -> list[TopEntry]:
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, not {limit!r}")
        return [
            TopEntry(r["name"], _int(r["events"]), _int(r["peers"]), _int(r["accounts"]))
            for r in self.run(sql.format(limit=limit))
        ]

    def top_servers(self, limit: int = 10) -> list[TopEntry]:
        return self._top(SQL_TOP_SERVERS, limit)

    def top_clients(self, limit: int = 10) -> list[TopEntry]:
        return self._top(SQL_TOP_CLIENTS, limit)

    def cause_breakdown(self) -> list[CauseCount]:
        return [
            CauseCount(
                r["cause"], _int(r["events"]), _int(r["servers"]), _int(r["clients"]),
                _int(r["accounts"]),
            )
            for r in self.run(SQL_CAUSE_BREAKDOWN)
        ]

    def readiness(self) -> Readiness:
        servers = [
            ServerReadiness(
                r["server"], _int(r["flows"]), _int(r["ready_flows"]), _int(r["events"]),
                _int(r["ready_events"]),
            )
            for r in self.run(SQL_READINESS)
        ]
        overall = ServerReadiness(
            "(all)",
            sum(s.flows for s in servers),
            sum(s.ready_flows for s in servers),
            sum(s.events for s in servers),
            sum(s.ready_events for s in servers),
        )
        return Readiness(overall, servers)

    def flows(self) -> list[Flow]:
        return [
            Flow(
                r["client"], r["server"], r["account_user"], r["account_domain"],
                r["account"], r["account_scope"], r["process"], r["cause"], r["remedy"],
                _int(r["events"]), _utc(r["first_seen"]), _utc(r["last_seen"]),
                r["server_name"] or r["server"],
            )
            for r in self.run(SQL_FLOWS)
        ]

    def outcomes(self) -> list[OutcomeCount]:
        return [OutcomeCount(r["outcome"], _int(r["events"]), _int(r["servers"]),
                             _int(r["clients"]), _int(r["accounts"]))
                for r in self.run(SQL_OUTCOMES)]

    def failure_sources(self, min_events: int = 20) -> list[FailureSource]:
        """Addresses with at least `min_events` failed NTLM logons, most first."""
        if not isinstance(min_events, int) or min_events < 1:
            raise ValueError(f"min_events must be a positive integer, not {min_events!r}")
        return [FailureSource(r["source"], _int(r["events"]), _int(r["accounts"]),
                              _int(r["workstations"]), _int(r["servers"]),
                              _utc(r["first_seen"]), _utc(r["last_seen"]))
                for r in self.run(SQL_FAILURE_SOURCES.format(min_events=min_events))]

    def kerberos_logons(self) -> list[KerberosLogons]:
        return [KerberosLogons(r["server"], _int(r["succeeded"]), _int(r["failed"]),
                               _int(r["accounts"]), _int(r["ntlm"]), _int(r["ntlm_refused"]))
                for r in self.run(SQL_KERBEROS_LOGONS)]

    def coverage(self) -> list[HostCoverage]:
        return [HostCoverage(r["host"], _int(r["events"]), _int(r["security_events"]),
                             _int(r["unknown_events"]), bool(_int(r["is_dc"])))
                for r in self.run(SQL_COVERAGE)]
