"""The README's FastAPI example and a Flask app behind the WSGI middleware, each with
curl --negotiate (MIT GSSAPI) and a ticket from our LocalKDC."""

from __future__ import annotations

import json
import re

import pytest
from fastapi import FastAPI, Request
from flask import Flask
from flask import request as flask_request

from kerbfirst.web.asgi import NegotiateMiddleware
from kerbfirst.web.negotiate import NegotiateServer
from kerbfirst.web.wsgi import NegotiateWSGIMiddleware
from peerlib import run_peer
from web.conftest import REALM, WebRealm
from web.webenv import uvicorn_server, wsgiref_server

pytestmark = pytest.mark.peer


def _curl(realm: WebRealm, url: str) -> tuple[str, str]:
    got = run_peer(["curl", "-sS", "-v", "--negotiate", "-u", ":", url], env=realm.env())
    return got.stdout, got.stderr


def test_readme_fastapi_example(web_realm: WebRealm) -> None:
    app = FastAPI()
    app.add_middleware(NegotiateMiddleware,
                       server=NegotiateServer.from_keytab(web_realm.keytab))

    @app.get("/")
    def whoami(request: Request) -> dict[str, str]:
        return {"user": request.user.local_name, "principal": request.user.principal}

    with uvicorn_server(app) as port:
        body, log = _curl(web_realm, f"http://localhost:{port}/")
    assert json.loads(body) == {"user": "alice", "principal": f"alice@{REALM}"}, log


def test_flask_behind_wsgi_middleware(web_realm: WebRealm) -> None:
    app = Flask(__name__)

    @app.get("/")
    def whoami() -> dict[str, str]:
        return {"user": flask_request.environ["REMOTE_USER"],
                "principal": flask_request.environ["KERBFIRST_PRINCIPAL"]}

    app.wsgi_app = NegotiateWSGIMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, NegotiateServer.from_keytab(web_realm.keytab))
    with wsgiref_server(app) as port:
        body, log = _curl(web_realm, f"http://localhost:{port}/")
    assert json.loads(body) == {"user": "alice", "principal": f"alice@{REALM}"}, log
    assert re.search(r"^< www-authenticate: Negotiate \S+", log, re.M | re.I)
