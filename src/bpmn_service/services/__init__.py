"""Use cases. Each owns its transaction; none imports FastAPI or SpiffWorkflow."""
