"""Issue an API token for a service account. Prints the secret once, on stdout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ops.edge.access import ALL_SCOPES
from ops.fleet import selectors
from ops.fleet.exceptions import FleetError
from ops.fleet.services import token_issue


class Command(BaseCommand):
    help = "Create an API token; the secret is printed once and stored only as a hash."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--account", required=True, help="service account name (created if new)"
        )
        parser.add_argument("--name", required=True, help="token name, unique per account")
        parser.add_argument(
            "--scope",
            action="append",
            required=True,
            choices=sorted(ALL_SCOPES),
            help="repeat for several scopes",
        )
        parser.add_argument(
            "--spacecraft",
            action="append",
            default=[],
            help="restrict to a spacecraft slug (repeatable)",
        )
        parser.add_argument("--expires-in-days", type=float, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        crafts, unknown = selectors.spacecraft_by_slugs(slugs=options["spacecraft"])
        if unknown:
            raise CommandError(f"unknown spacecraft: {', '.join(unknown)}")
        expires = None
        if options["expires_in_days"] is not None:
            if options["expires_in_days"] <= 0:
                raise CommandError("--expires-in-days must be positive")
            expires = timezone.now() + timedelta(days=options["expires_in_days"])
        try:
            issued = token_issue(
                account_name=options["account"],
                name=options["name"],
                scopes=options["scope"],
                spacecraft=crafts,
                expires_at=expires,
                created_by="create_token",
            )
        except FleetError as exc:
            detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.detail
            raise CommandError(detail) from None
        self.stderr.write(
            f"token {issued.token.name} for {issued.token.account.name}, "
            f"scopes {', '.join(issued.token.scopes)}"
            + (f", expires {expires:%Y-%m-%d %H:%M}Z" if expires else "")
            + ". It is shown once:"
        )
        self.stdout.write(issued.secret)
