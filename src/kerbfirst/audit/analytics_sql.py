"""The NTLM analytics' SQL text (run by analytics.Analytics), for DuckDB and Spark SQL.

The same text runs unchanged on both engines, so it keeps to the subset they share (see
analytics.py). The window functions used (MAX ... OVER (PARTITION BY ...)) and LEFT JOIN
are in that subset. The only values spliced in are this module's constants and, at run
time, DATE literals built from `date` objects and small positive integers: never event data.
"""

from __future__ import annotations

from kerbfirst.audit.events import KERBEROS_REMEDIES

KERBEROS_REMEDY_LIST = ", ".join(f"'{r.value}'" for r in sorted(KERBEROS_REMEDIES))

# Name normalisation, as SQL on an upper-cased name `{n}`: an IPv4/IPv6 address stays an
# address (its own kind, never a server name); a DNS name is keyed by its first label,
# the NetBIOS name Windows logs elsewhere, so SRV01 and SRV01.CORP.EXAMPLE.COM are one
# host, shown under the longest form seen (the FQDN when any event gave it).
_IS_IP = ("({n} LIKE '%:%' OR REGEXP_EXTRACT({n}, "
          "'^([0-9]+[.][0-9]+[.][0-9]+[.][0-9]+)$', 1) <> '')")


def _netbios(n: str) -> str:
    """The NetBIOS form of a host name (audit.names.netbios_name): the first label, cut to
    15 characters as Windows cuts longer host names."""
    return f"SUBSTR(REGEXP_EXTRACT(UPPER({n}), '^([^.]*)', 1), 1, 15)"


def _short(n: str) -> str:
    return (f"CASE WHEN {n} = '' THEN '(UNKNOWN)' WHEN {_IS_IP.format(n=n)} THEN {n} "
            f"ELSE {_netbios(n)} END")


# Hosts that are domain controllers: those the ingest saw logging KDC events (the
# `dc_hosts` table, EventStore.connect) and those whose stored events only a DC logs.
# Kept and compared by NetBIOS name (the first DNS label, cut to 15): one export names a DC
# "DC01.corp.example.com", another "DC01", and both are the same domain controller.
_DCS = f"""
dcs AS (
  SELECT DISTINCT {_netbios('h.host')} AS host FROM dc_hosts h
  UNION
  SELECT DISTINCT {_netbios('e.host')} AS host FROM events e
  WHERE e.event_id IN (4768, 4769, 4771, 8004, 8005, 8006, 4004, 4005, 4006,
                       4030, 4031, 4032, 4033)
)"""  # noqa: S608 (module constants only)

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
  WHERE e.mechanism = 'kerberos' AND e.event_id IN (4768, 4769, 4771)
    AND COALESCE(e.client_address, '') <> ''
  GROUP BY CAST(e.day AS DATE), UPPER(REGEXP_EXTRACT(COALESCE(e.user, ''), '^([^@]*)', 1)),
    e.client_address
)"""

# Logons with explicit credentials (4648) to an IP address, per day, client and account:
# an NTLM logon of that account from that client later the same day was most likely that
# connection (Kerberos has no ticket for an address), so its cause is target-is-ip.
_EC = f"""
ec AS (
  SELECT CAST(e.day AS DATE) AS d,
    {_netbios("COALESCE(e.host, '')")} AS h,
    UPPER(COALESCE(e.user, '')) AS u,
    MIN(e.time) AS first_t
  FROM events e
  WHERE e.mechanism = 'explicit-credentials'
  GROUP BY CAST(e.day AS DATE), {_netbios("COALESCE(e.host, '')")},
    UPPER(COALESCE(e.user, ''))
)"""  # noqa: S608 (module constants only)

# One NTLM authentication per row, with the names the analysis groups by. Which side of the
# flow the reporting host is depends on the role: a client-outgoing event (8001, 4020) is
# reported by the client and names the server as TargetName (an SPN such as cifs/fs01:445,
# reduced here to the host part); server-incoming events (8002, 4624) are reported by the
# server and name the client's workstation. A 4776 on a host that is not a domain
# controller is the member's own SAM checking a local account (MS-NLMP 3.2.5.1.2 runs on
# the server when the account is local), so that host is the server and the account local.
# `outcome` keeps failed logons (bad password, guessing) apart from NTLM that works.
_RAW = f"""
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
  LEFT JOIN dcs ON {_netbios('e.host')} = dcs.host
  LEFT JOIN kf ON kf.d = CAST(e.day AS DATE)
    AND kf.u = UPPER(COALESCE(e.user, '')) AND kf.a = e.client_address
    AND kf.first_t <= e.time
  LEFT JOIN ec ON ec.d = CAST(e.day AS DATE)
    AND ec.h = {_netbios("CASE WHEN e.role = 'client-outgoing' THEN COALESCE(e.host, '') "
                         "ELSE COALESCE(e.client_host, '') END")}
    AND ec.u = UPPER(COALESCE(e.user, '')) AND ec.first_t <= e.time
  WHERE COALESCE(e.mechanism, '') NOT IN ('kerberos', 'explicit-credentials')
)"""  # noqa: S608 (module constants only)

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

_READY = "remedy IN (" + KERBEROS_REMEDY_LIST + ")"


def with_ntlm(body: str) -> str:
    # Every query reads the `ntlm` rows; `{ready}` marks the Kerberos-remedy test. Both are
    # constants of this module: no value from the events is ever spliced into the text.
    return "\n".join(("WITH", _NTLM, body.replace("{ready}", _READY)))

SQL_BOUNDS = with_ntlm("""
SELECT MIN(d) AS first_day, MAX(d) AS last_day, COUNT(*) AS events FROM ntlm_all
""")

# Every flow, failed and blocked ones too (outcome is part of the key).
SQL_FAILURE_MAP = with_ntlm("""
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
SQL_DAILY_BY_CAUSE = with_ntlm("""
SELECT CAST(d AS STRING) AS day,
  CASE WHEN outcome = 'success' THEN cause ELSE CONCAT('(', outcome, ')') END AS cause,
  COUNT(*) AS events
FROM ntlm_all
GROUP BY d, CASE WHEN outcome = 'success' THEN cause ELSE CONCAT('(', outcome, ')') END
ORDER BY day, cause
""")

