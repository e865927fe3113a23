"""Panel consoles, assembled from the pages plugins register."""
