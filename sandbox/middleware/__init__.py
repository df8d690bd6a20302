"""Pure ASGI layers: encryption envelope, fault injection, journal."""
