"""Pure-Python reference implementations used only by the tests (never by cassfast itself)."""
