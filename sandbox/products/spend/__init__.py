"""Card spending: simulated purchases with holds, velocity limits and declines (control plane)."""
