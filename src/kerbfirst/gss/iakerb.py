"""IAKerb (draft-ietf-kitten-iakerb-03; mechanism OID 1.3.6.1.5.2.5): the initiator, the
proxying acceptor and their audit event. See iakerb_initiator.py, iakerb_acceptor.py,
iakerb_finished.py and kerbfirst.wire.iakerb for the wire format of both variants."""

from kerbfirst.gss.iakerb_acceptor import MAX_HOPS, MAX_KDC_MESSAGE, IakerbAcceptor
from kerbfirst.gss.iakerb_audit import IakerbAuditEvent, IakerbOutcome
from kerbfirst.gss.iakerb_finished import FinishedMismatch, FinishedMissing
from kerbfirst.gss.iakerb_initiator import IakerbInitiator
from kerbfirst.gss.mechanism import ForwardToKdc, KdcFailure
from kerbfirst.krb.transcript import Transcript
from kerbfirst.wire.iakerb import IakerbVariant

__all__ = [
    "MAX_HOPS",
    "MAX_KDC_MESSAGE",
    "FinishedMismatch",
    "FinishedMissing",
    "ForwardToKdc",
    "IakerbAcceptor",
    "IakerbAuditEvent",
    "IakerbInitiator",
    "IakerbOutcome",
    "IakerbVariant",
    "KdcFailure",
    "Transcript",
]
