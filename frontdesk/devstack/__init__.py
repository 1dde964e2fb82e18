"""`frontdesk dev`: the whole stack on one machine, and the process entry points of the split."""
