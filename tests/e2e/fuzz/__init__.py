"""Generated input against the live broker: the OpenAPI document and Schemathesis."""
