from setuptools import find_packages, setup

setup(
    name="SyncServer-full",
    version="1.0.0",
    description="SyncServer full: composes core, storage and registration into one app",
    python_requires=">=3.11",
    packages=find_packages(exclude=["tests", "tests.*"]),
    install_requires=[
        "SyncServer-core",
        "SyncServer-storage",
        "SyncServer-reg",
        "PasteDeploy>=3.0",
        "PasteScript>=3.3",
        "waitress>=2.1",
        "gunicorn>=21",
        # paster needs pkg_resources; 81 deprecates it loudly and 82 removes it.
        "setuptools<81",
    ],
    entry_points={
        "paste.app_factory": ["main = syncserver:main"],
        "console_scripts": ["sync-admin = syncserver.admin:main"],
    },
)
