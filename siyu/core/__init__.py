"""The kernel: hook specs, plugin manager, Workspace and engines. It knows no feature."""
