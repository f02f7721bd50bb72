"""kerbfirst: Kerberos-first authentication that retires NTLM.

Layers (inner ones know nothing of outer ones), see DESIGN.md:
wire, crypto -> kdc, gss, policy -> audit, store -> net, cli.
Nothing under wire/, crypto/, kdc/, gss/, policy/ opens a socket, reads the
clock or touches a file: time, randomness and I/O are passed in.
"""

__version__ = "0.1.0"
