#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dpct-bench smoke test: tiny runs print the documented JSON fields, positive
where they must be, and the pipeline drops nothing; the traffic options are
what the JSON says and bad ones are refused. Never asserts speed."""
import json
import subprocess
import sys

exe = sys.argv[1]
FIELDS = ["workload", "flows", "packets", "cycles_per_pkt", "mpps", "tsc_hz",
          "bytes_per_entry", "rte_hash_cycles_per_key"]
# (workload, extra args, fields beyond FIELDS, the "traffic" the JSON must say)
RUNS = [
    ("established", [], [], "both"),
    ("churn", [], ["new_conn_per_s"], "lockstep"),
    ("established", ["--traffic", "bulk"], [], "bulk"),
    ("churn", ["--stagger"], ["new_conn_per_s"], "staggered"),
]
# (args, what stderr must name): refused with exit status 1
BAD = [
    (["--workload", "established", "--flows", "64", "--traffic", "upload"], "--traffic"),
    (["--workload", "churn", "--flows", "64", "--traffic", "bulk"], "--traffic"),
    (["--workload", "established", "--flows", "64", "--stagger"], "--stagger"),
]
print("1..%d" % (len(RUNS) + len(BAD)))
fails = 0
n = 0
for wl, args, extra, traffic in RUNS:
    n += 1
    name = " ".join([wl] + args)
    out = subprocess.run([exe, "--workload", wl, "--flows", "4096", "--packets", "200000",
                          "--json"] + args, capture_output=True, text=True, timeout=100)
    try:
        r = json.loads(out.stdout.strip().splitlines()[-1])
        ok = out.returncode == 0 and all(f in r for f in FIELDS + extra)
        ok = ok and r["workload"] == wl and r["flows"] == 4096 and r["packets"] == 200000
        ok = ok and r["cycles_per_pkt"] > 0 and r["mpps"] > 0 and r["tsc_hz"] > 0
        ok = ok and 0 < r["bytes_per_entry"] and r["drops"] == 0
        ok = ok and r["window_ignored"] == 0 and r["traffic"] == traffic
        ok = ok and (wl != "churn" or r["new_conn_per_s"] > 0)
        ok = ok and (wl != "established" or r["rte_hash_cycles_per_key"] > 0)
    except (ValueError, IndexError, KeyError) as e:
        ok = False
        print("# %s: %s" % (name, e))
    print("# %s" % out.stdout.strip())
    if not ok:
        print("# stderr: %s" % out.stderr.strip())
        fails += 1
    print("%s %d - %s JSON contract" % ("ok" if ok else "not ok", n, name))
for args, word in BAD:
    n += 1
    out = subprocess.run([exe] + args, capture_output=True, text=True, timeout=30)
    ok = out.returncode == 1 and word in out.stderr and out.stdout == ""
    if not ok:
        print("# rc %d, stderr: %s" % (out.returncode, out.stderr.strip()))
        fails += 1
    print("%s %d - refused: %s" % ("ok" if ok else "not ok", n, " ".join(args)))
sys.exit(1 if fails else 0)
