"""Sending the confirmation mail over SMTP (in the tests, to the mail catcher)."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage

Mailer = Callable[[EmailMessage], None]


def smtp_mailer(host: str, port: int, timeout: float = 10) -> Mailer:
    def send(message: EmailMessage) -> None:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.send_message(message)

    return send


def confirmation(sender: str, to: str, name: str, link: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Confirm your subscription"
    greeting = f"Hello {name}," if name else "Hello,"
    message.set_content(f"{greeting}\n\nConfirm your subscription by opening this link:\n{link}\n")
    return message
