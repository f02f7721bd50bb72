"""A throwaway Apache httpd with mod_auth_gssapi (Debian: apache2,
libapache2-mod-auth-gssapi) on a loopback port, with its own configuration directory:
the anchor server our clients are checked against and the benchmark compares with."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from peerlib import free_port, tcp_listening

MODULES = Path("/usr/lib/apache2/modules")


def require_apache() -> str:
    apache = shutil.which("apache2") or "/usr/sbin/apache2"
    if not os.access(apache, os.X_OK) or not (MODULES / "mod_auth_gssapi.so").exists():
        pytest.fail("Apache httpd with mod_auth_gssapi is not installed: run `apt-get "
                    "install apache2 libapache2-mod-auth-gssapi` (or bash scripts/bootstrap.sh)",
                    pytrace=False)
    return apache


@contextlib.contextmanager
def apache_gssapi(keytab: Path, krb5_conf: Path, *, tls: tuple[Path, Path] | None = None,
                  workers: int = 25, processes: int = 1, replay_cache: bool = False,
                  log_level: str = "warn auth_gssapi:debug",
                  cpus: str | None = None) -> Iterator[int]:
    """Serve / behind `AuthType GSSAPI` (krb5 only) with `keytab`; yields the port.

    `workers` threads in each of `processes` event-MPM processes. `replay_cache` keeps
    MIT's default replay cache (file2, in a directory of the instance that www-data writes)
    instead of none; `cpus` runs httpd under `taskset -c CPUS` (the benchmark pins both
    servers alike)."""
    apache = require_apache()
    root = Path(tempfile.mkdtemp(prefix="kf-apache-"))
    root.chmod(0o755)  # the worker user (www-data) reads the keytab and the page
    try:
        (root / "www").mkdir()
        (root / "www" / "index.html").write_text("<p>apache ok</p>\n")
        shutil.copy(keytab, root / "http.keytab")
        shutil.chown(root / "http.keytab", "www-data", "www-data")
        (root / "http.keytab").chmod(0o400)
        shutil.copy(krb5_conf, root / "krb5.conf")  # the test's tmp dirs are 0700
        (root / "krb5.conf").chmod(0o644)
        port = free_port()
        lines = [
            f"ServerRoot {root}", f"PidFile {root}/httpd.pid", f"DefaultRuntimeDir {root}",
            f"Listen 127.0.0.1:{port}", "ServerName localhost", "User www-data",
            "Group www-data", f"ErrorLog {root}/error.log", f"LogLevel {log_level}",
            f"LoadModule mpm_event_module {MODULES}/mod_mpm_event.so",
            f"LoadModule authz_core_module {MODULES}/mod_authz_core.so",
            f"LoadModule authn_core_module {MODULES}/mod_authn_core.so",
            f"LoadModule authz_user_module {MODULES}/mod_authz_user.so",
            f"LoadModule auth_gssapi_module {MODULES}/mod_auth_gssapi.so",
            f"StartServers {processes}", f"ThreadsPerChild {workers}",
            f"MaxRequestWorkers {workers * processes}", f"ServerLimit {processes}",
            "KeepAlive On", "MaxKeepAliveRequests 0",
            f"DocumentRoot {root}/www",
            "<Location />", "  AuthType GSSAPI", "  AuthName kerbfirst",
            f"  GssapiCredStore keytab:{root}/http.keytab", "  GssapiAllowedMech krb5",
            "  Require valid-user", "</Location>",
        ]
        if tls is not None:
            cert, key = tls
            shutil.copy(cert, root / "server.pem")
            shutil.copy(key, root / "server.key")
            lines += [f"LoadModule ssl_module {MODULES}/mod_ssl.so",
                      f"LoadModule socache_shmcb_module {MODULES}/mod_socache_shmcb.so",
                      "SSLEngine on", f"SSLCertificateFile {root}/server.pem",
                      f"SSLCertificateKeyFile {root}/server.key"]
        conf = root / "httpd.conf"
        conf.write_text("\n".join(lines) + "\n")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C",
               "KRB5_CONFIG": str(root / "krb5.conf")}
        if replay_cache:
            (root / "rcache").mkdir()
            shutil.chown(root / "rcache", "www-data", "www-data")
            env["KRB5RCACHEDIR"] = str(root / "rcache")
        else:
            env["KRB5RCACHETYPE"] = "none"
        pin = ["taskset", "-c", cpus] if cpus else []
        # A session of its own, as uvicorn gets in the benchmark (its scheduler autogroup).
        proc = subprocess.Popen([*pin, apache, "-f", str(conf), "-DFOREGROUND"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 20
            while not tcp_listening(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = root / "error.log"
                    log = err.read_text() if err.exists() else ""
                    out = proc.stdout.read() if proc.stdout and proc.poll() is not None else ""
                    pytest.fail(f"apache2 did not start: {out} {log}")
                time.sleep(0.05)
            yield port
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        if not os.environ.get("KF_KEEP_APACHE"):
            shutil.rmtree(root, ignore_errors=True)
