"""The lab's client machines, run inside their namespaces by `kerbfirst lab`; each prints one
JSON line: the HTTP status, the body, the mechanism and any error.

    python -m kerbfirst.lab.roles negotiate URL --principal P --kdc ADDR --ca CA [--no-iakerb]
    python -m kerbfirst.lab.roles ntlm URL --user DOMAIN\\USER --workstation NAME --ca CA
                                  [--kerberos-first P --kdc ADDR --client-log FILE]

The password is read from standard input. `negotiate` is kerbfirst's own HTTP client
(Kerberos from the KDC, or IAKerb through the server when no KDC answers). `ntlm` is
pyspnego's NTLMv2 client with the TLS channel binding (EPA, RFC 5929), as a Windows client
or a device without Kerberos sends it. With --kerberos-first it first tries Kerberos as
Windows' Negotiate does and, when no KDC answers, falls back to NTLM and writes the NTLM
usage event the client's own log holds (NTLM/Operational 8001, NXLog JSON) with the
Kerberos status that caused the fallback (KerberosStatus, STATUS_NO_LOGON_SERVERS).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

STATUS_NO_LOGON_SERVERS = "0xC000005E"  # MS-ERREF 2.3.1
TIMEOUT = 15.0


def _print(result: dict[str, Any]) -> None:
    print(json.dumps(result), flush=True)


def _negotiate(args: argparse.Namespace, password: str) -> dict[str, Any]:
    from kerbfirst.web.client_credentials import KerberosCredentials
    from kerbfirst.web.httpx_auth import HttpxNegotiateAuth

    creds = KerberosCredentials.from_password(args.principal, password, kdcs=[args.kdc],
                                              kdc_timeout=2.0, iakerb=not args.no_iakerb)
    try:
        with httpx.Client(verify=args.ca, timeout=TIMEOUT) as http:
            r = http.get(args.url, auth=HttpxNegotiateAuth(creds))
    except Exception as exc:
        return {"status": 0, "error": f"{type(exc).__name__}: {exc}",
                "mechanism": creds.last_mechanism}
    return {"status": r.status_code, "body": r.text[:300], "mechanism": creds.last_mechanism}


def _kerberos_fails(principal: str, kdc: str, password: str, spn: str) -> str | None:
    """Why Kerberos to the KDC failed (None: it worked)."""
    from kerbfirst.web.client_credentials import CredentialError, KerberosCredentials

    creds = KerberosCredentials.from_password(principal, password, kdcs=[kdc],
                                              kdc_timeout=2.0, iakerb=False)
    try:
        creds.initiator(spn)
    except CredentialError as exc:
        return str(exc)
    return None


def _client_event(path: Path, *, user: str, target: str, status: str, why: str) -> None:
    domain, _, name = user.rpartition("\\")
    host = os.environ.get("NETBIOS_COMPUTER_NAME", socket.gethostname())
    doc = {
        "EventTime": datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" "),
        "Hostname": host, "SourceName": "Microsoft-Windows-NTLM",
        "Channel": "Microsoft-Windows-NTLM/Operational", "EventID": 8001,
        "TargetName": target, "UserName": name, "DomainName": domain,
        "ProcessName": "kerbfirst-lab-client", "CallerPID": str(os.getpid()),
        "KerberosStatus": status, "KerberosReason": why[:200],
    }
    with path.open("a") as f:
        f.write(json.dumps(doc) + "\n")


def _ntlm(args: argparse.Namespace, password: str) -> dict[str, Any]:
    from spnego.channel_bindings import GssChannelBindings

    import spnego
    from kerbfirst.web.channel_binding import application_data

    result: dict[str, Any] = {}
    os.environ["NETBIOS_COMPUTER_NAME"] = args.workstation  # pyspnego's workstation name
    if args.kerberos_first:
        why = _kerberos_fails(args.kerberos_first, args.kdc, password,
                              "HTTP/" + httpx.URL(args.url).host)
        result["kerberos"] = why or "ok"
        if why is None:
            return {**result, "status": 0, "error": "Kerberos worked: no NTLM fallback"}
        if args.client_log:
            _client_event(Path(args.client_log), user=args.user,
                          target="HTTP/" + httpx.URL(args.url).host,
                          status=STATUS_NO_LOGON_SERVERS, why=why)
    url = httpx.URL(args.url)
    try:
        with httpx.Client(verify=args.ca, timeout=TIMEOUT) as http:
            first = http.get(url)  # the server's certificate, for the channel binding
            stream: Any = first.extensions.get("network_stream")
            der = stream.get_extra_info("ssl_object").getpeercert(True) if stream else None
            cb = GssChannelBindings(application_data=application_data(der)) if der else None
            ctx = spnego.client(args.user, password, hostname=url.host, service="HTTP",
                                protocol="ntlm", channel_bindings=cb)
            token = ctx.step()
            for _ in range(3):
                r = http.get(url, headers={
                    "Authorization": f"NTLM {base64.b64encode(token or b'').decode()}"})
                challenge = r.headers.get("www-authenticate", "")
                if r.status_code != 401 or not challenge.startswith("NTLM "):
                    break
                token = ctx.step(base64.b64decode(challenge.split(" ", 1)[1]))
    except Exception as exc:
        return {**result, "status": 0, "error": f"{type(exc).__name__}: {exc}"}
    return {**result, "status": r.status_code, "body": r.text[:300], "mechanism": "ntlm"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kerbfirst.lab.roles")
    sub = p.add_subparsers(dest="action", required=True)
    neg = sub.add_parser("negotiate")
    neg.add_argument("url")
    neg.add_argument("--principal", required=True)
    neg.add_argument("--kdc", required=True)
    neg.add_argument("--ca", required=True)
    neg.add_argument("--no-iakerb", action="store_true")
    nt = sub.add_parser("ntlm")
    nt.add_argument("url")
    nt.add_argument("--user", required=True)
    nt.add_argument("--workstation", required=True)
    nt.add_argument("--ca", required=True)
    nt.add_argument("--kerberos-first")
    nt.add_argument("--kdc", default="")
    nt.add_argument("--client-log")
    args = p.parse_args(argv)
    password = sys.stdin.readline().rstrip("\r\n")
    result = _negotiate(args, password) if args.action == "negotiate" else _ntlm(args, password)
    _print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
