"""The clinic's web dashboard (served by the API process under /app/)."""
