"""The pure core: incident state machine, timeline, command grammar, time parsing.

Imports only the standard library and python-dateutil (a test walks the imports to keep it so).
"""
