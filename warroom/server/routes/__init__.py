"""The API's routes, one module per resource; ``warroom.server.app`` includes their routers."""
