"""The dashboard's own error: bad configuration files or bad input, reported with a clear message."""


class DashboardError(ValueError):
    """Invalid dashboard data (assumptions, exercises, scenario state). The message says what and where."""


class NotFound(LookupError):
    """An exercise or submission that does not exist (HTTP 404)."""


class Denied(Exception):
    """A request refused for who sent it or how much (HTTP 401, 403, 409, 429), with a clear message."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
