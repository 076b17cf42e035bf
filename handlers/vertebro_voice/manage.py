"""Vertebro Voice operator commands: ``python -m handlers.vertebro_voice.manage <command>``.

- ``hash-password [--password P]`` prints an argon2id hash for ``VERTEBRO_BASIC_USERS``
  (prompts when ``--password`` is absent).
- ``add-user USER [--password P]`` stores a Basic user (hashed) in the database.
- ``grant USER PROJECT`` / ``revoke USER PROJECT`` make a Basic user a member of a project, or
  end that membership (members use the project's data; sessions stay their creator's).
- ``grant-admin USER`` / ``revoke-admin USER``: an admin sees every project and session.
- ``members PROJECT`` lists a project's members.
- ``add-intent PROJECT INTENT "example utterance" [--action JSON]`` adds an example of an intent
  (a built-in one or the project's own) to a project; ``--action`` is the suggested action
  returned when it wins, e.g. ``'{"type": "navigate", "url": "/demo"}'``.
- ``add-section PROJECT KEY URL --title T [--keywords a,b] [--description D]`` adds or replaces
  a site section (a ``navigate`` target; keywords are lower-case word stems).
- ``add-knowledge PROJECT TITLE "text" [--url URL]`` adds a knowledge snippet the dialog engine
  answers from (a fact, or ``Q: … A: …``).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json

from core.clock import utcnow
from handlers.cli import api_bundle
from handlers.vertebro_voice.bundle import API, VertebroVoice, build
from handlers.vertebro_voice.security import hash_password


def _password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return args.password
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("passwords differ")
    return first


def main(argv: list[str] | None = None) -> int:
    """Run one command (see the module docstring); returns the exit status 0. ``argparse`` exits 2
    on bad arguments; a password prompt whose two entries differ exits with a message."""
    parser = argparse.ArgumentParser(prog="python -m handlers.vertebro_voice.manage",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("hash-password", help="print an argon2id hash")
    p.add_argument("--password")
    p = sub.add_parser("add-user", help="store a Basic user")
    p.add_argument("user")
    p.add_argument("--password")
    for name, text in (("grant", "make USER a member of PROJECT"), ("revoke", "end USER's membership of PROJECT")):
        p = sub.add_parser(name, help=text)
        p.add_argument("user")
        p.add_argument("project")
    for name, text in (("grant-admin", "make USER an admin (sees everything)"),
                       ("revoke-admin", "remove USER's stored admin role")):
        p = sub.add_parser(name, help=text)
        p.add_argument("user")
    p = sub.add_parser("members", help="list the members of a project")
    p.add_argument("project")
    p = sub.add_parser("add-intent", help="add an intent example to a project")
    p.add_argument("project")
    p.add_argument("intent")
    p.add_argument("text")
    p.add_argument("--action", help="JSON object: the suggested action")
    p = sub.add_parser("add-section", help="add or replace a site section of a project")
    p.add_argument("project")
    p.add_argument("key")
    p.add_argument("url")
    p.add_argument("--title", required=True)
    p.add_argument("--keywords", default="")
    p.add_argument("--description", default="")
    p = sub.add_parser("add-knowledge", help="add a knowledge snippet to a project")
    p.add_argument("project")
    p.add_argument("title")
    p.add_argument("text")
    p.add_argument("--url", default="")
    args = parser.parse_args(argv)
    if args.command == "hash-password":
        print(hash_password(_password(args)))
        return 0
    with api_bundle(API, build) as vertebro:
        _run(parser, args, vertebro)
    return 0


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, vertebro: VertebroVoice) -> None:
    now = utcnow()
    if args.command == "add-user":
        asyncio.run(vertebro.users.put(args.user, hash_password(_password(args)), now))
        print(f"user {args.user}: stored")
    elif args.command == "grant":
        added = asyncio.run(vertebro.access.grant(args.project, args.user, now))
        print(f"project {args.project}: {args.user} {'is now a member' if added else 'was already a member'}")
    elif args.command == "revoke":
        removed = asyncio.run(vertebro.access.revoke(args.project, args.user))
        print(f"project {args.project}: {args.user} {'is no longer a member' if removed else 'was not a member'}")
    elif args.command == "grant-admin":
        added = asyncio.run(vertebro.access.grant_admin(args.user, now))
        print(f"user {args.user}: {'is now an admin' if added else 'was already an admin'}")
    elif args.command == "revoke-admin":
        removed = asyncio.run(vertebro.access.revoke_admin(args.user))
        print(f"user {args.user}: {'is no longer a stored admin' if removed else 'had no stored admin role'}")
    elif args.command == "members":
        for member in asyncio.run(vertebro.access.members(args.project)):
            print(member)
    elif args.command == "add-intent":
        action = json.loads(args.action) if args.action else None
        if action is not None and not isinstance(action, dict):
            parser.error("--action must be a JSON object")
        example = asyncio.run(vertebro.intents.add_example(args.project, args.intent, args.text, action, now))
        print(f"project {args.project}: example {example.id} of intent {args.intent} stored")
    elif args.command == "add-section":
        keywords = [k.strip().lower() for k in args.keywords.split(",") if k.strip()]
        asyncio.run(vertebro.intents.put_section(args.project, args.key, args.url, args.title, keywords,
                                               args.description, now))
        print(f"project {args.project}: section {args.key} → {args.url} stored")
    else:
        snippet = asyncio.run(vertebro.intents.add_knowledge(args.project, args.title, args.url, args.text, now))
        print(f"project {args.project}: knowledge snippet {snippet.id} stored")


if __name__ == "__main__":
    raise SystemExit(main())
