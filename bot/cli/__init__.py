"""The ``incidentbot`` command line and its offline demo."""
