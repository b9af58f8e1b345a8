"""SyncServer: the complete Firefox Sync server in one box.

This distribution is what ``development.ini`` and ``production.ini`` point at
(``use = egg:SyncServer``). It carries no code of its own: it depends on the
four component packages and exposes the composed application.
"""
from setuptools import setup

setup(
    name="SyncServer",
    version="1.0.0",
    description="Firefox Sync server: storage, registration and accounts in one box",
    python_requires=">=3.11",
    packages=[],
    install_requires=[
        "SyncServer-core",
        "SyncServer-storage",
        "SyncServer-reg",
        "SyncServer-full",
    ],
    entry_points={
        "paste.app_factory": ["main = syncserver:main"],
    },
)
