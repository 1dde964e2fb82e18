"""Telephone audio: G.711 mu-law codec, streaming resampling and voice activity detection."""
