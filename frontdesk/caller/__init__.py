"""`frontdesk call`: a local caller that reaches a running stack as Twilio would (signed voice
webhook, then the Media Streams socket) and speaks a script with the offline TTS."""
