"""The words of a stored run's JSON: its field names and common values, as one byte string.

The store compresses each document with this as zlib's preset dictionary (``store.dynamo.packed``): a
document of a few KB is too short for zlib to learn its own vocabulary. Documents stored with it are read
with it, so it never changes, even when the run's fields or the task types do; a better dictionary is a
new one beside it, and the store marks which one packed each document.
"""

from __future__ import annotations

VOCABULARY_1 = (
    b'"_updatedBy":"workflowsvc","_inputParams":{"_url":"","_timeoutSeconds":null,"_timeoutPolicy":null,'
    b'"_output":null,"_error":"","_outputParams":null,"_userType":null,"_namespaces":["'
    b'"_createdAt":"","_updatedAt":"","_createdBy":"","_workflowDefId":"","_loopTaskId":"","_loopIndex":'
    b'"_output":{"_statusCode":200,"_headers":{"content-type":"application/json","content-length":"",'
    b'"date":"","server":""},"_body":{'
    b'"_status":"QUEUED","_status":"RUNNING","_status":"FAILED","_status":"PAUSED","_status":"SKIPPED",'
    b'"_status":"COMPLETED","_attempts":1,"_startedAt":"","_endedAt":"","_retryCount":,'
    b'"_retryDelaySeconds":,"_backoff":"EXPONENTIAL",'
    b'"_tasks":[{"_id":"","_name":"","_sequenceno":1,"_type":"REST_CONNECTOR","_type":"LOOP_OVER",'
    b'"state":{"step":1,"claimed":false,"claimed":true,"scheduledNs":,"deadlineNs":null,"nextSeq":,'
    b'"outputParams":null,"inFlightTaskId":"","leaseNs":'
    b'{"run":{"_id":"'
)
