from setuptools import find_packages, setup

setup(
    name="SyncServer-storage",
    version="1.0.0",
    description="SyncServer storage: the Sync Storage APIs and their storage engines",
    python_requires=">=3.11",
    packages=find_packages(exclude=["tests", "tests.*"]),
    include_package_data=True,
    package_data={"syncstorage": ["storage/migrations/*.py", "storage/migrations/*.mako",
                                  "storage/migrations/versions/*.py"]},
    install_requires=["SyncServer-core", "hawkauthlib>=2.0", "tokenlib>=2.0"],
)
