"""One self-contained module per model family."""
