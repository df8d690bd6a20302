"""The /_sandbox control plane: everything a test or a tester needs that EnKash does not have."""
