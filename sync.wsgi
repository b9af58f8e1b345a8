"""WSGI entry point for Apache mod_wsgi (or any WSGI server).

Loads production.ini next to this file, or the ini named by the SYNC_INI
environment variable. ``SetEnv`` does not reach this script under mod_wsgi:
put SYNC_INI (and the SYNC_DATABASE_URL / SYNC_PUBLIC_URL that production.ini
reads) in Apache's own environment, e.g. /etc/apache2/envvars on Debian, or
edit the default below. README.md has a complete VirtualHost.
"""
import configparser
import logging.config
import os
import site
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Use the checkout's own environment (made by `make build`) when this
# interpreter does not already run in it, as when mod_wsgi embeds the system
# Python without ``python-home``. Its packages go ahead of the system's so
# their versions win over anything the distribution installed.
_site_packages = os.path.join(HERE, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}",
                              "site-packages")
if os.path.isdir(_site_packages) and os.path.realpath(sys.prefix) != os.path.realpath(HERE):
    _system_path = list(sys.path)
    site.addsitedir(_site_packages)
    sys.path[:] = [entry for entry in sys.path if entry not in _system_path] + _system_path

from paste.deploy import loadapp

ini_file = os.path.abspath(os.environ.get("SYNC_INI", os.path.join(HERE, "production.ini")))
_sections = configparser.RawConfigParser()
_sections.read(ini_file)
if _sections.has_section("loggers"):  # an ini may leave logging to the server
    logging.config.fileConfig(ini_file, disable_existing_loggers=False)
application = loadapp("config:" + ini_file)
