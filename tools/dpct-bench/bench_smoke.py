#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dpct-bench smoke test: tiny runs print the DESIGN §5 JSON fields, positive
where they must be, and the pipeline drops nothing. Never asserts speed."""
import json
import subprocess
import sys

exe = sys.argv[1]
FIELDS = ["workload", "flows", "packets", "cycles_per_pkt", "mpps", "tsc_hz",
          "bytes_per_entry", "rte_hash_cycles_per_key"]
print("1..2")
fails = 0
for i, (wl, extra) in enumerate([("established", []), ("churn", ["new_conn_per_s"])], 1):
    out = subprocess.run([exe, "--workload", wl, "--flows", "4096", "--packets", "200000",
                          "--json"], capture_output=True, text=True, timeout=100)
    try:
        r = json.loads(out.stdout.strip().splitlines()[-1])
        ok = out.returncode == 0 and all(f in r for f in FIELDS + extra)
        ok = ok and r["workload"] == wl and r["flows"] == 4096 and r["packets"] == 200000
        ok = ok and r["cycles_per_pkt"] > 0 and r["mpps"] > 0 and r["tsc_hz"] > 0
        ok = ok and 0 < r["bytes_per_entry"] and r["drops"] == 0
        ok = ok and (wl != "churn" or r["new_conn_per_s"] > 0)
        ok = ok and (wl != "established" or r["rte_hash_cycles_per_key"] > 0)
    except (ValueError, IndexError, KeyError) as e:
        ok = False
        print("# %s: %s" % (wl, e))
    print("# %s" % out.stdout.strip())
    if not ok:
        print("# stderr: %s" % out.stderr.strip())
        fails += 1
    print("%s %d - %s JSON contract" % ("ok" if ok else "not ok", i, wl))
sys.exit(1 if fails else 0)
