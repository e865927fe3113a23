"""Tables, the engine factory and migrations."""
