"""Cross-realm paths MIT's programs do not reach in the two-realm lab, run in-process with
three kerbfirst KDCs (C.TEST -> B.TEST -> A.TEST) and our own client: a permitted
transited path ([capaths]), the KDC handing out the next hop, a referral loop, and the
transited field's RFC 4120 3.3.3.2 encoding."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from kdc.memory_realm import MemoryDatabase, password_keys, random_keys
from kerbfirst.client import AsExchange, Credential, KerberosError, ReplyError, ServiceTicketChase
from kerbfirst.crypto import Key, decrypt
from kerbfirst.kdc import Kdc, KdcAuditEvent, KdcPolicy
from kerbfirst.kdc.crossrealm import (
    CrossRealmPolicy,
    TransitedError,
    decode_transited,
    encode_transited,
)
from kerbfirst.krb.database import PrincipalEntry
from kerbfirst.wire.constants import (
    DOMAIN_X500_COMPRESS,
    KDC_ERR_PATH_NOT_ACCEPTED,
    KU_KDC_REP_TICKET,
    TKT_FLG_TRANSIT_POLICY_CHECKED,
)
from kerbfirst.wire.krb5 import EncTicketPart, TransitedEncoding

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
A, B, C = "A.TEST", "B.TEST", "C.TEST"
CAROL_PW = "carol's password"
SERVICE = f"host/svc.a.test@{A}"


class Lab:
    def __init__(self, capaths: dict[str, dict[str, dict[str, tuple[str, ...]]]]) -> None:
        self.rng = random.Random(7)
        self.dbs = {r: MemoryDatabase() for r in (A, B, C)}
        self.events: dict[str, list[KdcAuditEvent]] = {r: [] for r in (A, B, C)}
        for realm, db in self.dbs.items():
            db.add(PrincipalEntry(f"krbtgt/{realm}@{realm}", random_keys(self.rng)))
        self.dbs[C].add(PrincipalEntry(f"carol@{C}", password_keys(f"carol@{C}", CAROL_PW)))
        self.dbs[A].add(PrincipalEntry(SERVICE, random_keys(self.rng)))
        self.kdcs = {
            r: Kdc(
                database=db,
                policy=KdcPolicy(realm=r, cross_realm=CrossRealmPolicy(capaths=capaths.get(r, {}))),
                random=self.rng.randbytes,
                audit=self.events[r].append,
            )
            for r, db in self.dbs.items()
        }

    def trust(self, issuer: str, target: str) -> None:
        """krbtgt/TARGET@ISSUER, the same keys in both KDCs (what a shared password gives)."""
        entry = PrincipalEntry(f"krbtgt/{target}@{issuer}", random_keys(self.rng))
        self.dbs[issuer].add(entry)
        self.dbs[target].add(entry)

    def send(self, realm: str, request: bytes) -> bytes:
        reply = self.kdcs[realm].handle(request, peer="lab", transport="udp", now=T0)
        assert reply is not None
        return reply

    def carol_tgt(self) -> Credential:
        ex = AsExchange("carol", C, password=CAROL_PW, random=self.rng.randbytes)
        out: object = ex.first_request(T0)
        while isinstance(out, bytes):
            out = ex.receive(self.send(C, out), T0)
        assert isinstance(out, Credential)
        return out

    def chase(self, service: str = SERVICE) -> tuple[Credential, list[str]]:
        chase = ServiceTicketChase(self.carol_tgt(), service, random=self.rng.randbytes)
        realms: list[str] = []
        step: tuple[str, bytes] | Credential = chase.first_request(T0)
        while isinstance(step, tuple):
            realms.append(step[0])
            step = chase.receive(self.send(*step), T0)
        return step, realms

    def opened(self, cred: Credential) -> EncTicketPart:
        entry = self.dbs[A].entries[SERVICE]
        key = next(k for k in entry.keys if k.etype == cred.ticket.enc_part.etype)
        cipher = cred.ticket.enc_part.cipher
        plain = decrypt(Key(key.etype, key.contents), KU_KDC_REP_TICKET, cipher)
        return EncTicketPart.decode(plain)


# C's users reach A through B; C's KDC hands out krbtgt/B for A (next hop), A permits B.
PATH = {C: {C: {A: (B,)}}, A: {C: {A: (B,)}}}


def test_transit_through_a_permitted_realm() -> None:
    lab = Lab(PATH)
    lab.trust(C, B)
    lab.trust(B, A)
    cred, realms = lab.chase()
    # C: krbtgt/A asked, krbtgt/B given (capaths); B: krbtgt/A; A: the service
    assert realms == [C, B, A]
    assert cred.server_principal == SERVICE and cred.client_principal == f"carol@{C}"
    part = lab.opened(cred)
    assert part.transited.tr_type == DOMAIN_X500_COMPRESS and part.transited.contents == b"B.TEST"
    assert part.flags & TKT_FLG_TRANSIT_POLICY_CHECKED
    assert lab.events[C][-1].reason.startswith(f"referral: ticket for krbtgt/{B}@{C}")


def test_transit_refused_without_capaths_at_the_server_realm() -> None:
    lab = Lab({C: PATH[C]})  # A permits nothing but direct trust
    lab.trust(C, B)
    lab.trust(B, A)
    with pytest.raises(KerberosError) as err:
        lab.chase()
    assert err.value.code == KDC_ERR_PATH_NOT_ACCEPTED
    event = lab.events[A][-1]
    assert event.result_code == KDC_ERR_PATH_NOT_ACCEPTED
    assert f"transited realm {B}" in event.reason


def test_referral_loop_ends_with_a_named_error() -> None:
    # C sends A's users to B, B sends them back to C: misconfigured capaths.
    lab = Lab({C: {C: {A: (B,)}}, B: {B: {A: (C,)}}})
    lab.trust(C, B)
    lab.trust(B, C)
    with pytest.raises(ReplyError, match=r"referral loop: realms C\.TEST -> B\.TEST -> C\.TEST"):
        lab.chase()


def test_no_trust_path_is_named() -> None:
    lab = Lab({})
    with pytest.raises(KerberosError) as err:
        lab.chase()
    assert err.value.code == 7  # KDC_ERR_S_PRINCIPAL_UNKNOWN, as MIT
    assert f"{C} has no trust with realm {A}: krbtgt/{A}@{C} is not" in lab.events[C][-1].reason


@pytest.mark.parametrize(
    ("contents", "realms"),
    [
        (b"", ()),
        (b"B.TEST", ("B.TEST",)),
        (b"EDU,MIT.,ATHENA.,WASHINGTON.EDU,CS.",  # RFC 4120 3.3.3.2's example
         ("EDU", "MIT.EDU", "ATHENA.MIT.EDU", "WASHINGTON.EDU", "CS.WASHINGTON.EDU")),
        (b"A\\,B.TEST,C.TEST", ("A,B.TEST", "C.TEST")),
    ],
)
def test_transited_decoding(contents: bytes, realms: tuple[str, ...]) -> None:
    assert decode_transited(TransitedEncoding(DOMAIN_X500_COMPRESS, contents)) == realms
    assert decode_transited(encode_transited(realms)) == realms


@pytest.mark.parametrize(
    "contents", [b",B.TEST", b"B.TEST,", b"/C=US/O=X", b"MIT.", b"x" * 5000, b"\xff"]
)
def test_transited_refusals(contents: bytes) -> None:
    with pytest.raises(TransitedError):
        decode_transited(TransitedEncoding(DOMAIN_X500_COMPRESS, contents))


def test_other_transited_encodings_are_refused() -> None:
    with pytest.raises(TransitedError, match="type 2"):
        decode_transited(TransitedEncoding(2, b"X"))


def test_host_realm_exact_then_longest_suffix() -> None:
    policy = CrossRealmPolicy(
        domain_realm={".mit.test": "MIT.TEST", ".x.mit.test": "X.TEST", "h.x.mit.test": "H.TEST"}
    )
    assert policy.host_realm("svc.mit.test") == "MIT.TEST"
    assert policy.host_realm("a.x.mit.test") == "X.TEST"
    assert policy.host_realm("H.X.MIT.TEST.") == "H.TEST"
    assert policy.host_realm("mit.test") is None  # as MIT: ".mit.test" is the domain's hosts
    assert policy.host_realm("other.test") is None


def test_a_trusting_realm_cannot_speak_for_our_own_clients() -> None:
    """B.TEST holds krbtgt/A.TEST@B.TEST, so it can mint any cross-realm TGT to A; one
    naming a client of A itself (alice@A.TEST) is refused, or B could impersonate A's users."""
    from kerbfirst.client import TgsExchange
    from kerbfirst.crypto import encrypt
    from kerbfirst.krb.names import krbtgt_name, parse_principal
    from kerbfirst.wire.constants import KDC_ERR_POLICY
    from kerbfirst.wire.krb5 import EncryptedData, EncryptionKey, Ticket

    lab = Lab({})
    lab.trust(B, A)
    entry = lab.dbs[A].entries[f"krbtgt/{A}@{B}"]
    tgs_key = next(k for k in entry.keys if k.etype == 18)
    session = Key(18, lab.rng.randbytes(32))
    alice, _ = parse_principal(f"alice@{A}")
    part = EncTicketPart(
        flags=0, key=EncryptionKey(18, session.contents), crealm=A, cname=alice,
        transited=TransitedEncoding(DOMAIN_X500_COMPRESS, b""), authtime=T0, starttime=T0,
        endtime=T0.replace(hour=20), renew_till=None, caddr=None, authorization_data=None,
    )
    cipher = encrypt(Key(18, tgs_key.contents), KU_KDC_REP_TICKET, part.encode(),
                     confounder=lab.rng.randbytes(16))
    ticket = Ticket(B, krbtgt_name(A), EncryptedData(18, tgs_key.kvno, cipher))
    forged = Credential(
        client=alice, crealm=A, server=krbtgt_name(A), srealm=B, session_key=session,
        ticket=ticket, ticket_bytes=ticket.encode(), flags=0, authtime=T0, starttime=T0,
        endtime=part.endtime, renew_till=None,
    )
    tgs = TgsExchange(forged, SERVICE, random=lab.rng.randbytes, realm=A)
    with pytest.raises(KerberosError) as err:
        tgs.receive(lab.send(A, tgs.first_request(T0)), T0)
    assert err.value.code == KDC_ERR_POLICY
    assert lab.events[A][-1].reason == (
        f"a ticket issued by realm {B} names alice@{A}, a client of this realm"
    )
