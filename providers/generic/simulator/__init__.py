"""A simulator of a ``generic-oauth2`` holder: an OAuth 2 authorization server with a
login-free consent page, PKCE, rotating refresh tokens and RFC 7009 revocation, REST
resources from a dataset (a Téléo-like water meter, TraceMob-like mobility traces), and a
holder-side withdrawal that calls the broker's signed revocation webhook."""
