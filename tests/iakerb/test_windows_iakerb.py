"""Windows' IAKerb, from a recorded Windows 25H2 LocalKDC exchange (windows_vectors.py):
every reply decrypts with our modules, Windows' mechListMIC verifies with the modular
sequence rule MIT uses, and our acceptor answers a Windows initiator byte for byte as
Windows does (target-realm ".", header-flags 01 00 00 00)."""

from __future__ import annotations

import os

import pytest

from kerbfirst.crypto import Key, decrypt, string_to_key
from kerbfirst.gss.checksum import GSS_C_REPLAY_FLAG, GSS_C_SEQUENCE_FLAG
from kerbfirst.gss.errors import GapToken
from kerbfirst.gss.iakerb import ForwardToKdc, IakerbAcceptor, IakerbInitiator
from kerbfirst.gss.krb5_tokens import IAKERB_OID, KRB5_OID, frame, unframe_krb5
from kerbfirst.gss.per_message import ContextKeys, SecurityContext
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.gss.spnego_acceptor import MicState, SpnegoAcceptor
from kerbfirst.wire.constants import (
    KU_AP_REP_ENC_PART,
    KU_AS_REP_ENC_PART,
    KU_TGS_REP_ENC_PART_SESSKEY,
)
from kerbfirst.wire.iakerb import decode_iakerb_token
from kerbfirst.wire.krb5 import (
    ApRep,
    EncApRepPart,
    EncKdcRepPart,
    KdcRep,
    KrbError,
    decode_etype_info2,
    decode_method_data,
)
from kerbfirst.wire.spnego import NegTokenResp, decode_negotiation_token, encode_mech_type_list

from .iakerb_env import (
    ALICE_PASSWORD,
    SERVICE,
    T0,
    acceptor_for,
    converse,
    key_lookup,
    make_realm,
    realm_resolver,
)
from .iakerb_env import REALM as OUR_REALM
from .windows_vectors import (
    INITIATOR_MECH_TYPES,
    PASSWORD,
    REALM,
    WINDOWS_INITIATOR_FIRST,
    WINDOWS_REPLY_AP_REP,
    WINDOWS_REPLY_AS_REP,
    WINDOWS_REPLY_PREAUTH,
    WINDOWS_REPLY_TGS_REP,
)

PA_ETYPE_INFO2 = 19


def _resp(token: bytes) -> NegTokenResp:
    resp = decode_negotiation_token(token)
    assert isinstance(resp, NegTokenResp)
    return resp


def _kdc_message(token: bytes) -> bytes:
    inner = _resp(token).response_token
    assert inner is not None
    return decode_iakerb_token(inner).message


def _windows_context(flags: int) -> tuple[SecurityContext, int]:
    """The initiator's context after Windows' AP-REP: password -> AS-REP -> TGS-REP -> AP-REP."""
    err = KrbError.decode(_kdc_message(WINDOWS_REPLY_PREAUTH))
    assert err.e_data is not None
    info = [e for pa in decode_method_data(err.e_data) if pa.padata_type == PA_ETYPE_INFO2
            for e in decode_etype_info2(pa.padata_value)]
    as_rep = KdcRep.decode(_kdc_message(WINDOWS_REPLY_AS_REP))
    salt = next(e.salt for e in info if e.etype == as_rep.enc_part.etype)
    assert salt == "WIN25H2INSAdministrator"
    user_key = string_to_key(as_rep.enc_part.etype, PASSWORD, salt.encode())
    as_part = EncKdcRepPart.decode(decrypt(user_key, KU_AS_REP_ENC_PART, as_rep.enc_part.cipher))
    assert as_part.srealm == REALM
    tgt_key = Key(as_part.key.keytype, as_part.key.keyvalue)
    tgs_rep = KdcRep.decode(_kdc_message(WINDOWS_REPLY_TGS_REP))
    tgs_part = EncKdcRepPart.decode(decrypt(tgt_key, KU_TGS_REP_ENC_PART_SESSKEY,
                                            tgs_rep.enc_part.cipher))
    assert tgs_part.sname.name_string == ("cifs", "win25h2ins")
    session = Key(tgs_part.key.keytype, tgs_part.key.keyvalue)
    ap_token = _resp(WINDOWS_REPLY_AP_REP).response_token
    assert ap_token is not None
    oid, _, body = unframe_krb5(ap_token, frozenset({KRB5_OID, IAKERB_OID}))
    assert oid == KRB5_OID  # Windows frames its AP-REP with the krb5 OID, not IAKerb's
    ap_rep = ApRep.decode(body)
    part = EncApRepPart.decode(decrypt(session, KU_AP_REP_ENC_PART, ap_rep.enc_part.cipher))
    assert part.subkey is not None and part.seq_number is not None
    keys = ContextKeys(session, None, Key(part.subkey.keytype, part.subkey.keyvalue))
    ctx = SecurityContext(initiator=True, keys=keys, flags=flags, send_seq=1,
                          recv_seq=part.seq_number, expires=None, client="Administrator",
                          service="cifs/win25h2ins", random=os.urandom)
    return ctx, part.seq_number


