"""The lab's servers, each started in its machine's namespace with the product's own command
(or MIT's krb5kdc) and waited for by its listening socket."""

from __future__ import annotations

import sys
from pathlib import Path

from kerbfirst.lab import netns
from kerbfirst.lab.context import Lab, clean_env, kerbfirst_argv
from kerbfirst.lab.realms import APP_HOST, CORP, OTHER, krb5_conf, mit_program

GATEWAY_PORT = 443
IAKERB_PORT = 4444
UPSTREAM_PORT = 8080
URL = f"https://{APP_HOST}/"


def start_corp_kdc(lab: Lab) -> None:
    lab.start("corp-kdc", "kdc", [*kerbfirst_argv(), "kdc", "serve", "--dir",
                                  str(lab.directory / "corp")])
    lab.wait_listening("corp-kdc", 88)


def start_wg_kdc(lab: Lab) -> None:
    lab.start("wg-kdc", "wg", [*kerbfirst_argv(), "kdc", "serve", "--dir",
                               str(lab.directory / "wg")])
    lab.wait_listening("wg-kdc", 88)


def start_mit_kdc(lab: Lab) -> None:
    d = lab.directory / "other"
    env = clean_env(KRB5_CONFIG=str(krb5_conf(lab, OTHER)),
                    KRB5_KDC_PROFILE=str(d / "kdc.conf"))
    lab.start("mit-kdc", "mit", [mit_program("krb5kdc", "krb5-kdc"), "-n", "-r", OTHER],
              env=env)
    lab.wait_listening("mit-kdc", 88)


def start_upstream(lab: Lab) -> None:
    lab.start("upstream", "app", [sys.executable, "-m", "kerbfirst.lab.upstream", "127.0.0.1",
                                  str(UPSTREAM_PORT)])
    lab.wait_listening("upstream", UPSTREAM_PORT)


def gateway_argv(lab: Lab, *, policy: Path, logs: Path, iakerb: bool,
                 clock_offset: str | None = None) -> list[str]:
    tls = lab.directory / "app" / "tls"
    argv = [*kerbfirst_argv(), "http", "gateway", "--listen", f"0.0.0.0:{GATEWAY_PORT}",
            "--upstream", f"http://127.0.0.1:{UPSTREAM_PORT}",
            "--keytab", str(lab.directory / "app" / "http.keytab"),
            "--tls-cert", str(tls / "cert.pem"), "--tls-key", str(tls / "key.pem"),
            "--epa", "when-supported", "--policy", str(policy),
            "--ntlm-dir", str(lab.directory / "corp"),
            "--ntlm-events", str(logs / "ntlm-events.jsonl"),
            "--audit-log", str(logs / "gateway-web.jsonl")]
    if iakerb:
        argv += ["--kkdcp-realm", f"{CORP}={netns.address('kdc')}:88"]
    if clock_offset:
        argv += ["--testing-clock-offset", clock_offset]
    return argv


def start_gateway(lab: Lab, argv: list[str]) -> None:
    lab.start("gateway", "app", argv)
    lab.wait_listening("gateway", GATEWAY_PORT)


def start_iakerb(lab: Lab, logs: Path) -> None:
    lab.start("iakerb", "app", [
        *kerbfirst_argv(), "iakerb", "serve",
        "--keytab", str(lab.directory / "app" / "http.keytab"),
        "--listen", f"0.0.0.0:{IAKERB_PORT}",
        "--realm-kdc", f"{CORP}={netns.address('kdc')}:88",
        "--replay-cache", str(lab.directory / "app" / "iakerb.rcache")])
    lab.wait_listening("iakerb", IAKERB_PORT)
