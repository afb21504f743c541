#!/usr/bin/env bash
# Synopsis: Rotate the local admin password
#   of a Linux host.
# Description: Connects over SSH, sets a random password
#   and stores it in the vault.
# Notes: Needs the "vault" credential.
# Example: --HostName web01 --Length 24
# Author: ops team (a free comment)
#
# @param HostName string mandatory entity=device label="Host" - Host to rotate on
# @param Length int default=24 range=12..64 - Password length
#   in characters.
# @param Mode default=random set=random|passphrase - Generator
# @param DryRun bool default=false
# @param Since datetime default=2024-01-31
# @param Tags string[] default=a,b
# @param Comment textarea - Free text
# RunbookCustomization: {
#   "Parameters": {"Mode": {"DisplayName": "Generator",},},
# }
set -euo pipefail
# @param NotHeader int - after the first command: ignored
echo "$RB_PARAM_HostName"