SQL_TOP_SERVERS = with_ntlm("""
SELECT server AS name, COUNT(*) AS events, COUNT(DISTINCT client) AS peers,
  COUNT(DISTINCT account) AS accounts
FROM ntlm
GROUP BY server
ORDER BY events DESC, name
LIMIT {limit}
""")

SQL_TOP_CLIENTS = with_ntlm("""
SELECT client AS name, COUNT(*) AS events, COUNT(DISTINCT server) AS peers,
  COUNT(DISTINCT account) AS accounts
FROM ntlm
GROUP BY client
ORDER BY events DESC, name
LIMIT {limit}
""")

SQL_CAUSE_BREAKDOWN = with_ntlm("""
SELECT cause, COUNT(*) AS events, COUNT(DISTINCT server) AS servers,
  COUNT(DISTINCT client) AS clients, COUNT(DISTINCT account) AS accounts
FROM ntlm
GROUP BY cause
ORDER BY events DESC, cause
""")

SQL_READINESS = with_ntlm(""",
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
SQL_FLOWS = with_ntlm("""
SELECT client, server, account_user, account_domain, account, account_scope, process,
  cause, remedy, COUNT(*) AS events, MIN(t) AS first_seen, MAX(t) AS last_seen,
  MAX(server) AS server_name
FROM ntlm
GROUP BY client, server, account_user, account_domain, account, account_scope, process,
  cause, remedy
ORDER BY events DESC, client, server, account, process, cause, remedy
""")

SQL_OUTCOMES = with_ntlm("""
SELECT outcome, COUNT(*) AS events, COUNT(DISTINCT server) AS servers,
  COUNT(DISTINCT client) AS clients, COUNT(DISTINCT account) AS accounts
FROM ntlm_all
GROUP BY outcome
ORDER BY outcome
""")

# Failed NTLM logons per source address (the workstation name when there is none): a
# password-guessing burst names random workstations but comes from one address.
SQL_FAILURE_SOURCES = with_ntlm("""
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
SQL_COVERAGE = with_ntlm(f"""
SELECT n.host AS host,
  COUNT(*) AS events,
  SUM(CASE WHEN n.channel = 'Security' THEN 1 ELSE 0 END) AS security_events,
  SUM(CASE WHEN n.cause = 'unknown' AND n.outcome = 'success' THEN 1 ELSE 0 END)
    AS unknown_events,
  MAX(CASE WHEN dcs.host IS NULL THEN 0 ELSE 1 END) AS is_dc
FROM ntlm_all n
LEFT JOIN dcs ON {_netbios('n.host')} = dcs.host
GROUP BY n.host
ORDER BY events DESC, host
""")  # noqa: S608 (module constants only)

# Kerberos logons (4624/4625) at kerbfirst's own services, per reporting host, beside the
# NTLM the same host logged: how much of a kerbfirst service's traffic is already Kerberos.
SQL_KERBEROS_LOGONS = with_ntlm(""",
kl AS (
  SELECT UPPER(COALESCE(e.host, '')) AS host,
    SUM(CASE WHEN e.event_id = 4624 THEN 1 ELSE 0 END) AS succeeded,
    SUM(CASE WHEN e.event_id = 4625 THEN 1 ELSE 0 END) AS failed,
    COUNT(DISTINCT CASE WHEN e.event_id = 4624 THEN UPPER(COALESCE(e.user, '')) END)
      AS accounts
  FROM events e
  WHERE e.mechanism = 'kerberos' AND e.event_id IN (4624, 4625)
  GROUP BY UPPER(COALESCE(e.host, ''))
),
nl AS (
  SELECT host, SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS ntlm,
    SUM(CASE WHEN outcome <> 'success' THEN 1 ELSE 0 END) AS ntlm_refused
  FROM ntlm_all
  GROUP BY host
)
SELECT kl.host AS server, kl.succeeded, kl.failed, kl.accounts,
  COALESCE(nl.ntlm, 0) AS ntlm, COALESCE(nl.ntlm_refused, 0) AS ntlm_refused
FROM kl LEFT JOIN nl ON nl.host = kl.host
ORDER BY kl.succeeded DESC, kl.host
""")
