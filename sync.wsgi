"""WSGI entry point for Apache mod_wsgi (or any WSGI server).

Loads production.ini next to this file, or the ini named by the SYNC_INI
environment variable (``SetEnv`` does not reach this script under mod_wsgi;
use ``WSGIDaemonProcess ... python-home`` and a ``SYNC_INI`` in the process
environment, or edit the default below).
"""
import logging.config
import os
import site
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Use the checkout's own environment (made by `make build`) when present.
_site_packages = os.path.join(HERE, "lib", "python%d.%d" % sys.version_info[:2],
                              "site-packages")
if os.path.isdir(_site_packages):
    site.addsitedir(_site_packages)

from paste.deploy import loadapp  # noqa: E402

ini_file = os.path.abspath(os.environ.get("SYNC_INI", os.path.join(HERE, "production.ini")))
logging.config.fileConfig(ini_file, disable_existing_loggers=False)
application = loadapp("config:" + ini_file)
