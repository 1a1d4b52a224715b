"""workflowsvc: the domain of the workflow run service, shared by every Lambda through a layer."""
