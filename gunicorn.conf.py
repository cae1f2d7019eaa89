"""Settings for every gunicorn this project starts (`make serve`, the benchmarks, the tests):
gunicorn reads ./gunicorn.conf.py by default. Command-line options override them."""

import os

# The sync worker, with refusals (URI too long, headers too large...) answered in JSON.
worker_class = "portal.serving.SyncWorker"

# gunicorn's defaults, stated because the refusal messages quote them.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190


def on_starting(server):
    """Once, in the master: say so when each worker would count rate limits on its own."""
    from portal.limiter_storage import per_process_warning

    warning = per_process_warning(server.cfg.workers, os.environ)
    if warning:
        server.log.warning(warning)
