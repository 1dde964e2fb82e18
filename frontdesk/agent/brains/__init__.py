"""The brains behind the receptionist: Claude, and the deterministic fallback."""
