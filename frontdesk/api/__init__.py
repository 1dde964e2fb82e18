"""The API process: Twilio's voice and SMS webhooks (TwiML), the admin REST API and its keys."""
