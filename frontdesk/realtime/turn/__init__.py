"""The turn loop's parts: clause streaming, end of turn, barge-in, timings."""
