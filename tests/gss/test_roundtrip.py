"""Initiator <-> acceptor round trips, entirely in memory (RFC 4121 4.1, 4.2)."""

from __future__ import annotations

import pytest

from kerbfirst.gss.checksum import (
    GSS_C_CONF_FLAG,
    GSS_C_INTEG_FLAG,
    GSS_C_MUTUAL_FLAG,
    GSS_C_REPLAY_FLAG,
    GSS_C_SEQUENCE_FLAG,
    ChannelBindings,
)
from kerbfirst.gss.errors import (
    BadBindings,
    BadMic,
    DefectiveToken,
    DuplicateToken,
    GapToken,
    KerberosErrorToken,
    NoContext,
)
from kerbfirst.gss.per_message import SecurityContext

from .fixtures import CLIENT, NOW, SERVICE_STR, pair

NO_MUTUAL = GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG


def establish(**kw: object) -> tuple[SecurityContext, SecurityContext]:
    ini, acc, _, _ = pair(**kw)  # type: ignore[arg-type]
    reply = acc.step(ini.initial_token(), now=NOW)
    if ini.mutual:
        assert reply is not None
        ini.step(reply)
    else:
        assert reply is None
    assert ini.context is not None and acc.context is not None
    return ini.context, acc.context


def exchange(a: SecurityContext, b: SecurityContext) -> None:
    for conf in (True, False):
        tok = a.wrap(b"hello " * 10, confidential=conf)
        got = b.unwrap(tok)
        assert got.data == b"hello " * 10 and got.confidential is conf
    tok = a.wrap(b"", confidential=True)
    assert b.unwrap(tok).data == b""
    mic = a.get_mic(b"signed message")
    b.verify_mic(b"signed message", mic)


@pytest.mark.parametrize("etype", [17, 18, 19, 20])
@pytest.mark.parametrize("mutual", [True, False])
@pytest.mark.parametrize(
    "use_subkey,acceptor_subkey", [(True, True), (True, False), (False, False)]
)
def test_round_trip(etype: int, mutual: bool, use_subkey: bool, acceptor_subkey: bool) -> None:
    flags = NO_MUTUAL | (GSS_C_MUTUAL_FLAG if mutual else 0)
    ini, acc = establish(etype=etype, flags=flags, use_subkey=use_subkey,
                         acceptor_subkey=acceptor_subkey)
    assert acc.client == "alice@GSS.TEST" and ini.service == SERVICE_STR
    assert (acc.keys.acceptor_subkey is not None) == (mutual and acceptor_subkey)
    assert (ini.keys.acceptor_subkey is not None) == (mutual and acceptor_subkey)
    exchange(ini, acc)
    exchange(acc, ini)


def test_acceptor_learns_flags_and_extensions() -> None:
    ini, acc, _, _ = pair()
    tok = ini.initial_token(extensions=[(2, b"finished-bytes"), (7, b"")])
    acc.step(tok, now=NOW)
    assert acc.accepted is not None
    assert acc.accepted.checksum.extension(2) == b"finished-bytes"
    assert acc.accepted.checksum.extension(7) == b""
    assert acc.accepted.checksum.flags & GSS_C_MUTUAL_FLAG
    assert acc.accepted.authenticator.cname == CLIENT


def test_extension_check_can_refuse() -> None:
    def refuse(cksum: object, subkey: object) -> None:
        raise BadMic("finished checksum does not verify", krb_error=41)

    ini, acc, _, _ = pair(extension_check=refuse)
    with pytest.raises(BadMic) as info:
        acc.step(ini.initial_token(), now=NOW)
    assert info.value.output_token is not None
    with pytest.raises(KerberosErrorToken) as err:
        ini.step(info.value.output_token)
    assert err.value.krb_error == 41


def test_tampered_wrap_and_mic() -> None:
    ini, acc = establish()
    tok = bytearray(ini.wrap(b"secret data"))
    tok[-1] ^= 1
    with pytest.raises(BadMic):
        acc.unwrap(bytes(tok))
    tok2 = bytearray(ini.wrap(b"clear data", confidential=False))
    tok2[20] ^= 1
    with pytest.raises(BadMic):
        acc.unwrap(bytes(tok2))
    mic = ini.get_mic(b"abc")
    with pytest.raises(BadMic):
        acc.verify_mic(b"abd", mic)
    with pytest.raises(DefectiveToken):
        acc.unwrap(b"\x05\x04\x00")
    with pytest.raises(DefectiveToken):
        acc.verify_mic(b"abc", b"\x04\x05" + mic[2:])
    with pytest.raises(DefectiveToken):  # filler altered
        acc.verify_mic(b"abc", mic[:3] + b"\x00" + mic[4:])


