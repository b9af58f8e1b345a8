"""The User API 1.0 views, one module per resource; routes in ``syncreg.views``."""
