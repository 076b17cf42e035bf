"""SiteLLM Vertebro Voice storage: sessions, history, audio cache, intents, samples, training jobs,
files and the background workers."""
