"""Fixtures of the account-page tests: a real captcha verification service."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

CAPTCHA_SECRET_KEY = "server-side-key"
CAPTCHA_GOOD_TOKEN = "solved-token"


class SiteVerify:
    """A reCAPTCHA-style siteverify endpoint on a loopback port: only the good
    token under the right secret succeeds."""

    good_token = CAPTCHA_GOOD_TOKEN

    def __init__(self):
        self.requests: list[dict[str, str]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                service.requests.append(form)
                success = (form.get("secret") == CAPTCHA_SECRET_KEY
                           and form.get("response") == CAPTCHA_GOOD_TOKEN)
                body = json.dumps({"success": success}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/siteverify"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    def settings(self) -> dict[str, str]:
        return {"captcha.use": "true", "captcha.site_key": "public-site-key",
                "captcha.secret_key": CAPTCHA_SECRET_KEY, "captcha.verify_url": self.url}

    def __enter__(self) -> SiteVerify:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def site_verify():
    with SiteVerify() as service:
        yield service
