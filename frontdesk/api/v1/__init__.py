"""The admin REST API under /v1: clinic configuration, staff, patients, calls, campaigns, metrics."""
