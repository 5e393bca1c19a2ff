"""HTTP edge: routes, request/response schemas, dependencies, errors, middleware."""
