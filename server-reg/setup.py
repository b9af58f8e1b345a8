from setuptools import find_packages, setup

setup(
    name="SyncServer-reg",
    version="1.0.0",
    description="SyncServer registration: User API, node assignment and account services",
    python_requires=">=3.11",
    packages=find_packages(exclude=["tests", "tests.*"]),
    include_package_data=True,
    # Alembic folders are not packages: ship their scripts explicitly.
    package_data={"syncreg": [
        f"{folder}/{pattern}"
        for folder in ("*/migrations", "*/*/migrations")
        for pattern in ("*.py", "*.mako", "versions/*.py")]
        # The account pages' templates and their CSS (served under /media/).
        + ["web/templates/*.jinja2", "web/static/*"]
        # The Firefox accounts pages and their script.
        + ["fxa/templates/*.jinja2", "fxa/static/*"]},
    install_requires=[
        "SyncServer-core",
        "tokenlib>=2.0",
        "PyJWT[crypto]>=2.8",
        "Jinja2>=3.1",
        # Hawk header parsing for the accounts API's session tokens.
        "hawkauthlib>=2.0",
    ],
)
