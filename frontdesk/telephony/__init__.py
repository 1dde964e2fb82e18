"""Telephony: the carrier that places, ends and texts (Twilio, or the offline local carrier) and
everything that speaks a carrier's protocol, and the browser as a telephone (`browser`: the
dashboard's web calls). Nothing outside `frontdesk.telephony.twilio` imports Twilio's SDK or
parses its messages."""
