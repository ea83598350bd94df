"""The signup service: the JSON API under /api, /health, and the single-page app.

`create_app()` reads the environment (gunicorn calls it: `app.main:create_app()`).
Nothing connects to the database at start: /health says whether it is reachable.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
from flask import Flask, abort, jsonify, redirect, request, send_from_directory
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.db import connect
from app.mail import Mailer, confirmation, smtp_mailer
from app.settings import Settings

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
TOKEN_MAX_AGE = 24 * 3600


def create_app(settings: Settings | None = None, mailer: Mailer | None = None) -> Flask:
    settings = settings or Settings.from_env()
    static = Path(settings.static_dir).resolve()
    app = Flask(__name__, static_folder=None)
    send = mailer or smtp_mailer(settings.smtp_host, settings.smtp_port)
    tokens = URLSafeTimedSerializer(settings.secret_key, salt="signup-confirm")

    @app.get("/health")
    def health():
        try:
            with connect(settings.database_url) as conn:
                conn.execute("SELECT 1 FROM subscribers LIMIT 1")
        except psycopg.Error:
            return jsonify(status="unavailable", database="unreachable or not migrated"), 503
        return jsonify(status="healthy")

    @app.post("/api/subscribers")
    def subscribe():
        body = request.get_json(silent=True) or {}
        email = str(body.get("email", "")).strip().lower()
        name = str(body.get("name", "")).strip()[:100]
        if not EMAIL.match(email):
            return jsonify(error="a valid email address is required"), 400
        with connect(settings.database_url) as conn:
            row = conn.execute(
                "INSERT INTO subscribers (email, name) VALUES (%s, %s) "
                "ON CONFLICT (email) DO NOTHING RETURNING id",
                (email, name),
            ).fetchone()
        if row is None:
            return jsonify(error="already subscribed"), 409
        link = f"{request.host_url}api/confirm/{tokens.dumps(email)}"
        send(confirmation(settings.mail_from, email, name, link))
        return jsonify(email=email, confirmed=False), 201

    @app.get("/api/subscribers/<email>")
    def subscriber(email: str):
        with connect(settings.database_url) as conn:
            row = conn.execute(
                "SELECT email, name, confirmed_at FROM subscribers WHERE email = %s",
                (email.lower(),),
            ).fetchone()
        if row is None:
            abort(404)
        return jsonify(
            email=row["email"], name=row["name"], confirmed=row["confirmed_at"] is not None
        )

    @app.get("/api/confirm/<token>")
    def confirm(token: str):
        try:
            email = tokens.loads(token, max_age=TOKEN_MAX_AGE)
        except SignatureExpired:
            return jsonify(error="the link has expired"), 410
        except BadSignature:
            return jsonify(error="the link is not valid"), 400
        with connect(settings.database_url) as conn:
            conn.execute(
                "UPDATE subscribers SET confirmed_at = COALESCE(confirmed_at, now()) "
                "WHERE email = %s",
                (email,),
            )
        return redirect(f"/confirmed?email={email}", code=303)

    @app.get("/api/<path:_rest>")
    def api_not_found(_rest: str):
        return jsonify(error="not found"), 404

    # The single-page app: real files as they are, any other path its index.html, so that
    # client-side routes (/confirmed) survive a reload.
    @app.get("/", defaults={"path": ""})
    @app.get("/<path:path>")
    def spa(path: str):
        if path and (static / path).is_file():
            return send_from_directory(static, path)
        if not (static / "index.html").is_file():
            abort(404)
        return send_from_directory(static, "index.html")

    return app
