"""Language understanding for the deterministic brain: numbers, dates and times, intents."""
