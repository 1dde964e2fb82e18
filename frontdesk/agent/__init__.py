"""The conversation engine: prompt, tools, the fallback brain. Knows nothing of telephony."""
