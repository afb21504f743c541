"""Azure Automation's automationassets module for Runbooker jobs.

Runbooks written for Azure Automation import this module unchanged. Values
come from the worker's per-job asset channel (RB_ASSET_URL, RB_ASSET_TOKEN),
which only works while the job runs.
"""
import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["get_automation_variable", "set_automation_variable", "get_automation_credential",
           "get_automation_connection", "get_automation_certificate", "AutomationAssetNotFound"]


class AutomationAssetNotFound(Exception):
    """Raised when the asset does not exist in the job's automation account."""


class AutomationAssetException(Exception):
    """Raised when the asset channel refuses a request."""


def _call(method, path, body=None):
    base = os.environ.get("RB_ASSET_URL")
    token = os.environ.get("RB_ASSET_TOKEN")
    if not base or not token:
        raise AutomationAssetException("automation assets are only available inside a Runbooker job")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        try:
            msg = json.loads(e.read()).get("error", str(e))
        except Exception:
            msg = str(e)
        if e.code == 404:
            raise AutomationAssetNotFound(msg) from None
        raise AutomationAssetException(msg) from None


def _get(kind, name):
    return _call("GET", "/assets/%s/%s" % (kind, urllib.parse.quote(name, safe="")))


def get_automation_variable(name):
    """Return the value of an automation variable."""
    return _get("variable", name)


def set_automation_variable(name, value):
    """Set the value of an existing automation variable."""
    _call("PUT", "/assets/variable/%s" % urllib.parse.quote(name, safe=""), value)


def get_automation_credential(name):
    """Return a credential as {"username": ..., "password": ...}."""
    c = _get("credential", name)
    return {"username": c.get("userName", ""), "password": c.get("password", "")}


def get_automation_connection(name):
    """Return a connection's fields as a dictionary."""
    return dict(_get("connection", name).get("fields", {}))


def get_automation_certificate(name):
    """Return a certificate: the PFX bytes, or the PEM text encoded as bytes."""
    c = _get("certificate", name)
    if c.get("pfx"):
        return base64.b64decode(c["pfx"])
    return c.get("pem", "").encode()
