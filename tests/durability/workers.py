"""The child side of the durability tests: ``python -m tests.durability.workers COMMAND JSON``.

Each command opens its own ``Platform`` (its own engine and connections), waits at the
parent's barrier so that every worker starts writing at the same moment, and reports what it
did in a JSON result file: how many calls were acknowledged and every exception it saw.
An exception is recorded, never retried, and ends the worker's loop (a failing run stays
short): the tests assert there were none.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from clew.core.actor import Actor
from clew.core.settings import Settings
from clew.tracking.model import Metric

BASE_TS = 1_700_000_000_000


def open_platform(args: dict[str, Any], *, migrate: bool = False) -> Any:
    from clew.platform import Platform

    settings = Settings(
        home=Path(args["home"]),
        database_url=args["database_url"],
        artifact_root=args.get("artifact_root", ""),
    )
    return Platform.open(settings, migrate=migrate)


def wait_at_barrier(args: dict[str, Any], tag: str | None = None, timeout: float = 60.0) -> None:
    directory = Path(args["barrier"])
    tag = args.get("barrier_tag", "") if tag is None else tag
    (directory / f"ready{tag}-{args['name']}").touch()
    go = directory / f"go{tag}"
    deadline = time.monotonic() + timeout
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{args['name']}: no go signal after {timeout}s")
        time.sleep(0.002)


def write_result(args: dict[str, Any], result: dict[str, Any]) -> None:
    path = Path(args["result_file"])
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, path)


class Recorder:
    """Runs calls, counts the acknowledged ones, keeps every exception with its traceback."""

    def __init__(self) -> None:
        self.acked: dict[str, int] = {}
        self.errors: list[dict[str, str]] = []

    def call(self, what: str, fn: Callable[..., object], *args: Any, **kwargs: Any) -> bool:
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            self.errors.append(
                {
                    "call": what,
                    "type": type(exc).__name__,
                    "message": str(exc)[:2000],
                    "traceback": traceback.format_exc()[-6000:],
                }
            )
            return False
        self.acked[what] = self.acked.get(what, 0) + 1
        return True


def ordered(keys: list[str], order: str, rng: random.Random) -> list[str]:
    if order == "reverse":
        return keys[::-1]
    if order == "shuffle":
        keys = list(keys)
        rng.shuffle(keys)
        return keys
    return list(keys)


# ---- log: many batches as fast as possible -------------------------------------------------------


def cmd_log(args: dict[str, Any]) -> None:
    """Log ``batches`` batches of ``points`` points (+ params/tags) and some single metrics.

    Steps are ``offset + b`` for b in a shuffled order, so "latest" is not simply "last logged".
    Metric keys, shared param keys and shared tag keys are sent in ``order`` ("forward",
    "reverse" or "shuffle" per batch): with several workers on one run that is the lock-order
    check. Per-batch param ``<prefix>p<step>`` and tag ``<prefix>t<step>`` are unique.
    """
    platform = open_platform(args)
    actor = Actor(args["name"])
    rng = random.Random(args.get("seed", 0))
    rec = Recorder()
    keys = [f"m{j:03d}" for j in range(args["points"])]
    shared_params = [f"shared_p{j:03d}" for j in range(args.get("shared_params", 0))]
    shared_tags = [f"shared_t{j:03d}" for j in range(args.get("shared_tags", 0))]
    prefix, offset, order = (
        args.get("prefix", ""),
        args.get("offset", 0),
        args.get("order", "forward"),
    )
    steps = list(range(args["batches"]))
    rng.shuffle(steps)
    singles_every = args.get("singles_every", 0)
    wait_at_barrier(args)
    started = time.monotonic()
    run_id = args.get("run_id")
    if run_id is None:  # every worker creates its run at the same moment, too
        created: list[str] = []
        rec.call(
            "create_run",
            lambda: created.append(
                platform.tracking.create_run(
                    actor, args["experiment_id"], run_name=args["name"]
                ).info.run_id
            ),
        )
        if not created:
            write_result(args, {"run_id": None, "acked": rec.acked, "errors": rec.errors})
            return
        run_id = created[0]
    for i, b in enumerate(steps):
        if rec.errors:
            break
        step = offset + b
        metrics = [
            Metric(k, step + int(k[1:]) / 1000, BASE_TS + step, step)
            for k in ordered(keys, order, rng)
        ]
        params = [(k, "same") for k in ordered(shared_params, order, rng)]
        params.append((f"{prefix}p{step}", str(step)))
        tags = [(k, args["name"]) for k in ordered(shared_tags, order, rng)]
        tags.append((f"{prefix}t{step}", str(step)))
        rec.call(
            "log_batch",
            platform.tracking.log_batch,
            actor,
            run_id,
            metrics=metrics,
            params=params,
            tags=tags,
        )
        if singles_every and i % singles_every == 0:
            rec.call(
                "log_metric",
                platform.tracking.log_metric,
                actor,
                run_id,
                "single",
                float(step),
                timestamp=BASE_TS + step,
                step=step,
            )
    elapsed = time.monotonic() - started
    platform.close()
    write_result(
        args, {"run_id": run_id, "acked": rec.acked, "errors": rec.errors, "seconds": elapsed}
    )


# ---- rename: rename a run, through update_run or through the mlflow.runName tag -----------------


def cmd_rename(args: dict[str, Any]) -> None:
    """Rename ``run_id`` ``iterations`` times via ``update_run`` or a ``log_batch`` tag."""
    platform = open_platform(args)
    actor = Actor(args["name"])
    rec = Recorder()
    run_id = args["run_id"]
    wait_at_barrier(args)
    for i in range(args["iterations"]):
        if rec.errors:
            break
        new_name = f"{args['name']}-{i}"
        if args["via"] == "update_run":
            rec.call("update_run", platform.tracking.update_run, actor, run_id, run_name=new_name)
        else:
            tags = {"mlflow.runName": new_name}
            rec.call("log_batch", platform.tracking.log_batch, actor, run_id, tags=tags)
    platform.close()
    write_result(args, {"run_id": run_id, "acked": rec.acked, "errors": rec.errors})


# ---- migrate: several processes upgrading empty databases at the same moment -------------------


def cmd_migrate(args: dict[str, Any]) -> None:
    """For each database in turn: wait for the round's go, upgrade, then open and write once."""
    from clew.core import migrate
    from clew.core.db import Database

    rounds = []
    for r, url in enumerate(args["database_urls"]):
        wait_at_barrier(args, tag=f"r{r}")
        outcome: dict[str, Any] = {"url": url}
        try:
            db = Database(url, Settings(home=Path(args["home"]), database_url=url))
            outcome["applied"] = migrate.upgrade(db)
            db.dispose()
            platform = open_platform({**args, "database_url": url}, migrate=True)
            platform.tracking.create_experiment(Actor(args["name"]), f"healthy-{args['name']}")
            platform.close()
        except Exception as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-6000:]}"
        rounds.append(outcome)
    write_result(args, {"rounds": rounds})


