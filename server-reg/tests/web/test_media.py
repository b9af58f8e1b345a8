"""US-MEDIA: the pages' static files under /media/."""
from __future__ import annotations


def test_stylesheet_is_served_as_css(reg_app):
    response = reg_app.get("/media/site.css")
    assert response.content_type == "text/css"
    assert b".card" in response.body
    assert "max-age=3600" in response.headers["Cache-Control"]


def test_unknown_files_and_traversal_are_404(reg_app):
    for path in ("/media/nothing.css", "/media/../__init__.py", "/media/%2e%2e/__init__.py",
                 "/media/..%2f__init__.py", "/media/%2e%2e%2fweb%2f__init__.py", "/media/"):
        reg_app.get(path, status=404)
