"""Helpers for the web tests: servers on loopback in threads (uvicorn, wsgiref), the
`kerbfirst http gateway` command as a process, TLS certificates made here, keytab lookups."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from peerlib import free_port, wait_listening


def _wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    pytest.fail(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


@contextlib.contextmanager
def uvicorn_server(app: Any, *, ssl_cert: Path | None = None, ssl_key: Path | None = None,
                   ) -> Iterator[int]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a thread; yields the port."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off", ssl_certfile=str(ssl_cert) if ssl_cert else None,
                            ssl_keyfile=str(ssl_key) if ssl_key else None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait_port(port)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def wsgiref_server(app: Callable[..., Any]) -> Iterator[int]:
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    port = free_port()
    httpd = make_server("127.0.0.1", port, app, handler_class=Quiet)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield port
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def make_tls(directory: Path, *, name: str = "localhost", algorithm: str = "rsa-sha256",
             ) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for `name` (and 127.0.0.1), signed with `algorithm`
    ("rsa-sha256", "rsa-sha384", "ecdsa-sha512"). Returns (ca, cert, key) PEMs."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kerbfirst test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    if algorithm.startswith("ecdsa"):
        key: Any = ec.generate_private_key(ec.SECP256R1())
        ca_sign_key: Any = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca_sign_key = ca_key
    digest = {"rsa-sha256": hashes.SHA256(), "rsa-sha384": hashes.SHA384(),
              "ecdsa-sha512": hashes.SHA512()}[algorithm]
    if algorithm.startswith("ecdsa"):
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_sign_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(hours=1))
              .not_valid_after(now + dt.timedelta(days=2))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .sign(ca_sign_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(ca_sign_key, digest))
    ca_path, cert_path, key_path = (directory / "ca.pem", directory / "server.pem",
                                    directory / "server.key")
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


@contextlib.contextmanager
def http_upstream(handler: type[BaseHTTPRequestHandler],
                  tls: tuple[Path, Path] | None = None) -> Iterator[int]:
    """An HTTP server on a loopback port in a thread, standing for the application behind
    the gateway (HTTPS with `tls` = (certificate, key) PEMs); yields its port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls[0], tls[1])
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def cli_gateway(keytab: Path, upstream: int, *extra: str,
                preexec_fn: Callable[[], None] | None = None,
                upstream_scheme: str = "http") -> Iterator[int]:
    """`kerbfirst http gateway` as a user starts it, on a free loopback port, in front of
    the HTTP server on `upstream`; stopped (SIGTERM, then SIGKILL) afterwards."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kerbfirst.cli.main", "http", "gateway",
         "--listen", f"127.0.0.1:{port}", "--upstream",
         f"{upstream_scheme}://127.0.0.1:{upstream}", "--keytab", str(keytab), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=preexec_fn)
    try:
        wait_listening(port, proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
