"""The web view and its JSON API: server-rendered pages (Jinja, autoescaped) and ``/api/v1/`` on the bot's own
aiohttp application, off unless ``INCIDENT_WEB_URL`` is set (README, "Web view").

An adapter like ``bot.slack``: it reads through the use cases and the views given by ``bot.app``, never the
store, and changes nothing.
"""
