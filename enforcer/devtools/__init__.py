"""Local stand-ins for cloud services, for tests and `make demo`: Azurite (Table storage) and a Teams webhook sink."""
