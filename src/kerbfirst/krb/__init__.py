"""The Kerberos vocabulary every side shares (below kdc, gss, client and store): principal
names in MIT's text form, AP-REQ verification (`rd_req`), the message transcript, the
key-usage choices of RFC 4120 7.5.1, the principal-database interface the KDC calls and
the store implements, and the byte-bounded cache both use. Pure: no I/O, no clock (time
is passed in)."""
