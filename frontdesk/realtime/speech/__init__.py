"""Speech providers: the interfaces the turn loop uses, and their offline twins."""
