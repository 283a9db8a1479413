#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A scripted authorization server over HTTPS for tests/unit/test_oidc: each
RFC 8628 token endpoint answer on demand. The device authorization request's
client_id names the scenario; the token endpoint then plays that scenario's
answers in order, one per poll (the last one repeats).

usage: as-server.py PORT CERT KEY READY_FILE"""
import json
import ssl
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, CERT, KEY, READY = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ISSUER = f"https://127.0.0.1:{PORT}"
PENDING = (400, {"error": "authorization_pending"})
TOKEN = (200, {"access_token": "at", "token_type": "Bearer", "id_token": "h.p.s"})
SCENARIOS = {
    "approve": [PENDING, PENDING, TOKEN],
    "slowdown": [(400, {"error": "slow_down"}), TOKEN],
    "denied": [PENDING, (400, {"error": "access_denied"})],
    "expired": [PENDING, (400, {"error": "expired_token"})],
    "other": [(400, {"error": "invalid_grant"})],
    "noid": [(200, {"access_token": "at", "token_type": "Bearer"})],
    "big": [(200, {"id_token": "x" * 200000})],
    "pending": [PENDING],
    "notjson": [(500, None)],
}
polls = {}
jwks_fetches = [0]
# RFC 7515 A.3's P-256 key, as kid "ec1"
JWKS = {"keys": [{"kty": "EC", "kid": "ec1", "crv": "P-256",
                  "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                  "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = b"<html>oops</html>" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/.well-known/openid-configuration":
            self.reply(200, {
                "issuer": ISSUER,
                "device_authorization_endpoint": ISSUER + "/device/auth",
                "token_endpoint": ISSUER + "/token",
                "jwks_uri": ISSUER + "/jwks",
            })
        elif self.path == "/jwks":
            jwks_fetches[0] += 1
            self.reply(200, JWKS)
        elif self.path == "/stats":
            self.reply(200, {"jwks": jwks_fetches[0]})
        else:
            self.reply(404, {"error": "not_found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        if self.path == "/device/auth":
            scenario = form["client_id"][0]
            self.reply(200, {
                "device_code": scenario + ":dc",
                "user_code": "BCDF-GHJK",
                "verification_uri": ISSUER + "/device",
                "verification_uri_complete": ISSUER + "/device?user_code=BCDF-GHJK",
                "expires_in": 2 if scenario == "short" else 600,
                "interval": 1,
            })
        elif self.path == "/token":
            if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:device_code"]:
                self.reply(400, {"error": "unsupported_grant_type"})
                return
            dc = form["device_code"][0]
            scenario = dc.split(":")[0]
            i = polls.get(dc, 0)
            polls[dc] = i + 1
            answers = SCENARIOS.get(scenario, [PENDING])
            status, body = answers[min(i, len(answers) - 1)]
            self.reply(status, body)
        else:
            self.reply(404, {"error": "not_found"})


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(READY, "w") as f:
    f.write("ready\n")
server.serve_forever()
