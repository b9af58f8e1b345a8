"""``python -m syncserver.bench``: measure the server under a realistic sync load.

The benchmark starts the real server in a subprocess on a free loopback port
(``paster serve`` with one process, then ``gunicorn`` with several; SQLite,
and MariaDB/MySQL when a server URL is given), creates test accounts through
the application's own user backend, and drives keep-alive HTTP load from
separate client processes at increasing concurrency. Every response is
checked (any non-2xx answer or wrong content is an error) and at the end the
records each client wrote are read back.

Modules: ``server`` (launching a server line), ``client`` (one keep-alive
connection with timing), ``scenarios`` (what a simulated session does),
``load`` (the client processes), ``report`` (Markdown, JSON and chart),
``cli`` (options and the run itself).
"""
