"""Models by role: ``api`` (requests, responses, error body), ``messages`` (queue messages)."""
