"""The NTLM analytics: every query as SQL text, in this one file, for DuckDB and Spark SQL.

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

from kerbfirst.audit.events import KERBEROS_REMEDIES

Runner = Callable[[str], list[dict[str, Any]]]

_KERBEROS_REMEDY_LIST = ", ".join(f"'{r.value}'" for r in sorted(KERBEROS_REMEDIES))

# Name normalisation, as SQL on an upper-cased name `{n}`: an IPv4/IPv6 address stays an
# address (its own kind, never a server name); a DNS name is keyed by its first label,
# the NetBIOS name Windows logs elsewhere, so SRV01 and SRV01.CORP.EXAMPLE.COM are one
# host, shown under the longest form seen (the FQDN when any event gave it).
_IS_IP = ("({n} LIKE '%:%' OR REGEXP_EXTRACT({n}, "
          "'^([0-9]+[.][0-9]+[.][0-9]+[.][0-9]+)$', 1) <> '')")


def _short(n: str) -> str:
    return (f"CASE WHEN {n} = '' THEN '(UNKNOWN)' WHEN {_IS_IP.format(n=n)} THEN {n} "
            f"ELSE REGEXP_EXTRACT({n}, '^([^.]*)', 1) END")


# Hosts that are domain controllers: those the ingest saw logging KDC events (the
# `dc_hosts` table, EventStore.connect) and those whose stored events only a DC logs.
_DCS = """
dcs AS (
  SELECT DISTINCT UPPER(h.host) AS host FROM dc_hosts h
  UNION
  SELECT DISTINCT UPPER(e.host) AS host FROM events e
  WHERE e.event_id IN (4768, 4769, 4771, 8004, 8005, 8006, 4004, 4005, 4006,
                       4030, 4031, 4032, 4033)
)"""

# Kerberos failures that explain a fallback, per day, user and client address; a 4769
# KDC_ERR_S_PRINCIPAL_UNKNOWN (0x7), or an SPN on the wrong account (0x1F/0x29: the ticket
# does not decrypt at the service), before an NTLM logon of the same user from the same
# address that day says the SPN is the cause (RFC 4120 7.5.9 error codes).
_KF = """
kf AS (
  SELECT CAST(e.day AS DATE) AS d,
    UPPER(REGEXP_EXTRACT(COALESCE(e.user, ''), '^([^@]*)', 1)) AS u,
    e.client_address AS a,
    MIN(e.time) AS first_t,
    MAX(CASE WHEN e.status IN ('0x7', '0x1F', '0x29') THEN 1 ELSE 0 END) AS spn
  FROM events e
  WHERE e.mechanism = 'kerberos' AND COALESCE(e.client_address, '') <> ''
  GROUP BY CAST(e.day AS DATE), UPPER(REGEXP_EXTRACT(COALESCE(e.user, ''), '^([^@]*)', 1)),
    e.client_address
)"""

# Logons with explicit credentials (4648) to an IP address, per day, client and account:
# an NTLM logon of that account from that client later the same day was most likely that
# connection (Kerberos has no ticket for an address), so its cause is target-is-ip.
_EC = """
ec AS (
  SELECT CAST(e.day AS DATE) AS d,
    UPPER(REGEXP_EXTRACT(COALESCE(e.host, ''), '^([^.]*)', 1)) AS h,
    UPPER(COALESCE(e.user, '')) AS u,
    MIN(e.time) AS first_t
  FROM events e
  WHERE e.mechanism = 'explicit-credentials'
  GROUP BY CAST(e.day AS DATE), UPPER(REGEXP_EXTRACT(COALESCE(e.host, ''), '^([^.]*)', 1)),
    UPPER(COALESCE(e.user, ''))
)"""

# One NTLM authentication per row, with the names the analysis groups by. Which side of the
# flow the reporting host is depends on the role: a client-outgoing event (8001, 4020) is
# reported by the client and names the server as TargetName (an SPN such as cifs/fs01:445,
# reduced here to the host part); server-incoming events (8002, 4624) are reported by the
# server and name the client's workstation. A 4776 on a host that is not a domain
# controller is the member's own SAM checking a local account (MS-NLMP 3.2.5.1.2 runs on
# the server when the account is local), so that host is the server and the account local.
# `outcome` keeps failed logons (bad password, guessing) apart from NTLM that works.
_RAW = """
raw AS (
  SELECT
    CAST(e.day AS DATE) AS d,
    e.time AS t,
    UPPER(CASE
      WHEN e.role = 'client-outgoing' THEN COALESCE(e.host, '')
      ELSE COALESCE(NULLIF(e.client_host, ''), NULLIF(e.client_address, ''), '')
    END) AS client_full,
    COALESCE(e.client_address, '') AS source_ip,
    UPPER(CASE
      WHEN e.role = 'server-incoming' THEN COALESCE(e.host, '')
      WHEN e.event_id = 4776 AND dcs.host IS NULL THEN COALESCE(e.host, '')
      WHEN COALESCE(e.target_name, '') = '' THEN ''
      ELSE REGEXP_EXTRACT(e.target_name, '^(?:[^/]*/)?([^/:]+)', 1)
    END) AS server_full,
    COALESCE(e.user, '') AS account_user,
    COALESCE(e.domain, '') AS account_domain,
    CASE WHEN COALESCE(e.domain, '') = '' THEN COALESCE(e.user, '')
         ELSE CONCAT(e.domain, CHR(92), COALESCE(e.user, '')) END AS account,
    CASE WHEN e.event_id = 4776 AND dcs.host IS NULL THEN 'local'
         ELSE COALESCE(e.account_scope, 'unknown') END AS account_scope,
    COALESCE(e.process, '') AS process,
    CASE
      WHEN COALESCE(e.cause, 'unknown') <> 'unknown' THEN e.cause
      WHEN e.event_id = 4776 AND dcs.host IS NULL THEN 'local-account'
      WHEN kf.spn = 1 THEN 'spn-missing'
      WHEN ec.h IS NOT NULL THEN 'target-is-ip'
      ELSE 'unknown' END AS cause,
    CASE
      WHEN COALESCE(e.cause, 'unknown') <> 'unknown' THEN COALESCE(e.remedy, '')
      WHEN e.event_id = 4776 AND dcs.host IS NULL THEN 'localkdc'
      WHEN kf.spn = 1 OR ec.h IS NOT NULL THEN 'register-spn-use-fqdn'
      ELSE COALESCE(e.remedy, '') END AS remedy,
    COALESCE(e.disposition, '') AS disposition,
    CASE WHEN e.disposition = 'failed' THEN 'failed'
         WHEN e.disposition = 'blocked' THEN 'blocked'
         ELSE 'success' END AS outcome,
    UPPER(COALESCE(e.host, '')) AS host,
    REGEXP_EXTRACT(COALESCE(e.source, ''), '^[^/]*/(.*)$', 1) AS channel
  FROM events e
  LEFT JOIN dcs ON UPPER(e.host) = dcs.host
  LEFT JOIN kf ON kf.d = CAST(e.day AS DATE)
    AND kf.u = UPPER(COALESCE(e.user, '')) AND kf.a = e.client_address
    AND kf.first_t <= e.time
  LEFT JOIN ec ON ec.d = CAST(e.day AS DATE)
    AND ec.h = UPPER(REGEXP_EXTRACT(CASE WHEN e.role = 'client-outgoing'
                                         THEN COALESCE(e.host, '')
                                         ELSE COALESCE(e.client_host, '') END,
                                    '^([^.]*)', 1))
    AND ec.u = UPPER(COALESCE(e.user, '')) AND ec.first_t <= e.time
  WHERE COALESCE(e.mechanism, '') NOT IN ('kerberos', 'explicit-credentials')
)"""

_NTLM_ALL = f"""
keyed AS (
  SELECT r.*,
    {_short("r.client_full")} AS client_key,
    {_short("r.server_full")} AS server_key,
    CASE WHEN r.server_full = '' THEN 'unknown'
         WHEN {_IS_IP.format(n="r.server_full")} THEN 'ip' ELSE 'name' END AS server_kind
  FROM raw r
),
ntlm_all AS (
  SELECT k.*,
    CASE WHEN k.client_key = '(UNKNOWN)' THEN '(UNKNOWN)'
         ELSE MAX(k.client_full) OVER (PARTITION BY k.client_key) END AS client,
    CASE WHEN k.server_key = '(UNKNOWN)' THEN '(UNKNOWN)'
         ELSE MAX(k.server_full) OVER (PARTITION BY k.server_key) END AS server
  FROM keyed k
)"""  # noqa: S608 (module constants only)

# `ntlm`: the authentications that worked (or were only audited): what enforcement would
# break and what readiness counts. Failed and already blocked ones are in `ntlm_all`.
_NTLM = ",\n".join((_DCS, _KF, _EC, _RAW, _NTLM_ALL)) + """,
ntlm AS (SELECT * FROM ntlm_all WHERE outcome = 'success')"""  # noqa: S608 (constants)

_READY = "remedy IN (" + _KERBEROS_REMEDY_LIST + ")"


def _with_ntlm(body: str) -> str:
    # Every query reads the `ntlm` rows; `{ready}` marks the Kerberos-remedy test. Both are
    # constants of this module: no value from the events is ever spliced into the text.
    return "\n".join(("WITH", _NTLM, body.replace("{ready}", _READY)))

SQL_BOUNDS = _with_ntlm("""
SELECT MIN(d) AS first_day, MAX(d) AS last_day, COUNT(*) AS events FROM ntlm_all
""")

# Every flow, failed and blocked ones too (outcome is part of the key).
SQL_FAILURE_MAP = _with_ntlm("""
SELECT client, server, account, process, cause, remedy, outcome,
  MAX(server) AS server_name,
  MAX(server_kind) AS server_kind,
  MIN(source_ip) AS source_ip,
  COUNT(DISTINCT source_ip) AS source_ips,
  COUNT(*) AS events,
  SUM(CASE WHEN disposition = 'blocked' THEN 1 ELSE 0 END) AS blocked,
  MIN(t) AS first_seen,
  MAX(t) AS last_seen,
  SUM(CASE WHEN d > DATE '{week_start}' AND d <= DATE '{as_of}' THEN 1 ELSE 0 END)
    AS last_7d,
  SUM(CASE WHEN d > DATE '{prev_start}' AND d <= DATE '{week_start}' THEN 1 ELSE 0 END)
    AS prev_7d
