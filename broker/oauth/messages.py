"""Strings of the oauth pages, French first."""

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {},
    "en": {},
}
