"""The pure-ASGI layers in front of the routes: the gateway (envelope, faults, journal capture), the host and
body guards, and the uvicorn protocol."""
