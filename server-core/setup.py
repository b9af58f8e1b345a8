from setuptools import find_packages, setup

setup(
    name="SyncServer-core",
    version="1.0.0",
    description="SyncServer core: settings, protocol errors, auth, user backends, db helpers",
    python_requires=">=3.11",
    packages=find_packages(exclude=["tests", "tests.*"]),
    include_package_data=True,
    package_data={"synccore": ["users/migrations/*.py", "users/migrations/*.mako",
                               "users/migrations/versions/*.py"]},
    install_requires=[
        "pyramid>=2.0",
        "SQLAlchemy>=2.0",
        "alembic>=1.12",
        "argon2-cffi>=23",
        "PyMySQL>=1.1",
        "psycopg[binary]>=3.1",
        "WebTest>=3.0",
        "ldap3>=2.9",
    ],
)
