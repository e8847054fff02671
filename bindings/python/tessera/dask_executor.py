"""Runs models on a Dask ``distributed`` cluster: a run executor for :class:`tessera.Runner`.

``tessera.Runner(matcher, executor=DaskExecutor(client))`` submits each run as a task that starts
the model's command (no shell) on a worker with the run's environment only (the runner's
allow-list, the model's own variables and the callback variables: none of the worker's), in its
own session, captures its output and kills it at the model's timeout. The runner polls the task's
future. The item reaches the model as its href, or as the path of its JSON file in the runner's
run folder: give such models a folder the workers share (``Runner(work_dir=...)``), or hrefs.

Cancelling a run cancels its future; Dask cannot stop a task that has started, so a model already
running on a worker runs until it ends or times out (its outcome is then ignored: the run stays
cancelled).
"""

import subprocess
import time
import uuid

__all__ = ["DaskExecutor"]

# What a run keeps of a model's output, as the local executor does.
LOG_LIMIT = 1 << 20


def run_model(command, environment, timeout, work_dir):
    """The task: the model's command as a child process of the worker; its outcome as a status dict."""
    started = time.monotonic()
    try:
        process = subprocess.Popen(command, env=environment, cwd=work_dir or None, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as error:
        return {"state": "failed", "error": f"cannot start '{command[0]}': {error}"}
    try:
        output, _ = process.communicate(timeout=timeout)
        state = "succeeded" if process.returncode == 0 else "failed"
        exit_code = process.returncode if process.returncode >= 0 else 128 - process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        state, exit_code = "timed_out", -1
    return {"state": state, "exit_code": exit_code, "log": output[:LOG_LIMIT].decode(errors="replace"),
            "seconds": time.monotonic() - started}


class DaskExecutor:
    """Submit runs to a ``distributed.Client``; report them from their futures."""

    def __init__(self, client):
        self.client = client
        self.futures = {}

    def submit(self, request):
        environment = dict(variable.split("=", 1) for variable in request["environment"])
        key = f"tessera-{request['run']}-{uuid.uuid4().hex[:8]}"
        future = self.client.submit(run_model, request["command"], environment, request["timeout"],
                                    request["work_dir"], key=key, pure=False)
        self.futures[key] = future
        return key

    def status(self, job):
        future = self.futures.get(job)
        if future is None:
            return {"state": "failed", "error": f"job '{job}' is not one of this executor's futures"}
        if future.status == "pending":
            return {"state": "running"}
        del self.futures[job]
        if future.status == "finished":
            return future.result()
        if future.status == "cancelled":
            return {"state": "cancelled"}
        return {"state": "failed", "error": f"the task failed: {future.exception()!r}"}

    def cancel(self, job):
        future = self.futures.pop(job, None)
        if future is not None:
            future.cancel()
