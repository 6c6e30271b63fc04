"""The consent API: a Flask service that stores signed consent receipts."""
