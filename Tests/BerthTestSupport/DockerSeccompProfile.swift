// Docker's profile format and its resolution to an OCI profile live in BerthLifecycle
// (Containers/DockerSeccomp.swift); the seccomp and conformance tests see them through this module.
@_exported import struct BerthLifecycle.DockerSeccompProfile
