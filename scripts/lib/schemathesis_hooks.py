"""Schemathesis checks of our own, loaded by scripts/test (SCHEMATHESIS_HOOKS).

`no_other_tenants_data`: the run is made as one user while a second user's rows exist; no
response may carry any of that user's values (its user id, its rows' ids, a secret marker in
its data), whatever request schemathesis generated.
"""

import os

import schemathesis

FOREIGN = [v for v in os.environ.get("SCALIYO_FOREIGN_VALUES", "").split(",") if v]


@schemathesis.check
def no_other_tenants_data(ctx, response, case):
    # Bodies are not all text (the tracking pixel is a GIF): read the bytes, leniently.
    text = (response.content or b"").decode("utf-8", errors="replace")
    for value in FOREIGN:
        if value in text:
            raise AssertionError(
                f"{case.method} {case.formatted_path} answered another tenant's value {value!r}"
            )
    return None


@schemathesis.check
def no_server_error(ctx, response, case):
    """Schemathesis' `not_a_server_error`, except the documented `501 *_not_configured` of an
    integration this deployment has not been given (Stripe without its key, OAuth without
    client ids): that answer is the API telling the operator what to set, not a failure."""
    if response.status_code < 500:
        return None
    if response.status_code == 501:
        try:
            code = response.json().get("code", "")
        except ValueError:
            code = ""
        if isinstance(code, str) and code.endswith("_not_configured"):
            return None
    raise AssertionError(
        f"{case.method} {case.formatted_path} answered {response.status_code}: {(response.content or b'')[:200]!r}"
    )
