"""NTLM policy: modes, blocking scope, the exception register, decisions (pure; see ntlm.py)."""

from kerbfirst.policy.ntlm import (
    Decision,
    ExceptionEntry,
    Flow,
    Mode,
    Policy,
    PolicyError,
)

__all__ = ["Decision", "ExceptionEntry", "Flow", "Mode", "Policy", "PolicyError"]
