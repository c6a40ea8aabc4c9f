"""Server side of the three transports; each moves bytes between one HTTP request
(or WebSocket) and the connection's pipes, and says nothing of hub messages."""
