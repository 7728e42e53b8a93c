"""Unsent email drafts (--eml): the booklet attached, a short plain-language message.

The draft is an .eml file marked `X-Unsent: 1`, so a mail program opens it as a new message
to check and send. It holds no password (with --encrypt the message says the password comes
separately) and no patient name; `To:` is the profile's optional `email`. There is no Date
or Message-ID, and the MIME boundary comes from the attachment, so the same booklet gives
the same draft.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

SUBJECT = "Your treatment plan booklet"
BODY = """Hello,

Your booklet about your treatment plan is attached, as a PDF file. You can read it on a
screen, have it read aloud by a screen reader, or print it.
{password}
If something in it is not clear, please ask your care team. Bring the booklet to your
next visit if you like: it has pages for your questions and notes.
{sign}"""
PASSWORD = """
The file is locked with a password. We will give you the password another way, such as
by phone or in person. It is not in this email.
"""


def draft_path(pdf: Path) -> Path:
    """Where the draft goes: beside the PDF, same name, .eml."""
    return Path(pdf).with_suffix(".eml")


def email_draft(pdf: bytes, filename: str, to: str | None = None, encrypted: bool = False,
                clinic: str = "") -> bytes:
    """The draft as bytes (CRLF line ends, as .eml files have)."""
    msg = EmailMessage(policy=SMTP)
    msg["X-Unsent"] = "1"
    if to:
        msg["To"] = to
    msg["Subject"] = SUBJECT
    sign = f"\nYour care team{' at ' + clinic if clinic else ''}\n"
    msg.set_content(BODY.format(password=PASSWORD if encrypted else "", sign=sign))
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    msg.set_boundary("booklet-" + hashlib.sha256(pdf).hexdigest()[:32])
    return msg.as_bytes()
