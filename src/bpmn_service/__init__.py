"""bpmn-service: a BPMN 2.0 workflow service for the 业扩报装 (new power connection) processes."""

__version__ = "0.1.0"
