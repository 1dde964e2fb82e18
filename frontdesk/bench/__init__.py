"""`frontdesk bench`: concurrent simulated calls through the media path against vendor fakes that
replay a latency profile, and the figures they produce (bench/README.md)."""
