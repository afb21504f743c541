#!/usr/bin/env bash
# Synopsis: Report file systems that are running out of space.
# Description: Lists every mounted file system with its usage on the worker
#   that runs the job, warns about those above the threshold, and fails the
#   job when one is above the critical threshold, so a schedule can alert.
#
# @param WarnPercent int default=80 range=1..100 - Usage that triggers a warning.
# @param FailPercent int default=95 range=1..100 - Usage that fails the job.
# @param IncludeTmpfs bool default=false - Also report tmpfs and other memory file systems.
set -euo pipefail

warn=${RB_PARAM_WarnPercent:-80}
fail=${RB_PARAM_FailPercent:-95}
exclude=(-x tmpfs -x devtmpfs -x overlay -x squashfs)
if [[ "${RB_PARAM_IncludeTmpfs:-false}" == "true" ]]; then exclude=(); fi

echo "VERBOSE: thresholds: warning at ${warn}%, failure at ${fail}%"
worst=0
worst_mount=""
while read -r source size used avail pct mount; do
  p=${pct%\%}
  echo "$(printf '%-30s %5s used of %6s (%s free)' "$mount" "$pct" "$size" "$avail")"
  if (( p >= warn )); then echo "WARNING: $mount is ${pct} full"; fi
  if (( p > worst )); then worst=$p; worst_mount=$mount; fi
done < <(df -hP "${exclude[@]}" 2>/dev/null | tail -n +2)

echo "INFORMATION: fullest file system: ${worst_mount:-none} at ${worst}%"
if (( worst >= fail )); then
  echo "$worst_mount is ${worst}% full (critical threshold ${fail}%)" >&2
  exit 2
fi
