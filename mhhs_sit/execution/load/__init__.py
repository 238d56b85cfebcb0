"""Non-functional load through Locust: thresholds tied to NFR ids, the Locust job, its locustfile.

Locust patches the socket module through gevent when imported, so it only ever runs in processes
of its own (``locust_job`` starts them); nothing here imports it but ``locustfile``, which only
Locust loads. ``distribution`` says where a step's Locust runs: alone, with workers on this machine,
or over hosts (a master awaiting remote workers, or workers attached to a remote master).
"""
