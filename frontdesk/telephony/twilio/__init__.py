"""Twilio, in one place: Media Streams (the wire protocol, the transport and its socket route),
the voice and SMS webhooks with their signatures and forms, TwiML, and the REST API (the SDK's
async client) that places, lists, transfers and ends calls and sends text messages."""
