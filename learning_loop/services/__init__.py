"""The operations the CLI, the API and Dagster share; every write is one transaction."""
