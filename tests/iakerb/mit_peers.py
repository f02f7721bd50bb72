"""Shared pieces of the MIT IAKerb interop tests: krb5.conf files, running gss-client
against one of our servers, and gss-server for our initiator."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kerbfirst.gss.mechanism import MechContext
from kerbfirst.net.gss_stream import ReceivedMessage
from kerbfirst.net.iakerb_proxy import KdcForwarder
from kerbfirst.net.iakerb_server import start_mechanism_server
from peerlib import (
    free_port,
    peer_env,
    require_program,
    run_gss_client,
    wait_listening,
    write_krb5_conf,
)

TIMEOUT = 20.0
HOST = "server.test.realm"


def client_conf(tmp: Path, realm: str, kdc: str = "127.0.0.1:9", host: str = HOST,
                name: str = "krb5-client.conf") -> Path:
    """A krb5.conf for `realm` with `host` in it. The client's default KDC is port 9
    (discard), unreachable: the client gets its tickets only through IAKerb."""
    path = write_krb5_conf(tmp / name, realm, [kdc],
                           extra_libdefaults={"dns_canonicalize_hostname": "false",
                                              "udp_preference_limit": "1"})
    path.write_text(path.read_text() + f"\n[domain_realm]\n    {host} = {realm}\n")
    return path


async def gss_client_against(
    new_acceptor: Callable[[str], MechContext], forwarder: KdcForwarder, env: dict[str, str],
    *, user: str, password: str, message: str, extra: list[str] | None = None,
    received: list[ReceivedMessage] | None = None, service: str = f"host@{HOST}",
) -> tuple[int, str]:
    server = await start_mechanism_server(
        "127.0.0.1", 0, new_acceptor=new_acceptor, forwarder=forwarder,
        on_message=(received.append if received is not None else lambda m: None),
        timeout=TIMEOUT)
    port = server.sockets[0].getsockname()[1]
    try:
        return await run_gss_client(
            ["-iakerb", "-user", user, "-pass", password, "-port", str(port), *(extra or []),
             "127.0.0.1", service, message], env, timeout=TIMEOUT)
    finally:
        server.close()
        await server.wait_closed()


def client_env(tmp: Path, conf: Path) -> dict[str, str]:
    return peer_env(conf, tmp / "ccache-client", KRB5_TRACE=str(tmp / "client.trace"))


@contextmanager
def gss_server(keytab: Path, env: dict[str, str], tmp: Path,
               service: str = f"host@{HOST}") -> Iterator[tuple[int, subprocess.Popen[bytes],
                                                                Path]]:
    """MIT `gss-server -iakerb -once -port P -keytab KT service`, listening."""
    port = free_port()
    log_file = tmp / "gss-server.log"
    proc = subprocess.Popen(
        [require_program("gss-server"), "-iakerb", "-port", str(port), "-once", "-logfile",
         str(log_file), "-keytab", str(keytab), service],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_listening(port, proc, timeout=TIMEOUT)
        yield port, proc, log_file
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=TIMEOUT)
