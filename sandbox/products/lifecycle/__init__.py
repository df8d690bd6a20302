"""Card lifecycle: OTP inbox, PIN, block/unlock, replacement, usage controls, VKYC."""
