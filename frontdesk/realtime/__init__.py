"""The media process: telephony transports, audio, the turn loop, speech and LLM providers."""
