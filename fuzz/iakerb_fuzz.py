"""Fuzz target: the IAKerb acceptor's token handling (kerbfirst.gss.iakerb_acceptor and
kerbfirst.wire.iakerb), as an IAKerb server meets it from the network.

    .venv-dev/bin/python fuzz/iakerb_fuzz.py [libFuzzer options] [CORPUS_DIR ...]
    e.g. fuzz/iakerb_fuzz.py -max_total_time=600 -max_len=4096

The input is split into tokens (2-byte big-endian length + bytes, the first byte of the
input choosing the scenario); each token is fed to a fresh or continuing acceptor (bare
IAKerb, or the service acceptor that takes IAKerb bare or inside SPNEGO), whose
ForwardToKdc effects are answered with real KDC replies or with fuzzed bytes. Any
exception other than the documented GssError family is a crash. The seed corpus of real
tokens (our initiator's in both variants, realm discovery, a Windows-style token, Windows
25H2's SPNEGO/IAKerb initiator token and KDC reply, MIT 1.22's discovery token, MIT 1.20
gss-client's recorded tokens in fuzz/seeds/iakerb) is always written to a temporary
directory and added after the corpus directories given, which libFuzzer reads as inputs
(new inputs go to the first directory).
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
    from kerbfirst.gss.iakerb_negotiate import IakerbServiceAcceptor
    from kerbfirst.gss.replay import ReplayCache
    from kerbfirst.gss.spnego_acceptor import krb5_factory
    from kerbfirst.wire import iakerb as wire_iakerb
    from kerbfirst.wire import spnego as wire_spnego

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
from iakerb.windows_vectors import (
    WINDOWS_INITIATOR_FIRST,
    WINDOWS_REPLY_AP_REP,
    WINDOWS_REPLY_AS_REP,
    WINDOWS_REPLY_PREAUTH,
    WINDOWS_REPLY_TGS_REP,
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


MIT_122_DISCOVERY = bytes.fromhex("601006062b060105020505013004a1020c00")
MODES = 6  # 0-3: bare IakerbAcceptor; 4-5: IakerbServiceAcceptor (SPNEGO or bare)


def _new_iakerb() -> IakerbAcceptor:
    return IakerbAcceptor(key_lookup=_LOOKUP, replay_cache=_CACHE, random=os.urandom,
                          realm=REALM, max_kdc_message=8192, peer="fuzz")


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    mode, tokens = data[0] % MODES, _split(data[1:])
    acc: IakerbAcceptor | IakerbServiceAcceptor
    if mode >= 4:
        acc = IakerbServiceAcceptor(_new_iakerb, krb5=krb5_factory(
            key_lookup=_LOOKUP, replay_cache=_CACHE, random=os.urandom))
        mode -= 2  # 4: fuzzed KDC replies (as 2), 5: every KDC unreachable (as 3)
    else:
        acc = _new_iakerb()
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


def _pack(mode: int, tokens: list[bytes]) -> bytes:
    return bytes((mode,)) + b"".join(struct.pack(">H", len(t)) + t for t in tokens)


def _spnego_inner(token: bytes) -> bytes:
    """The mechanism token of a Windows SPNEGO token (NegTokenInit or NegTokenResp)."""
    parsed = wire_spnego.decode_initial_token(token) if token[:1] == b"\x60" else \
        wire_spnego.decode_negotiation_token(token)
    inner = parsed.mech_token if isinstance(parsed, wire_spnego.NegTokenInit) else \
        parsed.response_token
    return inner or b""


def _seed_corpus() -> str:
    directory = tempfile.mkdtemp(prefix="iakerb-fuzz-seeds-")
    seeds: list[bytes] = []
    for conv in _CONVERSATIONS:
        proxy = [*conv[0:6:2], conv[6]]
        seeds.append(_pack(0, proxy))
        seeds.append(_pack(1, proxy[1:]))
    windows_iakerb = _spnego_inner(WINDOWS_INITIATOR_FIRST)
    windows_replies = [wire_iakerb.decode_iakerb_token(_spnego_inner(t)).message
                       for t in (WINDOWS_REPLY_PREAUTH, WINDOWS_REPLY_AS_REP,
                                 WINDOWS_REPLY_TGS_REP)]
    seeds.append(_pack(0, [windows_iakerb]))
    seeds.append(_pack(2, [windows_iakerb, windows_replies[0], windows_iakerb,
                           windows_replies[1]]))
    seeds.append(_pack(4, [WINDOWS_INITIATOR_FIRST, windows_replies[0]]))
    seeds.append(_pack(5, [WINDOWS_INITIATOR_FIRST]))
    seeds.append(_pack(4, [_spnego_inner(WINDOWS_REPLY_AP_REP)]))
    seeds.append(_pack(0, [MIT_122_DISCOVERY, *_CONVERSATIONS[0][2:6:2]]))
    seeds.append(_pack(4, [MIT_122_DISCOVERY]))
    recorded = pathlib.Path(__file__).with_name("seeds") / "iakerb"
    for path in sorted(recorded.glob("*.bin")) if recorded.is_dir() else []:
        seeds.append(path.read_bytes())
    for i, seed in enumerate(seeds):
        pathlib.Path(directory, f"seed-{i}").write_bytes(seed)
    return directory


if __name__ == "__main__":
    # Always: libFuzzer reads every corpus directory as inputs and writes new inputs to the
    # first one, so the seeds load whether or not a corpus directory was given.
    args = [*sys.argv, _seed_corpus()]
    atheris.Setup(args, TestOneInput)
    atheris.Fuzz()
