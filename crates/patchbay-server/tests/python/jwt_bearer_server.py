"""A token endpoint for the JWT bearer grant (RFC 7523), built on Authlib's JWTBearerGrant,
and a small API guarded by the tokens it issues: the peer Patchbay's `jwt_bearer` auth type is
tested against.

It plays a provider with service accounts. At start it makes one RSA key pair per account and
prints, on its first line of output, its URL and each account's key file in the shape Google
issues them (`client_email`, `private_key`, `private_key_id`, `token_uri`, ...). Each account
may act for the users listed for it (the assertion's `sub`).

    POST /token                      the grant; tokens live --token-ttl seconds
    GET  /api/me                     {id, client, subject, scope, token}: who the token is for,
                                     and which token (1, 2, ... per account) it is
    GET  /stats                      {grants}: tokens issued per service account
    POST /accounts/<email>/disable   later assertions of that account are refused
"""

import argparse
import hashlib
import json
import secrets
import sys
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7523 import JWTBearerGrant
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

# Each service account, and the users it may act for.
ACCOUNTS = {
    "reporting@patchbay-tests.iam.example": ["ada@example.com"],
    "billing@patchbay-tests.iam.example": [],
}


class ServiceAccount(ClientMixin):
    def __init__(self, email, users):
        self.email = email
        self.users = users
        self.enabled = True
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.public_key = RSAKey.import_key(key.public_key())
        self.key_id = secrets.token_hex(20)

    def get_client_id(self):
        return self.email

    def get_allowed_scope(self, scope):
        return scope or ""

    def check_grant_type(self, grant_type):
        return grant_type == JWTBearerGrant.GRANT_TYPE

    def key_file(self, token_url):
        return {
            "type": "service_account",
            "project_id": "patchbay-tests",
            "private_key_id": self.key_id,
            "private_key": self.private_pem,
            "client_email": self.email,
            "client_id": str(int(hashlib.sha256(self.email.encode()).hexdigest()[:16], 16)),
            "token_uri": token_url,
        }


class Token(TokenMixin):
    def __init__(self, value, account, subject, scope, expires_in, number):
        self.value = value
        self.account = account
        self.subject = subject
        self.scope = scope
        self.issued_at = time.time()
        self.expires_in = expires_in
        self.number = number

    def check_client(self, client):
        return client.email == self.account.email

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self):
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--token-ttl", type=int, default=3600)
    args = parser.parse_args()

    accounts = {email: ServiceAccount(email, users) for email, users in ACCOUNTS.items()}
    tokens = {}
    grants = {email: 0 for email in accounts}

    app = Flask(__name__)
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {JWTBearerGrant.GRANT_TYPE: args.token_ttl}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    token_url = f"{base_url}/token"

    def save_token(token, request):
        account = request.client
        grants[account.email] += 1
        subject = request.user
        tokens[token["access_token"]] = Token(
            token["access_token"],
            account,
            subject,
            token.get("scope", ""),
            token["expires_in"],
            grants[account.email],
        )

    class Grant(JWTBearerGrant):
        def resolve_issuer_client(self, issuer):
            account = accounts.get(issuer)
            return account if account and account.enabled else None

        def resolve_client_public_key(self, client):
            return client.public_key

        def authenticate_user(self, subject):
            return subject if any(subject in a.users for a in accounts.values()) else None

        def has_granted_permission(self, client, user):
            return user in client.users

        def get_audiences(self):
            return [token_url]

    authorization = AuthorizationServer(app, query_client=accounts.get, save_token=save_token)
    authorization.register_grant(Grant)

    class Validator(BearerTokenValidator):
        def authenticate_token(self, token_string):
            return tokens.get(token_string)

    require_token = ResourceProtector()
    require_token.register_token_validator(Validator())

    @app.post("/token")
    def issue_token():
        return authorization.create_token_response()

    @app.get("/api/me")
    @require_token()
    def me():
        token = current_token
        return jsonify(
            id=token.subject or token.account.email,
            client=token.account.email,
            subject=token.subject,
            scope=token.scope,
            token=token.number,
        )

    @app.get("/stats")
    def stats():
        return jsonify(grants=grants)

    @app.post("/accounts/<email>/disable")
    def disable(email):
        accounts[email].enabled = False
        return jsonify(disabled=email)

    key_files = {email: account.key_file(token_url) for email, account in accounts.items()}
    print(json.dumps({"url": base_url, "keyFiles": key_files}), flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
