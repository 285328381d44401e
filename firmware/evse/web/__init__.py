# The local management website (manual 4.1, 3.15): a small HTTP/1.1 server
# hosted by the station itself, to read its status and change its working
# configuration, local authorization list and availability without a Central
# System. Synchronous core (http: parsing/framing, markup: escaping, auth:
# login/lockout/sessions, pages/cfgview: HTML, app: routing) and one thin
# asyncio shell (server). docs/local-management.md describes it.
