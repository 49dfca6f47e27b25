"""The dashboard's own error: bad configuration files or bad input, reported with a clear message."""


class DashboardError(ValueError):
    """Invalid dashboard data (assumptions, exercises, scenario state). The message says what and where."""


class NotFound(LookupError):
    """An exercise or submission that does not exist (HTTP 404)."""