FROM ntlm_all
GROUP BY client, server, account, process, cause, remedy, outcome
ORDER BY events DESC, client, server, account, process, cause, remedy, outcome
""")

# Per day and cause; failed and blocked authentications as their own series.
SQL_DAILY_BY_CAUSE = _with_ntlm("""
SELECT CAST(d AS STRING) AS day,
  CASE WHEN outcome = 'success' THEN cause ELSE CONCAT('(', outcome, ')') END AS cause,
  COUNT(*) AS events
FROM ntlm_all
GROUP BY d, CASE WHEN outcome = 'success' THEN cause ELSE CONCAT('(', outcome, ')') END
ORDER BY day, cause
""")

SQL_TOP_SERVERS = _with_ntlm("""
SELECT server AS name, COUNT(*) AS events, COUNT(DISTINCT client) AS peers,
  COUNT(DISTINCT account) AS accounts
FROM ntlm
GROUP BY server
ORDER BY events DESC, name
LIMIT {limit}
""")

SQL_TOP_CLIENTS = _with_ntlm("""
SELECT client AS name, COUNT(*) AS events, COUNT(DISTINCT server) AS peers,
  COUNT(DISTINCT account) AS accounts
FROM ntlm
GROUP BY client
ORDER BY events DESC, name
LIMIT {limit}
""")

SQL_CAUSE_BREAKDOWN = _with_ntlm("""
SELECT cause, COUNT(*) AS events, COUNT(DISTINCT server) AS servers,
  COUNT(DISTINCT client) AS clients, COUNT(DISTINCT account) AS accounts
