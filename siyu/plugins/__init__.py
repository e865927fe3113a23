"""Built-in features, each written as a plugin exactly like a third-party one."""
