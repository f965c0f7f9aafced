"""``python -m bench``: what a transfer costs through the broker, against going direct.

Every server runs as a real process on loopback; the load comes from an aiohttp client in
this process. One module per figure (``proxy``, ``oauth``, ``revocation``, ``streaming``,
``scale``), the plumbing they share (``processes``, ``stack``, ``flow``, ``load``), and
``report`` for the table and ``bench/results.json``. docs/performance.md gives the method.

Nothing under ``broker/`` imports this package except ``aiguillage bench``, lazily.
"""
