"""Memory budget shared by the compatibility check and the GGUF estimate."""

# The fraction of available RAM one model may claim; the rest is for the app and the OS.
RAM_HEADROOM = 0.6