FROM ntlm
GROUP BY cause
ORDER BY events DESC, cause
""")

SQL_READINESS = _with_ntlm(""",
flows AS (
  SELECT server, client, account, process, cause, remedy, COUNT(*) AS events
  FROM ntlm
  GROUP BY server, client, account, process, cause, remedy
)
SELECT server,
  COUNT(*) AS flows,
  SUM(CASE WHEN {ready} THEN 1 ELSE 0 END) AS ready_flows,
  SUM(events) AS events,
  SUM(CASE WHEN {ready} THEN events ELSE 0 END) AS ready_events
FROM flows
GROUP BY server
ORDER BY server
""")

# The flows simulation feeds to the policy: who (client, account) reached what (server),
# successful ones only (a flow that already fails is not broken by enforcement).
SQL_FLOWS = _with_ntlm("""
SELECT client, server, account_user, account_domain, account, account_scope, process,
  cause, remedy, COUNT(*) AS events, MIN(t) AS first_seen, MAX(t) AS last_seen,
  MAX(server) AS server_name
FROM ntlm
GROUP BY client, server, account_user, account_domain, account, account_scope, process,
  cause, remedy
ORDER BY events DESC, client, server, account, process, cause, remedy
""")

SQL_OUTCOMES = _with_ntlm("""
SELECT outcome, COUNT(*) AS events, COUNT(DISTINCT server) AS servers,
  COUNT(DISTINCT client) AS clients, COUNT(DISTINCT account) AS accounts
