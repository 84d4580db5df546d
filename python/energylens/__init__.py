"""energylens: energy models and measurement for LLM serving configurations."""
