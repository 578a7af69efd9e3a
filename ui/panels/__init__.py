"""One module per main-window panel."""
