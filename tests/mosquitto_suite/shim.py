#!/usr/bin/env python3
"""Runs one of Mosquitto's own broker tests with `tabmq broker` in Mosquitto's place.

Usage (from Mosquitto's test/broker directory): shim.py TEST.py PORT...

The test runs unchanged. Its `mosq_test.start_broker()` builds a Mosquitto command line
(`/usr/sbin/mosquitto -v -c TEST.conf` or `-p PORT`) and starts it with
`subprocess.Popen`; this shim hands that module a `subprocess` whose `Popen` starts
`$TABMQ_BIN broker` with the same arguments instead. Nothing else is changed, so the test
speaks its raw bytes to tabmq exactly as it does to Mosquitto.

With TABMQ_SUITE_BROKER=mosquitto the command is left alone: the same runner then checks
which tests fail on Mosquitto itself.
"""

import os
import runpy
import subprocess
import sys
import types

MOSQUITTO = "/usr/sbin/mosquitto"


def broker_command(args):
    """The command that replaces a Mosquitto command line, or the line unchanged."""
    if os.environ.get("TABMQ_SUITE_BROKER", "tabmq") == "mosquitto":
        return args
    if isinstance(args, (list, tuple)) and args and args[0] == MOSQUITTO:
        return [os.environ["TABMQ_BIN"], "broker", *args[1:]]
    return args


def patched_subprocess():
    """A stand-in for the `subprocess` module whose Popen swaps the broker binary."""
    module = types.ModuleType("subprocess")
    module.__dict__.update(subprocess.__dict__)

    def popen(args, *rest, **kwargs):
        return subprocess.Popen(broker_command(args), *rest, **kwargs)

    module.Popen = popen
    return module


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: shim.py TEST.py PORT...")
    test = sys.argv[1]
    here = os.getcwd()
    sys.path.insert(0, os.path.dirname(here))
    sys.path.insert(0, here)
    import mosq_test  # Mosquitto's test library, from the source package

    mosq_test.subprocess = patched_subprocess()
    # The test reads its ports from argv, as under Mosquitto's own runner.
    sys.argv = [test, *sys.argv[2:]]
    runpy.run_path(test, run_name="__main__")


if __name__ == "__main__":
    main()
