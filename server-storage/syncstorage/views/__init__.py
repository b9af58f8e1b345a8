"""Views of the Sync Storage APIs."""
