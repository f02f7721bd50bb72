"""The logon event for the end of one acceptor conversation of a GSS carrier (the
sample-protocol server, net/iakerb_server.py): a Kerberos logon (krb5, IAKerb, bare or in
SPNEGO) as Security 4624/4625, NTLM refused by SPNEGO's selection as NTLM/Operational 4002.
The governed NTLM acceptor writes its own events (gss/ntlm_events.py), so a conversation
it ran yields none here. Documents are built by gss/logon_events.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from kerbfirst.gss.errors import BadBindings, GssError
from kerbfirst.gss.iakerb_acceptor import IakerbAcceptor
from kerbfirst.gss.logon_events import (
    PACKAGE_KERBEROS,
    STATUS_BAD_BINDINGS,
    STATUS_LOGON_FAILURE,
    STATUS_SUCCESS,
    STATUS_TIME_DIFFERENCE,
    Logon,
    logon_event,
    ntlm_blocked_event,
    split_principal,
)
from kerbfirst.gss.mechanism import MechContext
from kerbfirst.gss.ntlm_mech import NtlmMechContext
from kerbfirst.gss.per_message import SecurityContext
from kerbfirst.gss.spnego_acceptor import SpnegoAcceptor
from kerbfirst.gss.spnego_select import NtlmRefused
from kerbfirst.wire.constants import KRB_AP_ERR_SKEW
from kerbfirst.wire.gss_framing import OID_SPNEGO


def _inner(acceptor: MechContext) -> object:
    """The mechanism that ran: through IakerbServiceAcceptor's `inner` and SPNEGO's `mech`."""
    mech: object = getattr(acceptor, "inner", acceptor)
    return mech.mech if isinstance(mech, SpnegoAcceptor) else mech


def _failure_status(error: GssError) -> tuple[str, str]:
    """(Status, SubStatus) of a refused Kerberos logon, as Windows' 4625 reports them."""
    if isinstance(error, BadBindings):
        return STATUS_LOGON_FAILURE, STATUS_BAD_BINDINGS
    if error.krb_error == KRB_AP_ERR_SKEW:
        return STATUS_LOGON_FAILURE, STATUS_TIME_DIFFERENCE
    return STATUS_LOGON_FAILURE, STATUS_LOGON_FAILURE


def conversation_event(acceptor: MechContext, error: GssError | None, *, now: datetime,
                       peer: str, host: str, acceptor_name: str, pid: int = 0,
                       ) -> dict[str, object] | None:
    """The event for a conversation that ended established (`error` None) or refused;
    None when the governed NTLM acceptor ran it (it logged the attempt itself)."""
    mech = _inner(acceptor)
    if isinstance(mech, NtlmMechContext):
        return None
    if isinstance(error, NtlmRefused):
        return ntlm_blocked_event(time=now, acceptor=acceptor_name, host=host,
                                  client_address=peer, pid=pid,
                                  spnego=getattr(acceptor, "mech_oid", "") == OID_SPNEGO,
                                  extra={"Reason": str(error)[:200]})
    context = acceptor.context
    client = context.client if isinstance(context, SecurityContext) else None
    service = context.service if isinstance(context, SecurityContext) else ""
    if client is None and isinstance(mech, IakerbAcceptor):
        client = mech.client  # from the tunnelled AS/TGS-REQ: who tried
    user, domain = split_principal(client or "")
    extra: Mapping[str, str] = {
        # IAKerb when KDC messages went through the acceptor; a plain AP-REQ is krb5
        "KerbfirstMechanism": "iakerb" if isinstance(mech, IakerbAcceptor) and mech.hops
        else "kerberos"}
    status, sub = (STATUS_SUCCESS, STATUS_SUCCESS) if error is None else _failure_status(error)
    if error is not None:
        extra = {**extra, "Reason": str(error)[:200]}
        if error.krb_error:
            extra = {**extra, "KerberosError": hex(error.krb_error)}
    return logon_event(Logon(
        time=now, package=PACKAGE_KERBEROS, acceptor=acceptor_name, host=host,
        client_address=peer, user=user, domain=domain, service=service or "",
        status=status, sub_status=sub, failure=str(error) if error is not None else "",
        process=acceptor_name, pid=pid, extra=extra))


__all__ = ["conversation_event"]
