"""asyncio adapters around the sans-I/O core.

KDC server: kdc_server (KdcServer, serve_kdc, run_kdc_server) with kdc_server_config
(KdcRequestHandler, KdcServerConfig), kdc_listeners, kdc_sockets (binding), kdc_workers
(pre-fork supervision), kdc_handler_thread and kdc_framing (RFC 4120 7.2.2 length prefix).
GSS: gss_stream (MIT's sample-program protocol), iakerb_server and iakerb_proxy.
KDC client: kdc_transport (send_to_kdc, send_to_kdc_sync, KdcUnreachable) and
kdc_address (KdcAddress, parse_kdc_address).
"""
