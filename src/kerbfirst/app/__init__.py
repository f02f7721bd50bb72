"""Application assembly: the objects the `kerbfirst` commands run, built from a realm
directory (a KDC with its store, policy, audit log and randomness). The CLI and bench/ call
these; the CLI only parses options and prints (docs/architecture.md)."""
