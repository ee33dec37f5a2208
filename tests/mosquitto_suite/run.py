#!/usr/bin/env python3
"""Mosquitto 2.0.11's own broker test suite (test/broker/ of Debian's source package),
run against `tabmq broker`.

    run.py --src MOSQUITTO_SOURCE [--broker tabmq|mosquitto] [--only SUBSTRING]...
           [--jobs N] [--timeout SECONDS] [--list-skipped]

The list of tests is the suite's own (the `tests` list in test/broker/test.py). Each test
runs alone in its own process group, through shim.py, on free loopback ports, with a
timeout; whatever it started (brokers, helpers) is killed with its group afterwards.
Tests named in skip.txt are not run; every other test must pass.

`--broker mosquitto` runs the same tests against Debian's Mosquitto, which is how the
skip list's "fails on Mosquitto itself" entries are checked.
"""

import argparse
import ast
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.join(HERE, "shim.py")
SKIP_FILE = os.path.join(HERE, "skip.txt")


def suite_tests(broker_dir):
    """(ports, script) pairs, as the suite's test.py lists them."""
    with open(os.path.join(broker_dir, "test.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "tests" for t in node.targets
        ):
            return [(int(n), os.path.basename(p)) for n, p in ast.literal_eval(node.value)]
    raise SystemExit(f"no `tests` list in {broker_dir}/test.py")


def read_skip_list():
    """Test name -> reason, from skip.txt (`NAME  # reason`, `*` as a trailing wildcard)."""
    skips = {}
    with open(SKIP_FILE, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, reason = line.partition("#")
            if not sep or not reason.strip():
                raise SystemExit(f"skip.txt line {number}: every entry needs '# reason'")
            skips[name.strip()] = reason.strip()
    return skips


def skip_reason(name, skips):
    for pattern, reason in skips.items():
        if pattern == name or (pattern.endswith("*") and name.startswith(pattern[:-1])):
            return reason
    return None


def free_ports(count):
    """Ports the kernel just handed out on loopback, closed again for the test to use."""
    sockets, ports = [], []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


class Running:
    def __init__(self, name, ports, broker_dir, env, timeout):
        self.name = name
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.timed_out = False
        self.proc = subprocess.Popen(
            [sys.executable, SHIM, name, *map(str, ports)],
            cwd=broker_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.output = b""

    def poll(self):
        if self.proc.poll() is None and time.monotonic() > self.deadline:
            self.timed_out = True
            self.kill()
        return self.proc.poll()

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def finish(self):
        # Whatever the test left behind (a broker it did not stop) goes with its group.
        self.kill()
        self.output = self.proc.communicate()[0] or b""
        return time.monotonic() - self.started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", required=True, help="the unpacked mosquitto source")
    parser.add_argument("--broker", choices=["tabmq", "mosquitto"], default="tabmq")
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=90)
    parser.add_argument("--no-skip", action="store_true", help="run the skipped tests too")
    args = parser.parse_args()

    broker_dir = os.path.join(os.path.abspath(args.src), "test", "broker")
    env = dict(os.environ, TABMQ_SUITE_BROKER=args.broker, PYTHONDONTWRITEBYTECODE="1")
    if args.broker == "tabmq" and not os.path.exists(env.get("TABMQ_BIN", "")):
        raise SystemExit("set TABMQ_BIN to the tabmq binary")
    skips = {} if args.no_skip else read_skip_list()

    queue, skipped = [], []
    for ports, name in suite_tests(broker_dir):
        if args.only and not any(o in name for o in args.only):
            continue
        if not os.path.exists(os.path.join(broker_dir, name)):
            reason = "listed in the suite's test.py, but not in the source package"
            skipped.append((name, skip_reason(name, skips) or reason))
            continue
        reason = skip_reason(name, skips)
        if reason:
            skipped.append((name, reason))
        else:
            queue.append((ports, name))

    running, passed, failed = [], [], []
    while queue or running:
        while queue and len(running) < args.jobs:
            ports, name = queue.pop(0)
            running.append(Running(name, free_ports(ports), broker_dir, env, args.timeout))
        time.sleep(0.05)
        for test in list(running):
            if test.poll() is None:
                continue
            running.remove(test)
            seconds = test.finish()
            ok = test.proc.returncode == 0 and not test.timed_out
            status = "ok  " if ok else ("TIME" if test.timed_out else "FAIL")
            print(f"{status} {seconds:6.1f}s {test.name}", flush=True)
            if ok:
                passed.append(test.name)
            else:
                failed.append(test.name)
                text = test.output.decode("utf-8", "replace").strip()
                if text:
                    print("     | " + "\n     | ".join(text.splitlines()[-40:]), flush=True)

    for name, reason in skipped:
        print(f"skip {name}: {reason}")
    print(f"\nMosquitto's broker suite against {args.broker}: "
          f"{len(passed)} passed, {len(failed)} failed, {len(skipped)} not run (skip.txt)")
    if failed:
        print("failed: " + " ".join(sorted(failed)))
        sys.exit(1)


if __name__ == "__main__":
    main()
