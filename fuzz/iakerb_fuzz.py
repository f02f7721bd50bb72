"""Fuzz target: the IAKerb acceptor's token handling (kerbfirst.gss.iakerb_acceptor and
kerbfirst.wire.iakerb), as an IAKerb server meets it from the network.

    /work/main/.venv/bin/python fuzz/iakerb_fuzz.py [libFuzzer options] [CORPUS_DIR ...]
    e.g. fuzz/iakerb_fuzz.py -max_total_time=600 -max_len=4096

The input is split into tokens (2-byte big-endian length + bytes, the first byte of the
input choosing the scenario); each token is fed to a fresh or continuing acceptor, whose
ForwardToKdc effects are answered with real KDC replies or with fuzzed bytes. Any
exception other than the documented GssError family is a crash. With no corpus directory
given, a seed corpus of real tokens (our initiator's, both variants, realm discovery, a
Windows-style token, MIT 1.20 gss-client's recorded tokens in fuzz/seeds/iakerb) is
written to a temporary directory and used.
"""

from __future__ import annotations

import os
import pathlib
import struct
import sys
import tempfile

import atheris

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

with atheris.instrument_imports():
    from kerbfirst.gss.errors import GssError
    from kerbfirst.gss.iakerb import (
        ForwardToKdc,
        IakerbAcceptor,
        IakerbInitiator,
        IakerbVariant,
        KdcFailure,
    )
    from kerbfirst.gss.replay import ReplayCache
    from kerbfirst.wire import iakerb as wire_iakerb  # noqa: F401  (instrumented)

from iakerb.iakerb_env import (
    ALICE_PASSWORD,
    REALM,
    SERVICE,
    T0,
    converse,
    key_lookup,
    make_realm,
    realm_resolver,
)

_REALM = make_realm(seed=99)
_LOOKUP = key_lookup(_REALM)
_CACHE = ReplayCache()


def _record(variant: IakerbVariant, **kw: object) -> list[bytes]:
    ini = IakerbInitiator(service=SERVICE, client="alice", realm=REALM, password=ALICE_PASSWORD,
                          random=_REALM.random, variant=variant, **kw)  # type: ignore[arg-type]
    acc = IakerbAcceptor(key_lookup=_LOOKUP, replay_cache=ReplayCache(), random=_REALM.random,
                         realm=REALM)
    return converse(ini, acc, realm_resolver(_REALM))


_CONVERSATIONS = [_record(IakerbVariant.DRAFT03), _record(IakerbVariant.MIT_OLD),
                  _record(IakerbVariant.DRAFT03, header_flags=bytes(4))]
# KDC replies to hand back for ForwardToKdc (the acceptor->initiator tokens' messages)
_KDC_REPLIES = [t for conv in _CONVERSATIONS for t in conv[1:6:2]]


def _split(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos + 2 <= len(data) and len(out) < 12:
        (n,) = struct.unpack_from(">H", data, pos)
        out.append(data[pos + 2: pos + 2 + n])
        pos += 2 + n
    return out


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    mode, tokens = data[0] % 4, _split(data[1:])
    acc = IakerbAcceptor(key_lookup=_LOOKUP, replay_cache=_CACHE, random=os.urandom,
                         realm=REALM, max_kdc_message=8192, peer="fuzz")
    if mode == 1:  # a real conversation's prefix first, fuzzed tokens after it
        tokens = [_CONVERSATIONS[data[0] % 3][0], *tokens]
    for i, token in enumerate(tokens):
        try:
            out = acc.step(token, now=T0)
            if isinstance(out, ForwardToKdc):
                if mode == 2 and i + 1 < len(tokens):
                    reply: bytes | KdcFailure = tokens[i + 1]  # fuzzed KDC reply
                elif mode == 3:
                    reply = KdcFailure(86, "fuzz")
                else:
                    reply = realm_resolver(_REALM)(out.realm, out.message) if out.realm == REALM \
                        else KdcFailure(85, "fuzz")
                acc.kdc_reply(reply, now=T0, kdc="fuzz")
        except GssError:
            return
    acc.abandon(T0)


def _seed_corpus() -> str:
    directory = tempfile.mkdtemp(prefix="iakerb-fuzz-seeds-")
    seeds: list[bytes] = []
    for conv in _CONVERSATIONS:
        proxy = [*conv[0:6:2], conv[6]]
        seeds.append(b"\x00" + b"".join(struct.pack(">H", len(t)) + t for t in proxy))
        seeds.append(b"\x01" + b"".join(struct.pack(">H", len(t)) + t for t in proxy[1:]))
    recorded = pathlib.Path(__file__).with_name("seeds") / "iakerb"
    for path in sorted(recorded.glob("*.bin")) if recorded.is_dir() else []:
        seeds.append(path.read_bytes())
    for i, seed in enumerate(seeds):
        pathlib.Path(directory, f"seed-{i}").write_bytes(seed)
    return directory


if __name__ == "__main__":
    args = list(sys.argv)
    if not any(os.path.isdir(a) for a in args[1:]):
        args.append(_seed_corpus())
    atheris.Setup(args, TestOneInput)
    atheris.Fuzz()
