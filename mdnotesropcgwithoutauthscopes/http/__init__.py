"""HTTP layer: request and response values, the client interface and its requests backend."""
