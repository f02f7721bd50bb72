"""Which key usage (RFC 4120 7.5.1) a message part is sealed with, where the choice depends
on the exchange; both the KDC and the client take it from here so that they agree."""

from __future__ import annotations

from kerbfirst.wire.constants import (
    KU_AP_REQ_AUTH,
    KU_TGS_REP_ENC_PART_SESSKEY,
    KU_TGS_REP_ENC_PART_SUBKEY,
    KU_TGS_REQ_AUTH,
)


def tgs_rep_usage(*, subkey: bool) -> int:
    """RFC 4120 5.4.2: the TGS-REP enc-part is sealed with the authenticator's subkey
    (usage 9) when the TGS-REQ carried one, else with the TGT session key (usage 8)."""
    return KU_TGS_REP_ENC_PART_SUBKEY if subkey else KU_TGS_REP_ENC_PART_SESSKEY


def authenticator_usage(*, in_tgs_req: bool) -> int:
    """RFC 4120 7.5.1: an authenticator inside a TGS-REQ's PA-TGS-REQ is sealed with usage
    7, in an application AP-REQ with usage 11."""
    return KU_TGS_REQ_AUTH if in_tgs_req else KU_AP_REQ_AUTH
