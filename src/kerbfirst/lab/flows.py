"""One authentication of one client machine, run in its namespace and recorded: kerbfirst's
HTTP client (Kerberos or IAKerb), pyspnego's NTLM, MIT kinit + curl --negotiate, MIT
gss-client -iakerb."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from kerbfirst.lab import netns
from kerbfirst.lab.context import Lab, LabError, clean_env
from kerbfirst.lab.evidence import Step
from kerbfirst.lab.realms import APP_HOST, krb5_conf, passwords
from kerbfirst.lab.servers import IAKERB_PORT, URL


def _ca(lab: Lab) -> str:
    return str(lab.directory / "app" / "tls" / "ca.pem")


def _role(lab: Lab, step: Step, role: str, args: list[str], password: str) -> dict[str, Any]:
    done = lab.run(step, role, [sys.executable, "-m", "kerbfirst.lab.roles", *args],
                   stdin=password + "\n")
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"status": 0, "error": (done.stdout + done.stderr).strip()[-400:]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def negotiate(lab: Lab, step: Step, role: str, account: str, realm: str) -> dict[str, Any]:
    """kerbfirst's httpx client: a ticket from the KDC, or IAKerb through the gateway."""
    return _role(lab, step, role, [
        "negotiate", URL, "--principal", f"{account}@{realm}",
        "--kdc", f"{netns.address('kdc')}:88", "--ca", _ca(lab)], passwords(lab)[account])


def ntlm(lab: Lab, step: Step, role: str, account: str, domain: str, workstation: str, *,
         kerberos_first: str | None = None, client_log: Path | None = None,
         ) -> dict[str, Any]:
    args = ["ntlm", URL, "--user", f"{domain}\\{account}", "--workstation", workstation,
            "--ca", _ca(lab)]
    if kerberos_first:
        args += ["--kerberos-first", kerberos_first, "--kdc", f"{netns.address('kdc')}:88"]
    if client_log:
        args += ["--client-log", str(client_log)]
    return _role(lab, step, role, args, passwords(lab)[account])


def _program(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise LabError(f"`{name}` is missing: apt-get install {package}")
    return found


def mit_curl(lab: Lab, step: Step, role: str, account: str, realm: str) -> dict[str, Any]:
    """MIT kinit in `realm`, then curl --negotiate (MIT GSSAPI) to the gateway."""
    ccache = lab.path("clients", f"{role}-{account}.ccache")
    ccache.unlink(missing_ok=True)
    env = clean_env(KRB5_CONFIG=str(krb5_conf(lab, realm)), KRB5CCNAME=f"FILE:{ccache}")
    kinit = lab.run(step, role, [_program("kinit", "krb5-user"), f"{account}@{realm}"],
                    stdin=passwords(lab)[account] + "\n", env=env)
    if kinit.returncode != 0:
        return {"status": 0, "error": f"kinit: {(kinit.stdout + kinit.stderr).strip()}"}
    curl = lab.run(step, role, [_program("curl", "curl"), "-sS", "--max-time", "20",
                                "--negotiate", "-u", ":", "--cacert", _ca(lab),
                                "-w", "\n%{http_code}", URL], env=env)
    body, _, code = curl.stdout.rpartition("\n")
    status = int(code) if code.strip().isdigit() else 0
    return {"status": status, "body": body[:300], "mechanism": "kerberos",
            "error": curl.stderr.strip()[-300:]}


def gss_client_iakerb(lab: Lab, step: Step, role: str, account: str, realm: str,
                      ) -> dict[str, Any]:
    """MIT's gss-client -iakerb to `kerbfirst iakerb serve` on the app server."""
    env = clean_env(KRB5_CONFIG=str(krb5_conf(lab, realm)),
                    KRB5CCNAME=f"FILE:{lab.path('clients', f'{role}-gss.ccache')}")
    done = lab.run(step, role, [
        _program("gss-client", "krb5-gss-samples"), "-iakerb", "-user", account,
        "-pass", passwords(lab)[account], "-port", str(IAKERB_PORT), APP_HOST,
        f"HTTP@{APP_HOST}", "lab"], env=env)
    return {"status": 200 if done.returncode == 0 else 0, "exit": done.returncode,
            "verified": "Signature verified" in done.stdout}
