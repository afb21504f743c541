#!/usr/bin/env bash
# Synopsis: List the accounts with administrative rights on a Linux host.
# Description: Reads the local group database of the worker that runs the job
#   and lists the members of the administrative groups, plus every account
#   with user id 0, for a periodic access review.
#
# @param Groups string default="sudo,wheel,admin" - Comma-separated groups that grant admin rights.
# @param ShowSystem bool default=false - Also list system accounts (uid below 1000).
set -euo pipefail

IFS=',' read -r -a groups <<< "${RB_PARAM_Groups:-sudo,wheel,admin}"
show_system=${RB_PARAM_ShowSystem:-false}
found=0
for g in "${groups[@]}"; do
  line=$(getent group "$g" || true)
  if [[ -z "$line" ]]; then
    echo "VERBOSE: group $g does not exist on $(hostname)"
    continue
  fi
  members=${line##*:}
  echo "VERBOSE: group $g: ${members:-no members}"
  IFS=',' read -r -a users <<< "$members"
  for u in "${users[@]}"; do
    [[ -z "$u" ]] && continue
    uid=$(id -u "$u" 2>/dev/null || echo "?")
    if [[ "$show_system" != "true" && "$uid" =~ ^[0-9]+$ && "$uid" -lt 1000 ]]; then continue; fi
    echo "$u (uid $uid) via group $g"
    found=$((found + 1))
  done
done
while IFS=: read -r name _ uid _; do
  if [[ "$uid" == "0" && "$name" != "root" ]]; then
    echo "WARNING: $name has uid 0"
    found=$((found + 1))
  fi
done < <(getent passwd)
echo "INFORMATION: $found privileged account(s) found"
