"""schemathesis checks for berthd (loaded with SCHEMATHESIS_HOOKS=berth_checks).

Docker's own responses do not match every schema in its spec, so the fuzz run does not check
response schemas; it checks what berthd promises: every error is Docker's `{"message": "..."}`,
and the only server error is a documented 500 for a failure that really happened (never a 502,
503 or 504, which would mean berthd lost berth-lifecycled or gave up). That berthd neither
crashes nor hangs is checked by the test around the run.
"""
import schemathesis


@schemathesis.check
def error_has_json_message(response, case):
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    try:
        body = response.json()
    except Exception:
        raise AssertionError(f"{response.status_code} without a JSON body: {response.text[:200]!r}")
    if not isinstance(body, dict) or not isinstance(body.get("message"), str) or not body["message"]:
        raise AssertionError(f"{response.status_code} without a message: {response.text[:200]!r}")
    return None


@schemathesis.check
def server_error_is_a_reported_failure(response, case):
    if response.status_code >= 500 and response.status_code != 500:
        raise AssertionError(f"unexpected {response.status_code}: {response.text[:200]!r}")
    return None


@schemathesis.serializer("application/x-tar")
class RawBytes:
    """Tar uploads (`docker load`, `docker cp` into a container): whatever was generated, as bytes."""

    def _data(self, value):
        return value if isinstance(value, bytes) else str(value).encode()

    def as_requests(self, context, value):
        return {"data": self._data(value), "headers": {"Content-Type": "application/x-tar"}}

    def as_werkzeug(self, context, value):
        return {"data": self._data(value)}
