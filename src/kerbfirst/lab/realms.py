"""The lab's realms and keys, made as an administrator makes them: the corp LocalKDC and the
workgroup machine's with `kerbfirst realm init` / `principal add` / `realm trust add` run on
their own machines (namespaces); the second realm with MIT's `kdb5_util` and `kadmin.local`,
AES only; the trust keys from one password on both sides; the app server's TLS certificate
from a lab CA."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import shutil
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kerbfirst.lab import netns
from kerbfirst.lab.context import Lab, LabError, clean_env
from kerbfirst.lab.evidence import Step

CORP, OTHER, WG = "CORP.LAB", "OTHER.LAB", "WG.LAB"
APP_HOST = "app.corp.lab"
HTTP_SPN = f"HTTP/{APP_HOST}"
AES = "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal"
# The accounts of the scenario: (principal name, role that uses it, NTLM domain).
ALICE, CAROL, BACKUP, SCANNER, DAVE = "alice", "carol", "backup", "scanner", "dave"
WG_NETBIOS = "WG01"


def mit_program(name: str, package: str) -> str:
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.path.exists(p)), None)
    if found is None:
        raise LabError(f"MIT's `{name}` is missing: apt-get install {package}")
    return found


def passwords(lab: Lab) -> dict[str, str]:
    """The lab's passwords, made once per lab directory (0600) and reused by `lab run`'s
    phases and by a person trying the lab after `lab up`."""
    path = lab.path("passwords.env")
    if path.exists():
        pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
        found = {k: v for k, v in pairs}
        lab.secrets.update(found.values())
        return found
    names = [ALICE, CAROL, BACKUP, SCANNER, DAVE, "trust_other", "trust_wg", "mit_master"]
    found = {n: f"Lab-{secrets.token_urlsafe(12)}" for n in names}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(f"{k}={v}\n" for k, v in found.items()))
    lab.secrets.update(found.values())
    return found


def krb5_conf(lab: Lab, default_realm: str) -> Path:
    """A client krb5.conf for the lab: every realm's KDC, the host-to-realm mapping, direct
    trust paths (MIT would otherwise walk a hierarchy through a realm LAB)."""
    path = lab.path("clients", f"krb5-{default_realm.lower()}.conf")
    path.write_text(
        "[libdefaults]\n"
        f"    default_realm = {default_realm}\n"
        "    dns_lookup_kdc = false\n    dns_lookup_realm = false\n"
        "    rdns = false\n    dns_canonicalize_hostname = false\n"
        "    udp_preference_limit = 1\n"
        f"    permitted_enctypes = {AES.replace(':normal', '')}\n"
        "[realms]\n"
        f"    {CORP} = {{\n        kdc = {netns.address('kdc')}:88\n    }}\n"
        f"    {OTHER} = {{\n        kdc = {netns.address('mit')}:88\n    }}\n"
        # The workgroup machine's LocalKDC answers on that machine's loopback only.
        f"    {WG} = {{\n        kdc = 127.0.0.1:88\n    }}\n"
        "[domain_realm]\n"
        f"    .corp.lab = {CORP}\n    {APP_HOST} = {CORP}\n    .other.lab = {OTHER}\n"
        "[capaths]\n"
        f"    {OTHER} = {{\n        {CORP} = .\n    }}\n"
        f"    {WG} = {{\n        {CORP} = .\n    }}\n"
    )
    return path


def _ok(step: Step, done: object, what: str) -> None:
    code = getattr(done, "returncode", 1)
    if code != 0:
        out = (getattr(done, "stdout", "") or "") + (getattr(done, "stderr", "") or "")
        raise LabError(f"{what} failed with exit code {code}: {out.strip()[-600:]}")


def corp_realm(lab: Lab, step: Step) -> None:
    """The corp LocalKDC's realm directory, made on the KDC's machine; the app server's
    HTTP key exported to a keytab; the trust with the second realm, both directions."""
    pw = passwords(lab)
    d = str(lab.path("corp", "x").parent)
    kf = lab.kf
    _ok(step, kf(step, "kdc", "realm", "init", "--realm", CORP, "--listen",
                 f"{netns.address('kdc')}:88", "--dir", d), "realm init")
    _ok(step, kf(step, "kdc", "principal", "add", ALICE, "--password-stdin", "--dir", d,
                 stdin=pw[ALICE] + "\n"), "principal add alice")
    for account in (CAROL, BACKUP, SCANNER):  # passwords set with `policy credential set`
        _ok(step, kf(step, "kdc", "principal", "add", account, "--random", "--dir", d),
            f"principal add {account}")
    _ok(step, kf(step, "kdc", "principal", "add", HTTP_SPN, "--random", "--dir", d),
        "principal add HTTP")
    keytab = lab.path("app", "http.keytab")
    _ok(step, kf(step, "kdc", "keytab", "export", HTTP_SPN, "--out", str(keytab), "--dir", d),
        "keytab export")
    _ok(step, kf(step, "kdc", "realm", "trust", "add", OTHER, "--direction", "both",
                 "--password-stdin", "--kdc", f"{netns.address('mit')}:88",
                 "--domain", ".other.lab", "--dir", d, stdin=pw["trust_other"] + "\n"),
        "realm trust add OTHER.LAB")


def mit_realm(lab: Lab, step: Step) -> dict[str, str]:
    """The second realm: MIT's KDC database (kdb5_util), its users and both inter-realm
    keys (kadmin.local, the trust password, AES only). Returns the environment MIT's KDC
    programs run with."""
    pw = passwords(lab)
    d = lab.path("other", "x").parent
    kdc_conf = d / "kdc.conf"
    kdc_conf.write_text(
        "[kdcdefaults]\n    kdc_listen = 88\n    kdc_tcp_listen = 88\n"
        f"[realms]\n    {OTHER} = {{\n"
        f"        database_name = {d / 'principal'}\n"
        f"        key_stash_file = {d / 'stash'}\n"
        f"        acl_file = {d / 'kadm5.acl'}\n"
        f"        supported_enctypes = {AES}\n"
        "        master_key_type = aes256-cts-hmac-sha1-96\n"
        "        max_life = 10h\n    }\n"
        f"[logging]\n    kdc = FILE:{lab.path('logs', 'mit-krb5kdc.log')}\n")
    (d / "kadm5.acl").write_text("")
    env = clean_env(KRB5_CONFIG=str(krb5_conf(lab, OTHER)), KRB5_KDC_PROFILE=str(kdc_conf))
    kdb5 = mit_program("kdb5_util", "krb5-kdc")
    kadmin = mit_program("kadmin.local", "krb5-admin-server")
    _ok(step, lab.run(step, "mit", [kdb5, "create", "-s", "-r", OTHER, "-P", pw["mit_master"]],
                      env=env), "kdb5_util create")
    for name, password in ((DAVE, pw[DAVE]), (f"krbtgt/{CORP}@{OTHER}", pw["trust_other"]),
                           (f"krbtgt/{OTHER}@{CORP}", pw["trust_other"])):
        done = lab.run(step, "mit", [kadmin, "-r", OTHER, "-q",
                                     f"addprinc -e \"{AES}\" -pw {password} {name}"], env=env)
        _ok(step, done, f"kadmin.local addprinc {name}")
    return env


def workgroup_realm(lab: Lab, step: Step) -> None:
    """The workgroup machine's own LocalKDC for its local accounts, listening on that
    machine's loopback only, and its one-way trust to the corp realm (its users reach corp
    services; corp users never log on to it)."""
    pw = passwords(lab)
    d = str(lab.path("wg", "x").parent)
    corp_dir = str(lab.path("corp", "x").parent)
    kf = lab.kf
    _ok(step, kf(step, "wg", "realm", "init", "--realm", WG, "--listen", "127.0.0.1:88",
                 "--dir", d), "realm init WG.LAB")
    _ok(step, kf(step, "wg", "principal", "add", BACKUP, "--password-stdin", "--dir", d,
                 stdin=pw[BACKUP] + "\n"), "principal add backup@WG.LAB")
    _ok(step, kf(step, "wg", "realm", "trust", "add", CORP, "--direction", "outgoing",
                 "--password-stdin", "--kdc", f"{netns.address('kdc')}:88", "--domain",
                 ".corp.lab", "--dir", d, stdin=pw["trust_wg"] + "\n"),
        "realm trust add CORP.LAB (on the workgroup machine)")
    _ok(step, kf(step, "kdc", "realm", "trust", "add", WG, "--direction", "incoming",
                 "--password-stdin", "--dir", corp_dir, stdin=pw["trust_wg"] + "\n"),
        "realm trust add WG.LAB (on the corp KDC)")


def tls_certificate(lab: Lab) -> tuple[Path, Path, Path]:
    """A lab CA and the app server's certificate (app.corp.lab and its two addresses);
    returns (ca.pem, cert.pem, key.pem), the key 0600."""
    d = lab.path("app", "tls", "x").parent
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kerbfirst lab CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    host = netns.BY_ROLE["app"]
    sans: list[x509.GeneralName] = [x509.DNSName(APP_HOST)]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in (host.corp, host.edge) if a]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, APP_HOST)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_pem, cert_pem, key_pem = d / "ca.pem", d / "cert.pem", d / "key.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_pem, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return ca_pem, cert_pem, key_pem
