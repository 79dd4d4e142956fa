"""HTTP layer: thin routes over the services, one error mapping, OpenAPI as the contract."""
