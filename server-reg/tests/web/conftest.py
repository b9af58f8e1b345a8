"""Fixtures of the account-page tests: a real captcha verification service."""
from __future__ import annotations

import pytest

from syncreg.testing import CaptchaSiteVerify


@pytest.fixture
def site_verify():
    with CaptchaSiteVerify() as service:
        yield service
