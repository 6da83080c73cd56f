"""The platform's REST API: thin routes over the services."""
