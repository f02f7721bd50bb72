"""Kerberos for web applications: RFC 4559 Negotiate middleware (ASGI, WSGI), clients
(httpx, requests), channel binding (RFC 5929), an MS-KKDCP KDC proxy and the gateway."""
