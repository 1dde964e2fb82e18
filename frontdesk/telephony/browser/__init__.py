"""The browser as a telephone: the dashboard's "talk to your agent".

A signed-in admin's page gets a short-lived ticket for a new web call (`calls.start_browser_call`,
signed as in `tickets`), opens the media server's `/browser/stream` socket with it
(`media_route`), and talks to the clinic's agent through the same turn loop as a phone call; the
socket's wire protocol is in `media_stream`.
"""
