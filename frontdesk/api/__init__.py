"""FastAPI app: Twilio voice webhooks (TwiML), admin REST API, auth, dashboard pages."""
