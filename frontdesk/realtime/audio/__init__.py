"""Telephone audio: G.711 mu-law codec, streaming resampling, and voice activity: one analysis per
caller frame (energy gate, Silero) and speech segmentation over it."""
