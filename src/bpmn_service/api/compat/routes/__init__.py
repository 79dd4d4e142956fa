"""The /engine-rest routers, one module per Camunda resource."""
