"""The LDAP user-store tests run real slapd servers on loopback ports: the
``slapd_tools``, ``slapd`` and ``private_slapd`` fixtures come from the
``synccore.users.slapd_fixtures`` plugin, registered by the top-level
``conftest.py`` for every package's tests."""
