"""The service's AWS clients, made with botocore: the very client ``boto3.client`` makes, without boto3.

``boto3.client(name)`` is a botocore session plus boto3's own extras (resources, S3 transfers, the
``Key()`` / ``Attr()`` condition builders) and then the session's ``create_client``. The service speaks
the low-level API with expression strings only, so the extras are never used, and ``import boto3`` is
some 30 ms of every cold start. Configuration (region, credentials, ``AWS_ENDPOINT_URL``) is botocore's,
read the same way.
"""

from __future__ import annotations

from typing import Any

import botocore.session

from workflowsvc.config import once_per_process


@once_per_process
def session() -> botocore.session.Session:
    """One session per execution environment: credentials and configuration are read once."""
    return botocore.session.get_session()


def client(service_name: str) -> Any:
    return session().create_client(service_name)