FROM ntlm_all
GROUP BY outcome
ORDER BY outcome
""")

# Failed NTLM logons per source address (the workstation name when there is none): a
# password-guessing burst names random workstations but comes from one address.
SQL_FAILURE_SOURCES = _with_ntlm("""
SELECT CASE WHEN source_ip <> '' THEN source_ip ELSE client END AS source,
  COUNT(*) AS events, COUNT(DISTINCT account) AS accounts,
  COUNT(DISTINCT client) AS workstations, COUNT(DISTINCT server) AS servers,
  MIN(t) AS first_seen, MAX(t) AS last_seen
FROM ntlm_all
WHERE outcome = 'failed'
GROUP BY CASE WHEN source_ip <> '' THEN source_ip ELSE client END
HAVING COUNT(*) >= {min_events}
ORDER BY events DESC, source
""")

# Per reporting host: which logs its events came from, and how many causes stayed unknown.
SQL_COVERAGE = _with_ntlm("""
SELECT n.host AS host,
  COUNT(*) AS events,
  SUM(CASE WHEN n.channel = 'Security' THEN 1 ELSE 0 END) AS security_events,
  SUM(CASE WHEN n.cause = 'unknown' AND n.outcome = 'success' THEN 1 ELSE 0 END)
    AS unknown_events,
  MAX(CASE WHEN dcs.host IS NULL THEN 0 ELSE 1 END) AS is_dc
FROM ntlm_all n
LEFT JOIN dcs ON n.host = dcs.host
GROUP BY n.host
ORDER BY events DESC, host
""")


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

    def coverage(self) -> list[HostCoverage]:
        return [HostCoverage(r["host"], _int(r["events"]), _int(r["security_events"]),
                             _int(r["unknown_events"]), bool(_int(r["is_dc"])))
                for r in self.run(SQL_COVERAGE)]
