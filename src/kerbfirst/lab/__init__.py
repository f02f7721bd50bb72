"""`kerbfirst lab`: the NTLM migration rehearsed end to end on one machine.

Assembly and I/O, like `app`: network namespaces with addresses of their own and no route
off the machine (`netns`), the realms and servers of each role (`realms`, `services`), the
client roles run inside their namespaces (`roles`), the scenario's phases and checks
(`scenario`), and the lab report (`report`). It runs the product's own commands
(`kerbfirst realm init`, `kdc serve`, `http gateway`, `policy`, `audit ingest` ...) as
subprocesses, as a user would, and MIT's krb5kdc, kinit and curl as the real peers.
"""
