"""``outage-notify email ...``: check the email set-up."""

from __future__ import annotations

import click

from outage_notify.cli.base import AppContext, AppGroup, echo_json, pass_app
from outage_notify.errors import InputError
from outage_notify.settings import SHIPPED_LANGUAGES


@click.group(name="email", cls=AppGroup)
def email_group() -> None:
    """Email notices: check the SMTP set-up."""


@email_group.command(name="test")
@click.argument("address")
@click.option(
    "--language",
    type=click.Choice(SHIPPED_LANGUAGES),
    default=None,
    help="Language of the sample notice (default: default_language).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def email_test(app: AppContext, address: str, language: str | None, as_json: bool) -> None:
    """Send a sample notice to ADDRESS through the configured email backend.

    The sample is an "advance" notice for a made-up outage tomorrow, with the calendar
    attachment and unsubscribe headers of a real one and "[TEST]" in the subject. On failure
    it prints the server's code and whether the dispatcher would retry, and exits 1.

    Example:

        outage-notify email test you@example.org --language en
    """
    # Imported on use: the email notice pulls the templates (jinja2) and the SMTP channel.
    from email_validator import EmailNotValidError, validate_email

    from channels.base import ChannelError
    from outage_notify.db import utcnow
    from outage_notify.notices import email as email_notice

    try:
        address = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InputError(f"{address!r} is not an email address: {exc}") from None
    settings = app.settings
    language = language or settings.default_language
    backend = settings.email.backend
    try:
        result = email_notice.send_test_email(settings, address, language=language, now=utcnow())
    except ChannelError as exc:
        kind = "permanent" if exc.permanent else "transient: the dispatcher would retry"
        raise click.ClickException(
            f"the test email was not sent ({backend} backend): {exc.reason} "
            f"[code {exc.code}, {kind}]"
        ) from None
    if as_json:
        echo_json(
            {
                "backend": backend,
                "state": result.state,
                "message_id": result.provider_id,
                "detail": result.detail,
            }
        )
        return
    where = f" ({result.detail})" if result.detail else ""
    click.echo(
        f"Sent a test email through the {backend} backend{where}: {result.state}, "
        f"Message-ID {result.provider_id}."
    )
