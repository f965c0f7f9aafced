"""Enedis answers → HolderError / HolderUnavailable: the shared mapping, Enedis's names."""

from providers.holder_http import raise_for_error_status, read_json_object, retry_after_seconds

__all__ = ["raise_for_error_status", "read_json_object", "retry_after_seconds"]