# ---- kill_log: log until SIGKILLed, acknowledging each batch after the call returned -----------


def fsynced_appender(path: Path) -> Callable[[str], None]:
    f = path.open("a")

    def append(line: str) -> None:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())

    return append


def cmd_kill_log(args: dict[str, Any]) -> None:
    """Batch ``i`` = ``points`` points at step i, param ``b<i>``, tag ``last``; forever."""
    platform = open_platform(args)
    actor = Actor("killable")
    ack = fsynced_appender(Path(args["ack_file"]))
    Path(args["ready_file"]).touch()
    i = args["first_batch"]
    while True:
        metrics = [Metric(f"k{j:03d}", i + j / 1000, BASE_TS + i, i) for j in range(args["points"])]
        platform.tracking.log_batch(
            actor, args["run_id"], metrics=metrics, params={f"b{i}": str(i)}, tags={"last": str(i)}
        )
        ack(str(i))  # only now, after the service call returned, is batch i acknowledged
        i += 1


# ---- kill_upload: upload artifacts from a slow stream until SIGKILLed ----------------------------


def slow_chunks(seed: int, chunks: int, size: int, delay: float) -> Iterator[bytes]:
    rng = random.Random(seed)
    for _ in range(chunks):
        yield rng.randbytes(size)
        time.sleep(delay)


