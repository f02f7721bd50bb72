"""kerbfirst: Kerberos-first authentication that retires NTLM.

Layers, inner ones knowing nothing of outer ones (docs/architecture.md; the import rules
are enforced by tests/test_layout.py): wire, crypto -> krb -> kdc, client, gss, policy,
store -> audit, net -> app -> cli. Nothing under wire/, crypto/, krb/, kdc/, client/, gss/
or policy/ opens a socket, reads the clock or touches a file: time, randomness and I/O are
passed in.
"""

__version__ = "0.1.0"
