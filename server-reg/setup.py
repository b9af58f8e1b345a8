from setuptools import find_packages, setup

setup(
    name="SyncServer-reg",
    version="1.0.0",
    description="SyncServer registration: User API, node assignment and account services",
    python_requires=">=3.11",
    packages=find_packages(exclude=["tests", "tests.*"]),
    include_package_data=True,
    install_requires=["SyncServer-core"],
)
