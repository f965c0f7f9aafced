"""Attacks on the broker, one module per threat family (RFC 9700 and the dashboard); each
test attempts the attack and asserts the precise refusal. docs/security.md maps them."""
