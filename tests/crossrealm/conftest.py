"""Two realms that trust each other: LOCAL.TEST (kerbfirst, made and served by the real
`kerbfirst` command) and MIT.TEST (MIT krb5kdc, a throwaway k5test realm), plus EVIL.TEST
(MIT) for the refusals: it trusts MIT.TEST properly, and claims a trust with LOCAL.TEST
under a key LOCAL.TEST does not share.

The trust is made as administrators make it: `kadmin.local addprinc -pw` of krbtgt/B@A
on the MIT side, `kerbfirst realm trust add` (or `principal add krbtgt/B@A`) on ours,
with the same password.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from localkdc.conftest import KF, CliRealm, _wait_tcp
from peerlib import free_port, k5_realm

LOCAL = "LOCAL.TEST"
MIT = "MIT.TEST"
EVIL = "EVIL.TEST"
ALICE_PW = "alice pässword 17"
TRUST_PW = "trust-password-between-realms"  # k5test quotes for a shell, kadmin -q not
EVIL_TRUST_PW = "what-EVIL.TEST-set"
OUR_EVIL_PW = "what LOCAL.TEST set"
LOCAL_SERVICE = "host/svc.local.test"
MIT_SERVICE = "host/svc.mit.test"


@dataclass
class Realms:
    local: CliRealm
    mit: Any  # k5test.K5Realm
    evil: Any
    tmp: Path
    local_keytab: Path  # LOCAL_SERVICE's keys, exported before the KDC started

    def krb5_conf(self, name: str, default_realm: str, extra: str = "") -> Path:
        """A client krb5.conf knowing every realm's KDC (MIT clients look the next
        realm's KDC up here when they follow a referral)."""
        path = self.tmp / name
        path.write_text(
            "[libdefaults]\n"
            f"    default_realm = {default_realm}\n"
            "    dns_lookup_kdc = false\n    dns_lookup_realm = false\n"
            "    rdns = false\n    dns_canonicalize_hostname = false\n"
            "[realms]\n"
            f"    {LOCAL} = {{\n        kdc = 127.0.0.1:{self.local.port}\n    }}\n"
            f"    {MIT} = {{\n        kdc = {self.mit.kdc_address}\n    }}\n"
            f"    {EVIL} = {{\n        kdc = {self.evil.kdc_address}\n    }}\n"
            f"{extra}"
        )
        return path


@pytest.fixture(scope="package")
def realms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realms]:
    tmp = tmp_path_factory.mktemp("crossrealm")
    # MIT's KDC checks transited paths against its own [capaths] (it does not refuse,
    # it only leaves TRANSITED-POLICY-CHECKED unset); give it the EVIL -> LOCAL path.
    # Its [domain_realm] sends host-based names of .local.test to LOCAL.TEST (MIT's KDC
    # then answers with a referral, RFC 6806).
    mit_conf = {"capaths": {EVIL: {LOCAL: MIT}}, "domain_realm": {".local.test": LOCAL}}
    (tmp / "mit").mkdir()
    (tmp / "evil").mkdir()
    with (
        k5_realm(MIT, MIT_SERVICE, tmp / "mit", krb5_conf=mit_conf) as mit,
        k5_realm(EVIL, "host/svc.evil.test", tmp / "evil") as evil,
    ):
        for name in (f"krbtgt/{MIT}@{LOCAL}", f"krbtgt/{LOCAL}@{MIT}"):
            mit.run_kadminl(["addprinc", "-pw", TRUST_PW, name])
        for name in (f"krbtgt/{MIT}@{EVIL}",):
            mit.run_kadminl(["addprinc", "-pw", TRUST_PW, name])
            evil.run_kadminl(["addprinc", "-pw", TRUST_PW, name])
        evil.run_kadminl(["addprinc", "-pw", EVIL_TRUST_PW, f"krbtgt/{LOCAL}@{EVIL}"])

        directory = tmp / "local"
        port = free_port()
        local = CliRealm(directory, port)
        local.kf("realm", "init", "--realm", LOCAL, "--listen", f"127.0.0.1:{port}")
        local.kf("principal", "add", "alice", "--password-stdin", stdin=ALICE_PW + "\n")
        local.kf("principal", "add", LOCAL_SERVICE, "--random")
        local_keytab = tmp / "local-service.keytab"
        local.kf("keytab", "export", LOCAL_SERVICE, "--out", str(local_keytab))
        # MIT's way, one direction: principal add krbtgt/B@A with the shared password...
        local.kf(
            "principal", "add", f"krbtgt/{LOCAL}@{MIT}", "--password-stdin",
            stdin=TRUST_PW + "\n",
        )
        # ...and the convenience command for the other, with the other KDC and its domain.
        local.kf(
            "realm", "trust", "add", MIT, "--direction", "outgoing", "--password-stdin",
            "--kdc", mit.kdc_address, "--domain", ".mit.test", stdin=TRUST_PW + "\n",
        )
        local.kf(
            "principal", "add", f"krbtgt/{LOCAL}@{EVIL}", "--password-stdin",
            stdin=OUR_EVIL_PW + "\n",
        )
        # EVIL.TEST's users may come through MIT.TEST only via a realm we name, not MIT.
        toml = directory / "kerbfirst.toml"
        toml.write_text(
            toml.read_text() + f'\n[capaths."{EVIL}"]\n"{LOCAL}" = ["ELSEWHERE.TEST"]\n'
        )
        local.kdc = subprocess.Popen(
            [*KF, "kdc", "serve", "--dir", str(directory)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            _wait_tcp(port, local.kdc)
            yield Realms(local, mit, evil, tmp, local_keytab)
        finally:
            local.kdc.send_signal(signal.SIGTERM)
            try:
                local.kdc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                local.kdc.kill()
                local.kdc.wait()
