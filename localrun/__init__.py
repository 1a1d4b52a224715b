"""The whole service on one machine: the template's resources in moto, the handlers behind a local HTTP API.

``localrun.aws_resources`` reads ``template.yaml`` and creates its tables and queues in any DynamoDB / SQS
endpoint (the test fixtures use it with moto in-process); ``localrun.server`` is ``python -m localrun``.
"""
