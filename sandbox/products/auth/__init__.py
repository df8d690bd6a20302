"""The token endpoint, token resolution, lockout, and the caller's identity (Principal)."""
