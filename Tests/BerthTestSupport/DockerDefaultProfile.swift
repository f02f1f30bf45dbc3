// Docker's default seccomp profile lives in BerthLifecycle (the container spec builder uses it);
// the seccomp and conformance tests see it through this module.
@_exported import let BerthLifecycle.dockerDefaultProfileJSON
