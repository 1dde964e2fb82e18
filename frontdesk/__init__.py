"""Frontdesk: an AI phone receptionist for healthcare and dental clinics."""

__version__ = "0.1.0"
