"""A clock the tests set by hand, and Beijing wall-clock readings as the service sees them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SHANGHAI = timedelta(hours=8)


def local(text: str) -> datetime:
    """A Beijing wall-clock reading as an aware UTC datetime."""
    return (datetime.fromisoformat(text) - SHANGHAI).replace(tzinfo=UTC)


def api_time(text: str) -> str:
    """A Beijing wall-clock reading as the API prints instants (UTC, 'Z')."""
    return local(text).isoformat().replace("+00:00", "Z")


class Clock:
    """Injected as the service's clock (`ctx.clock`); tests move `now`."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now
