"""The test-call suite: YAML call scenarios, run against the engine and checked in the database."""