def test_windows_mech_list_mic_verifies_with_replay_detection() -> None:
    ctx, ap_rep_seq = _windows_context(GSS_C_REPLAY_FLAG)
    mic = _resp(WINDOWS_REPLY_AP_REP).mech_list_mic
    assert mic is not None
    assert ap_rep_seq == 837135677 and mic[8:16] == bytes(8)  # the MIC's own number is 0
    state = MicState(encode_mech_type_list(INITIATOR_MECH_TYPES), required=True)
    state.verify(ctx, mic, T0)  # raised BadMic (OldToken) before the modular rule
    assert state.received


def test_windows_mech_list_mic_is_a_gap_with_sequencing() -> None:
    """MIT reports GSS_S_GAP_TOKEN here (and its SPNEGO refuses any status but COMPLETE)."""
    ctx, _ = _windows_context(GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG)
    mic = _resp(WINDOWS_REPLY_AP_REP).mech_list_mic
    assert mic is not None
    with pytest.raises(GapToken):
        ctx.verify_mic(encode_mech_type_list(INITIATOR_MECH_TYPES), mic)


def test_our_reply_to_a_windows_initiator_is_byte_identical_to_windows() -> None:
    realm = make_realm(seed=21)
    acceptor = SpnegoAcceptor({IAKERB_OID: lambda oid: IakerbAcceptor(
        key_lookup=key_lookup(realm), replay_cache=ReplayCache(), random=os.urandom,
        realm=REALM)})
    effect = acceptor.step(WINDOWS_INITIATOR_FIRST, now=T0)
    assert isinstance(effect, ForwardToKdc) and effect.realm == REALM
    assert effect.message[:1] == b"\x6a"  # Windows' AS-REQ, relayed as is
    windows_kdc_reply = _kdc_message(WINDOWS_REPLY_PREAUTH)
    ours = acceptor.kdc_reply(windows_kdc_reply, now=T0)
    assert ours == WINDOWS_REPLY_PREAUTH
    header = decode_iakerb_token(_resp(ours).response_token or b"").header
    assert header.target_realm == "." and header.header_flags == b"\x01\x00\x00\x00"


def test_initiator_takes_an_ap_rep_framed_with_either_oid() -> None:
    """Windows frames the AP-REP with the krb5 OID, MIT with IAKerb's: both complete."""
    for oid in (KRB5_OID, IAKERB_OID):
        realm = make_realm(seed=22)
        ini = IakerbInitiator(service=SERVICE, client="alice", realm=OUR_REALM,
                              password=ALICE_PASSWORD, random=realm.random)
        acc = acceptor_for(realm)
        resolve = realm_resolver(realm)
        out = ini.step(None, now=T0)
        while not acc.complete:
            assert isinstance(out, bytes)
            reply = acc.step(out, now=T0)
            while isinstance(reply, ForwardToKdc):
                reply = acc.kdc_reply(resolve(reply.realm, reply.message), now=T0)
            assert reply is not None
            if acc.complete:
                _, tok_id, body = unframe_krb5(reply, frozenset({KRB5_OID, IAKERB_OID}))
                reply = frame(oid, tok_id, body)
            out = ini.step(reply, now=T0)
        assert out is None and ini.complete
        assert ini.context is not None and acc.context is not None
        ini.context.verify_mic(b"m", acc.context.get_mic(b"m"))


@pytest.mark.parametrize(("header_flags", "ap_rep_oid"),
                         [(bytes(4), KRB5_OID), (None, IAKERB_OID)])
def test_ap_rep_is_framed_as_windows_or_mit_frames_it(header_flags: bytes | None,
                                                      ap_rep_oid: str) -> None:
    """Toward a Windows initiator (it sends header-flags) the AP-REP carries the krb5 OID,
    as Windows' does (WINDOWS_REPLY_AP_REP); toward MIT's, the AP-REQ's (IAKerb) OID."""
    realm = make_realm(seed=23)
    ini = IakerbInitiator(service=SERVICE, client="alice", realm=OUR_REALM,
                          password=ALICE_PASSWORD, random=realm.random,
                          header_flags=header_flags)
    tokens = converse(ini, acceptor_for(realm), realm_resolver(realm))
    assert ini.complete
    assert unframe_krb5(tokens[-2], frozenset({IAKERB_OID}))[0] == IAKERB_OID  # the AP-REQ
    oid, tok_id, _ = unframe_krb5(tokens[-1], frozenset({KRB5_OID, IAKERB_OID}))
    assert (oid, tok_id) == (ap_rep_oid, b"\x02\x00")
