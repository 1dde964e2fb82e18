"""Telephony: Twilio Media Streams (the wire protocol, the transport and its socket route), webhook
signatures and the Twilio REST calls that transfer and end a live call."""
