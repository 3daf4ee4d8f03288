"""Loaded by every Python process the test suite starts (PYTHONPATH): hold it to loopback too."""

import loopback_only

loopback_only.install_from_environment()
