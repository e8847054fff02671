#!/usr/bin/env python3
"""A batch scheduler in miniature, for the command template executor's tests.

    fake_scheduler.py STATE_DIR submit COMMAND...   prints a job id; the command runs detached
    fake_scheduler.py STATE_DIR status JOB          prints {"state", "exit_code"?, "log"}: the output
                                                    since the previous status call
    fake_scheduler.py STATE_DIR cancel JOB          kills the job's process group

Jobs are folders under STATE_DIR: the command's output, its exit status when it ended, and how far
the output has been reported. The first status call of a job answers "submitted" (queued), as a
real scheduler's would before the job starts.
"""

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path


def submit(state, command):
    job = "job-" + uuid.uuid4().hex[:12]
    folder = state / job
    folder.mkdir(parents=True)
    with open(folder / "output", "wb") as output:
        # The exit status is written by a wrapper shell once the command ends.
        process = subprocess.Popen(["/bin/sh", "-c", 'rc=0; "$@" || rc=$?; echo $rc > "$JOB_DIR/exit"', "job",
                                    *command],
                                   stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env={**os.environ, "JOB_DIR": str(folder)}, start_new_session=True)
    (folder / "pid").write_text(str(process.pid))
    print(job)


def status(state, job):
    folder = state / job
    if not folder.is_dir():
        print(json.dumps({"state": "failed", "error": f"no job {job}"}))
        return
    if not (folder / "polled").exists():
        (folder / "polled").write_text("0")
        print(json.dumps({"state": "submitted"}))
        return
    offset = int((folder / "polled").read_text())
    output = (folder / "output").read_bytes()
    (folder / "polled").write_text(str(len(output)))
    answer = {"log": output[offset:].decode(errors="replace")}
    if (folder / "cancelled").exists():
        answer["state"] = "cancelled"
    elif (folder / "exit").exists():
        code = int((folder / "exit").read_text())
        answer.update(state="succeeded" if code == 0 else "failed", exit_code=code)
    else:
        answer["state"] = "running"
    print(json.dumps(answer))


def cancel(state, job):
    folder = state / job
    (folder / "cancelled").write_text("1")
    try:
        os.killpg(int((folder / "pid").read_text()), signal.SIGKILL)
    except ProcessLookupError:
        pass


def main():
    state, action, *rest = sys.argv[1:]
    state = Path(state)
    {"submit": lambda: submit(state, rest), "status": lambda: status(state, rest[0]),
     "cancel": lambda: cancel(state, rest[0])}[action]()


if __name__ == "__main__":
    main()
