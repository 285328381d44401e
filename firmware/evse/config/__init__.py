# Configuration: the manual's keys (keys.py, a generated table of tuples) and the
# validated, persistent store (store.Config) that OCPP ChangeConfiguration /
# GetConfiguration, the local management and the services go through.
# Nothing is imported here, so tools can read keys.py without the store.