def cmd_kill_upload(args: dict[str, Any]) -> None:
    """Upload ``up<i>.bin`` from a slow generator, then acknowledge ``i``; forever."""
    platform = open_platform(args)
    actor = Actor("killable")
    ack = fsynced_appender(Path(args["ack_file"]))
    Path(args["ready_file"]).touch()
    i = args["first_upload"]
    while True:
        stream = slow_chunks(i, args["chunks"], args["chunk_size"], args["delay"])
        platform.artifacts.log_stream(actor, args["run_id"], f"up{i}.bin", stream)
        ack(str(i))
        i += 1


# ---- fanout: import once, then fork one process per worker --------------------------------


def cmd_fanout(args: dict[str, Any]) -> None:
    """Run each ``children`` entry (``{"command", "args"}``) in its own forked process.

    Importing Clew costs about a second of CPU per process; on a 2-core CI machine eight cold
    starts would dominate the test. Forking after the imports and before anything opens a
    connection gives the same eight independent processes (own engine, own connections, own
    SQLite locks) at a fraction of the cost. Exits non-zero if any child did.
    """
    preload()
    children: dict[int, str] = {}
    for child in args["children"]:
        pid = os.fork()
        if pid == 0:
            run_child(child["command"], child["args"])
        children[pid] = child["args"]["name"]
    failed = []
    for _ in range(len(children)):
        pid, status = os.wait()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            failed.append(f"{children[pid]} exited with {code}")
    write_result(args, {"failed": failed})
    if failed:
        raise SystemExit("; ".join(failed))


def preload() -> None:
    """Import everything a worker needs, so that forked children start warm."""
    import psycopg  # noqa: F401
    import sqlalchemy.dialects.postgresql.psycopg
    import sqlalchemy.dialects.sqlite.pysqlite  # noqa: F401

    import clew.platform  # noqa: F401


def run_child(command: str, args: dict[str, Any]) -> NoReturn:
    """In a freshly forked child: run the command, then leave without returning to the caller."""
    code = 1
    try:
        COMMANDS[command](args)
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


# ---- forker: fork a child per round on request (the SIGKILL tests) ------------------------


def cmd_forker(args: dict[str, Any]) -> None:
    """For each of ``rounds`` (``{"command", "args"}``): wait for ``spawn<r>``, fork the child,
    publish its pid in ``pid<r>``, reap it and publish its exit code in ``status<r>``.

    The test SIGKILLs the child by pid; this parent only watches, so the kill hits a process
    that holds its own connections, mid-call, exactly as a killed server would be.
    """
    preload()
    control = Path(args["control"])
    for r, child in enumerate(args["rounds"]):
        deadline = time.monotonic() + 120
        while not (control / f"spawn{r}").exists():
            if time.monotonic() > deadline:
                raise SystemExit(f"no spawn{r} signal")
            time.sleep(0.005)
        pid = os.fork()
        if pid == 0:
            run_child(child["command"], child["args"])
        publish(control / f"pid{r}", str(pid))
        _, status = os.waitpid(pid, 0)
        publish(control / f"status{r}", str(os.waitstatus_to_exitcode(status)))
    write_result(args, {})


def publish(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


COMMANDS: dict[str, Callable[[dict[str, Any]], None]] = {
    "log": cmd_log,
    "migrate": cmd_migrate,
    "rename": cmd_rename,
    "kill_log": cmd_kill_log,
    "kill_upload": cmd_kill_upload,
    "fanout": cmd_fanout,
    "forker": cmd_forker,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](json.loads(sys.argv[2]))
