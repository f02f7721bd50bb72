"""NTLM policy: modes, blocking scope, the exception register, decisions (pure; see ntlm.py)."""

from kerbfirst.policy.ntlm import (
    Decision,
    ExceptionEntry,
    Mode,
    NtlmAttempt,
    Policy,
    PolicyError,
)

__all__ = ["Decision", "ExceptionEntry", "Mode", "NtlmAttempt", "Policy", "PolicyError"]
