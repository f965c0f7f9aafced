"""Strings of the dashboard pages, French first."""

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {},
    "en": {},
}