def test_reflected_token_is_refused() -> None:
    ini, _acc = establish()
    with pytest.raises(BadMic):
        ini.unwrap(ini.wrap(b"to myself"))


def test_sequence_errors_carry_payload() -> None:
    ini, acc = establish()
    first = ini.wrap(b"one")
    second = ini.wrap(b"two")
    third = ini.wrap(b"three")
    assert acc.unwrap(first).data == b"one"
    with pytest.raises(DuplicateToken) as dup:
        acc.unwrap(first)
    assert dup.value.payload == b"one"
    with pytest.raises(GapToken) as gap:
        acc.unwrap(third)
    assert gap.value.payload == b"three"
    del second


def test_rrc_rotation_is_undone() -> None:
    """Windows/MIT IOV may rotate the Wrap body right by RRC octets (RFC 4121 4.2.5)."""
    ini, acc = establish()
    for conf in (True, False):
        tok = ini.wrap(b"rotated payload", confidential=conf)
        header, body = tok[:16], tok[16:]
        rrc = 28 if conf else 12
        rotated = body[-rrc:] + body[:-rrc]
        header = header[:6] + rrc.to_bytes(2, "big") + header[8:]
        assert acc.unwrap(header + rotated).data == b"rotated payload"


def test_channel_bindings() -> None:
    cb = ChannelBindings(application_data=b"tls-server-end-point:abc")
    ini, acc, _, _ = pair(channel_bindings=cb)
    ini.channel_bindings = cb
    acc.step(ini.initial_token(), now=NOW)
    assert acc.complete
    # Initiator without bindings: refused when the acceptor requires them (pyspnego allows).
    ini, acc, _, _ = pair(channel_bindings=cb)
    with pytest.raises(BadBindings):
        acc.step(ini.initial_token(), now=NOW)
    ini, acc, _, _ = pair(channel_bindings=cb)
    ini.channel_bindings = ChannelBindings(application_data=b"other")
    with pytest.raises(BadBindings) as info:
        acc.step(ini.initial_token(), now=NOW)
    assert info.value.output_token is None  # as MIT: no KRB-ERROR for bindings


def test_states_are_enforced() -> None:
    ini, acc, _, _ = pair()
    with pytest.raises(NoContext):
        ini.step(b"")
    tok = ini.initial_token()
    with pytest.raises(NoContext):
        ini.initial_token()
    acc.step(tok, now=NOW)
    with pytest.raises(NoContext):
        acc.step(tok, now=NOW)


def _old_without_sequencing() -> None:
    from kerbfirst.gss.sequence import SequenceWindow

    w = SequenceWindow(0, replay=True, sequence=False)
    for n in range(100):
        w.check(n, b"")
    w.check(10, b"x")


def test_sequence_window_old_and_unsequenced() -> None:
    from kerbfirst.gss.errors import OldToken, UnseqToken
    from kerbfirst.gss.sequence import SequenceWindow

    w = SequenceWindow(2**64 - 2, replay=True, sequence=True)
    w.check(2**64 - 2, b"")
    w.check(2**64 - 1, b"")
    with pytest.raises(GapToken):
        w.check(2**64 + 5, b"")  # callers mask to 64 bits; the window itself just counts
    w = SequenceWindow(0, replay=True, sequence=True)
    for n in range(100):
        w.check(n, b"")
    with pytest.raises(UnseqToken):  # too old, with sequencing: MIT reports UNSEQ
        w.check(10, b"x")
    with pytest.raises(OldToken):
        _old_without_sequencing()
    with pytest.raises(GapToken):
        w.check(101, b"")
    with pytest.raises(UnseqToken):
        w.check(100, b"late")
    with pytest.raises(DuplicateToken):
        w.check(100, b"late")
    relaxed = SequenceWindow(0, replay=False, sequence=False)
    relaxed.check(5, b"")
    relaxed.check(5, b"")
    relaxed.check(1, b"")
