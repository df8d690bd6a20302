"""The pure-ASGI layers in front of the routes: gateway (envelope, faults, journal capture), host and body guards, the uvicorn protocol."""
