"""Workflow definitions: one copy per namespace, written together, never changed."""

from __future__ import annotations

from typing import Any

from workflowsvc.store import keys
from workflowsvc.store.dynamo import Table, document, packed, string


class DefinitionStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, definition: dict[str, Any]) -> None:
        doc = packed(definition)
        self.table.write(
            [
                {
                    "Put": {
                        "TableName": self.table.name,
                        "Item": {
                            **keys.key(keys.definition_pk(definition["_id"]), keys.copy_sk(namespace)),
                            "gsi1pk": string(keys.definition_partition(namespace)),
                            "gsi1sk": string(
                                keys.created_sort_key(definition["_createdAt"], definition["_id"])
                            ),
                            "nm": string(definition["_name"].lower()),
                            "doc": doc,
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
                for namespace in definition["_namespaces"]
            ]
        )

    def get(self, definition_id: str) -> dict[str, Any] | None:
        answer = self.table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ns)",
            ExpressionAttributeValues={
                ":pk": string(keys.definition_pk(definition_id)),
                ":ns": string(keys.COPY_SK_PREFIX),
            },
            Limit=1,
        )
        if not answer["Items"]:
            return None
        found: dict[str, Any] = document(answer["Items"][0])
        return found
