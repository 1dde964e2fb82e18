"""SQLModel tables, availability and booking rules, tenancy, settings."""
